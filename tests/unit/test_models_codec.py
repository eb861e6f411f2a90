"""The format label a model travels under, and the codec module behind hop.models."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hop import models
from hop.models import (
    AvroBlob,
    Blob,
    GCNCircular,
    GCNTextNotice,
    JSONBlob,
    MessageModel,
    VOEvent,
    _codec,
    decode,
    encode,
    format_name,
    register_model,
    unregister_model,
)


@dataclass
class MyCircular(GCNCircular):
    format_name = "mycirc"


@dataclass
class MyBlob(Blob):
    format_name = "myblob"


@dataclass
class MyJSON(JSONBlob):
    format_name = "myjson"


def test_a_subclass_with_its_own_format_name_is_sent_under_it() -> None:
    circular = MyCircular(header={"SUBJECT": "GRB"}, body="text")
    assert circular.serialize()["format"] == "mycirc"
    label, body = encode(circular)
    assert label == "mycirc"
    assert body == GCNCircular(header={"SUBJECT": "GRB"}, body="text").serialize()["content"]


@pytest.mark.parametrize(
    ("model", "label"),
    [
        (MyBlob(b"x"), "myblob"),
        (MyJSON([1]), "myjson"),
        (MyCircular(header={}, body=""), "mycirc"),
    ],
)
def test_subclass_labels(model: MessageModel, label: str) -> None:
    assert encode(model)[0] == label


def test_registered_subclass_round_trips_under_its_own_label() -> None:
    register_model("mycirc", MyCircular)
    try:
        label, body = encode(MyCircular(header={"a": "b"}, body="c"))
        assert decode(body, label) == MyCircular(header={"a": "b"}, body="c")
        assert type(decode(body, label)) is MyCircular
    finally:
        unregister_model("mycirc")


@pytest.mark.parametrize(
    "model",
    [
        Blob(b"x"),
        JSONBlob({"a": 1}),
        GCNCircular(header={}, body=""),
        GCNTextNotice(raw=b"TITLE: x\n"),
        AvroBlob([{"a": 1}]),
        VOEvent(ivorn="ivo://x"),
    ],
)
def test_built_in_models_keep_their_labels(model: MessageModel) -> None:
    assert model.serialize()["format"] == format_name(model)
    assert encode(model)[0] == format_name(type(model))


def test_hop_models_re_exports_the_codec() -> None:
    for name in ("decode", "encode", "register_model", "registered_models", "unregister_model"):
        assert getattr(models, name) is getattr(_codec, name)
    assert models.MAX_LABEL_BYTES == _codec.MAX_LABEL_BYTES
    assert models._LABELS is _codec._LABELS
