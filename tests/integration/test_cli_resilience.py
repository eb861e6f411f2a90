"""A subscriber keeps going when one message cannot be printed."""

from __future__ import annotations

import pytest

from hop.cli import _subscribe, main
from hop.io import Stream
from hop.models import JSONBlob, MessageModel


def test_a_message_that_cannot_be_printed_is_skipped_with_a_warning(
    topic_url: str, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Stream(auth=False).open(topic_url, "w", config={"batch.num.messages": 1}) as producer:
        for n in range(3):
            producer.write({"n": n}, key="same-partition")

    real_render = _subscribe.render_text

    def render(message: MessageModel) -> bytes:
        # Stands in for a plugin model whose own code raises.
        if isinstance(message, JSONBlob) and message.content == {"n": 1}:
            raise RuntimeError("plugin bug")
        return real_render(message)

    monkeypatch.setattr(_subscribe, "render_text", render)
    status = main(["subscribe", topic_url, "--no-auth", "-s", "EARLIEST", "-e"])
    out, err = capsysbinary.readouterr()
    assert status == 0
    assert out.splitlines() == [b'{"n": 0}', b'{"n": 2}']
    assert b"plugin bug" in err and b"cannot print message" in err
