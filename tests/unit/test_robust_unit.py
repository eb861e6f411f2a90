"""RobustProducer behaviour that needs no broker: names, errors and state before start()."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from hop.errors import ConfigurationError, StreamStateError
from hop.robust_publisher import RobustProducer, _next_backoff

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


def test_use_before_start_is_a_clear_error(tmp_path: Path) -> None:
    producer = RobustProducer("kafka://localhost:9092/t", auth=False, journal_path=tmp_path / "j")
    with pytest.raises(StreamStateError, match="call start"):
        producer.write({"n": 1})
    with pytest.raises(StreamStateError, match="not started"):
        producer.stop()
    assert not (tmp_path / "j").exists()


def test_backoff_doubles_from_a_tenth_of_a_second_up_to_five() -> None:
    steps = [0.0]
    for _ in range(10):
        steps.append(_next_backoff(steps[-1]))
    assert steps[1:] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0, 5.0]
