"""Checks that hold for every alert file, whatever its content.

The unit tests run them over ``tests/data`` and ``make test-realdata`` over the real-world
alerts of ``HOP_SHARED_DATA``: the kind of each file comes from its suffix.
"""

from __future__ import annotations

import json
from pathlib import Path

from hop.io._deserializer import Deserializer
from hop.models import (
    Blob,
    GCNCircular,
    GCNTextNotice,
    MessageModel,
    VOEvent,
    decode,
    encode,
    registered_models,
)

#: The Deserializer member for each alert file suffix; ``.json`` is a legacy JSON envelope.
MEMBER_BY_SUFFIX = {
    ".xml": "VOEVENT",
    ".gcn3": "CIRCULAR",
    ".txt": "GCNTEXTNOTICE",
    ".avro": "AVRO",
}
LEGACY_SUFFIX = ".json"


def alert_files(folder: Path) -> list[Path]:
    """The alert files of ``folder``, sorted; fails on a file of an unknown kind.

    Raises:
        AssertionError: a file whose suffix says nothing of its format, or no file at all.
    """
    files = sorted(path for path in folder.iterdir() if path.is_file())
    unknown = [p.name for p in files if p.suffix not in {*MEMBER_BY_SUFFIX, LEGACY_SUFFIX}]
    assert not unknown, f"alert files of no known kind in {folder}: {unknown}"
    assert files, f"no alert files in {folder}"
    return files


def round_trip(model: MessageModel) -> MessageModel:
    """What a reader receives when ``model`` is published."""
    label, body = encode(model)
    return decode(body, label)


def check_alert_file(path: Path) -> MessageModel:
    """Load ``path`` every way hop offers, check each gives the same model, and return it.

    Raises:
        AssertionError: any way disagrees, or the model does not survive the wire.
    """
    raw = path.read_bytes()
    model: MessageModel
    if path.suffix == LEGACY_SUFFIX:
        envelope = json.loads(raw)
        model = decode(raw, None)
        assert type(model) is registered_models()[envelope["format"]], model
        assert round_trip(model) == model
        return model
    member = Deserializer[MEMBER_BY_SUFFIX[path.suffix]]
    model = member.load_file(path)
    expected: type[MessageModel] = member.value
    assert isinstance(model, expected)
    assert round_trip(model) == model
    with open(path, "rb") as file:
        assert member.load(file) == model
    # A file sent as it is arrives as the same bytes.
    assert round_trip(Deserializer.BLOB.load_file(path)) == Blob(raw)
    if isinstance(model, VOEvent):
        assert encode(model) == ("voevent", raw)  # the original document, byte for byte
    elif isinstance(model, GCNCircular):
        assert str(model) == raw.decode()
        assert GCNCircular.load(str(model)) == model
    elif isinstance(model, GCNTextNotice):
        assert encode(model) == ("gcntextnotice", raw)
        assert model.fields, "a notice with no fields"
    return model
