"""RobustProducer behaviour that needs no broker: names, errors and state before start()."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from hop.errors import ConfigurationError
from hop.robust_publisher import RobustProducer

_SECRET = "s3cr3t-pa55"
_URL = f"kafka://alice:{_SECRET}@localhost:9092/topic-a,topic-b"


def test_thread_name_never_shows_the_password(tmp_path: Path) -> None:
    producer = RobustProducer(_URL, auth=False, journal_path=tmp_path / "j")
    assert _SECRET not in producer.name
    assert "alice" not in producer.name
    assert producer.name == "hop RobustProducer kafka://***@localhost:9092/topic-a,topic-b"


def test_topic_error_never_shows_the_password(tmp_path: Path) -> None:
    producer = RobustProducer(_URL, auth=False, journal_path=tmp_path / "j")
    with pytest.raises(ConfigurationError) as info:
        producer.write({"n": 1})
    text = "".join(traceback.format_exception(info.value))
    assert "names 2 topics" in text
    assert _SECRET not in text


def test_thread_name_of_a_url_without_userinfo_is_the_url(tmp_path: Path) -> None:
    producer = RobustProducer("kafka://localhost:9092/t", auth=False, journal_path=tmp_path / "j")
    assert producer.name == "hop RobustProducer kafka://localhost:9092/t"
