"""VOEvent 2.0 alerts (``VOEvent``), read with the safe XML reader of ``_xml``."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hop.errors import DecodeError

from . import _xml
from ._base import LoadInput, MessageModel, _read_bytes, format_name

logger = logging.getLogger("hop.models")

_VOEVENT_NAMESPACE = "http://www.ivoa.net/xml/VOEvent/v2.0"
_VOEVENT_ELEMENTS = (
    "Who",
    "What",
    "WhereWhen",
    "How",
    "Why",
    "Citations",
    "Description",
    "Reference",
)


# VOEvent 2.0 elements whose names start in lower case (the children of <Author>); every
# other element starts in upper case, and every attribute in lower case.
_VOEVENT_LOWER_ELEMENTS = frozenset(
    {"title", "shortName", "logoURL", "contactName", "contactEmail", "contactPhone", "contributor"}
)


def _voevent_to_xmltodict(node: Any) -> Any:
    """Mark the attributes of VOEvent fields with ``@`` for ``xmltodict.unparse``.

    Fields keep attributes under their plain names (as 0.13 and the older JSON VOEvents
    do); a scalar under a lower-case name that is no VOEvent element is an attribute.
    Keys already starting with ``@`` or ``#`` are kept as they are.
    """
    if isinstance(node, list):
        return [_voevent_to_xmltodict(item) for item in node]
    if not isinstance(node, dict):
        return node
    marked: dict[str, Any] = {}
    for key, value in node.items():
        name = str(key)
        if (
            name[:1] not in ("@", "#")
            and name[:1].islower()
            and name not in _VOEVENT_LOWER_ELEMENTS
            and not isinstance(value, (dict, list))
        ):
            marked["@" + name] = value
        else:
            marked[name] = _voevent_to_xmltodict(value)
    return marked


def _join_chunks(input_: Any) -> bytes:
    """Bytes of ``input_``, which may also be an iterator of str or bytes chunks."""
    if isinstance(input_, (str, bytes, bytearray, memoryview)) or callable(
        getattr(input_, "read", None)
    ):
        return _read_bytes(input_)
    if isinstance(input_, Iterator):
        return b"".join(_read_bytes(chunk) for chunk in input_)
    return _read_bytes(input_)


@dataclass
class VOEvent(MessageModel):
    """An IVOA VOEvent 2.0 alert (format ``voevent``).

    The element fields hold each element as a dict: attributes under their plain names
    (``event.What["Param"][0]["value"]``), child elements by tag (a list when repeated),
    text beside attributes under ``"#text"``, and a text-only element as a plain string.
    This is how hop-client 0.13 keys them, and how the older JSON VOEvents are keyed.
    A VOEvent read from XML keeps the original document and sends it byte for byte (as long
    as its fields are unchanged); equality compares the fields only.

    Attributes:
        ivorn: the event's identifier, ``ivo://...``.
        role: ``observation``, ``prediction``, ``utility`` or ``test``.
        version: the VOEvent version.
        Who, What, WhereWhen, How, Why, Citations, Description, Reference: the elements.
    """

    format_name = "voevent"

    ivorn: str
    role: str = "observation"
    version: str = "2.0"
    Who: dict[str, Any] = dataclasses.field(default_factory=dict)
    What: dict[str, Any] = dataclasses.field(default_factory=dict)
    WhereWhen: dict[str, Any] = dataclasses.field(default_factory=dict)
    How: dict[str, Any] = dataclasses.field(default_factory=dict)
    Why: dict[str, Any] = dataclasses.field(default_factory=dict)
    Citations: dict[str, Any] = dataclasses.field(default_factory=dict)
    Description: Any = dataclasses.field(default_factory=dict)
    Reference: Any = dataclasses.field(default_factory=dict)
    # The document it was read from, and a copy of the fields it gave, to tell if it is stale.
    _xml: bytes | None = dataclasses.field(default=None, init=False, repr=False, compare=False)
    _xml_fields: dict[str, Any] | None = dataclasses.field(
        default=None, init=False, repr=False, compare=False
    )

    def _fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.compare}

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": <XML bytes>}``: the original document when
            there is one and the fields are unchanged, else a document written from the
            fields.
        """
        if self._xml is not None and self._xml_fields == self._fields():
            return {"format": format_name(self), "content": self._xml}
        return {"format": format_name(self), "content": self.to_xml()}

    def to_xml(self) -> bytes:
        """Write a VOEvent 2.0 document from the fields.

        Returns:
            The UTF-8 encoded document.
        """
        root: dict[str, Any] = {
            "@xmlns:voe": _VOEVENT_NAMESPACE,
            "@ivorn": self.ivorn,
            "@role": self.role,
            "@version": self.version,
        }
        for name in _VOEVENT_ELEMENTS:
            value = getattr(self, name)
            if value not in ({}, None, ""):
                root[name] = value
        for name in _VOEVENT_ELEMENTS:
            if name in root:
                root[name] = _voevent_to_xmltodict(root[name])
        return _xml.unparse_xml({"voe:VOEvent": root})

    @classmethod
    def deserialize(cls, data: bytes | str) -> VOEvent:
        """Read a message body: VOEvent XML, or the older clients' JSON of the fields.

        Args:
            data: the message body (bytes, or the document as str).

        Returns:
            The VOEvent.

        Raises:
            UnsafeXMLError: the XML declares entities (refused for safety).
            DecodeError: the body is neither a VOEvent document nor a JSON VOEvent.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        if bytes(data[:64]).lstrip()[:1] == b"{":
            try:
                fields = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise DecodeError(f"voevent message is not valid JSON: {exc}") from exc
            return cls._from_fields(fields)
        return cls._from_xml(bytes(data))

    @classmethod
    def _from_fields(cls, fields: Any) -> VOEvent:
        if not isinstance(fields, dict):
            raise DecodeError(f"a JSON VOEvent must be an object, not {type(fields).__name__}")
        ivorn = fields.get("ivorn")
        if not isinstance(ivorn, str):
            raise DecodeError("a JSON VOEvent needs an 'ivorn' string")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{key: value for key, value in fields.items() if key in known})

    @classmethod
    def _from_xml(cls, data: bytes) -> VOEvent:
        document = _xml.parse_xml(data, "VOEvent", attr_prefix="")
        root_tag, root = next(iter(document.items()))
        if root_tag.rpartition(":")[2] != "VOEvent":
            raise DecodeError(f"not a VOEvent: the root element is <{root_tag}>, not <VOEvent>")
        if not isinstance(root, dict) or not isinstance(root.get("ivorn"), str):
            raise DecodeError("not a valid VOEvent: the root element has no ivorn attribute")
        kwargs: dict[str, Any] = {"ivorn": root["ivorn"]}
        for attribute in ("role", "version"):
            if isinstance(root.get(attribute), str):
                kwargs[attribute] = root[attribute]
        for name in _VOEVENT_ELEMENTS:
            value = root.get(name)
            if value is not None:
                kwargs[name] = value
        event = cls(**kwargs)
        event._xml = data
        try:
            event._xml_fields = copy.deepcopy(event._fields())
        except RecursionError:
            # Elements nested thousands deep: no VOEvent is, and no code could use it.
            raise DecodeError("not a valid VOEvent: its elements are nested too deeply") from None
        return event

    @classmethod
    def load(cls, input_: LoadInput | Iterator[str] | Iterator[bytes]) -> VOEvent:
        """Read a VOEvent XML document (or the older JSON form).

        Args:
            input_: str, bytes, a file object, or an iterator of str/bytes chunks.

        Returns:
            The VOEvent, keeping the document's bytes to send.

        Raises:
            UnsafeXMLError: the XML declares entities (refused for safety).
            DecodeError: the input is not a VOEvent.
        """
        return cls.deserialize(_join_chunks(input_))

    def __str__(self) -> str:
        return json.dumps(self._fields(), indent=2, default=str)
