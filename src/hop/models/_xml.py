"""Safe XML parsing: xmltodict driven by an expat parser that refuses entities.

Entity declarations are refused as soon as the parser sees them, so an expansion bomb
("billion laughs") fails at its first declaration instead of expanding, and an external
entity is never resolved. The refusals use defusedxml's exception classes (what
``defusedxml`` raises for the same documents), translated into :class:`UnsafeXMLError`.
"""

from __future__ import annotations

from pyexpat import ExpatError, ParserCreate, XMLParserType
from typing import Any

import xmltodict
from defusedxml.common import (
    DefusedXmlException,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from hop.errors import DecodeError, UnsafeXMLError

__all__ = ["parse_xml", "unparse_xml"]


def _forbid_entity_decl(
    name: str,
    is_parameter_entity: bool,
    value: str | None,
    base: str | None,
    system_id: str | None,
    public_id: str | None,
    notation_name: str | None,
) -> None:
    raise EntitiesForbidden(name, value, base, system_id, public_id, notation_name)


def _forbid_unparsed_entity_decl(
    name: str,
    base: str | None,
    system_id: str | None,
    public_id: str | None,
    notation_name: str | None,
) -> None:
    raise EntitiesForbidden(name, None, base, system_id, public_id, notation_name)


def _forbid_external_ref(
    context: str, base: str | None, system_id: str | None, public_id: str | None
) -> int:
    raise ExternalReferenceForbidden(context, base, system_id, public_id)


class _DefusedExpat:
    """Stands in for the ``pyexpat`` module that xmltodict creates its parser from."""

    @staticmethod
    def ParserCreate(
        encoding: str | None = None, namespace_separator: str | None = None
    ) -> XMLParserType:
        parser = ParserCreate(encoding, namespace_separator)
        parser.EntityDeclHandler = _forbid_entity_decl
        parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity_decl
        parser.ExternalEntityRefHandler = _forbid_external_ref
        return parser


def parse_xml(data: bytes, what: str = "XML", attr_prefix: str = "@") -> dict[str, Any]:
    """Parse an XML document into xmltodict's dict form, refusing unsafe constructs.

    Args:
        data: the document.
        what: what the document should be, for error messages.
        attr_prefix: what attribute names are prefixed with (``""``: plain names).

    Returns:
        ``{root tag: root content}``.

    Raises:
        UnsafeXMLError: the document declares entities or refers to external ones.
        DecodeError: the document is not well-formed XML.
    """
    try:
        parsed: Any = xmltodict.parse(
            data, expat=_DefusedExpat, disable_entities=False, attr_prefix=attr_prefix
        )
    except DefusedXmlException as exc:
        raise UnsafeXMLError(f"{what} refused for safety: {exc}") from exc
    except ExpatError as exc:
        raise DecodeError(f"{what} is not well-formed XML: {exc}") from exc
    except RecursionError:
        raise DecodeError(f"{what} is nested too deeply") from None
    if not isinstance(parsed, dict) or not parsed:
        raise DecodeError(f"{what} has no root element")
    return parsed


def unparse_xml(document: dict[str, Any]) -> bytes:
    """Write xmltodict's dict form back as an XML document.

    Args:
        document: ``{root tag: root content}``.

    Returns:
        The UTF-8 encoded document, with an XML declaration.
    """
    text: str = xmltodict.unparse(document, encoding="utf-8", pretty=True)
    return text.encode("utf-8")
