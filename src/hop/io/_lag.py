"""How far a consumer group is behind: per partition, its committed offset, the partition's
end offset and the difference (``hop.io.consumer_lag``, ``hop lag``)."""

from __future__ import annotations

import re
from typing import TypedDict

import confluent_kafka

from hop.errors import UnknownTopicError, translate_kafka_error

# hop's private client plumbing, in one place (see docs/architecture.md).
from . import _rdkafka_config
from ._client import _ClientErrors, _cluster_metadata
from ._url import KafkaURL

__all__ = ["PartitionLag", "group_lag", "total_lag"]


class PartitionLag(TypedDict):
    """One partition's lag: what ``hop lag -j`` prints per line.

    Keys:
        topic: the topic.
        partition: the partition number.
        committed: the group's committed offset (the next message it will read), or None
            when the group has committed nothing there.
        end: the partition's end offset (the offset the next message written will get).
        lag: ``end - committed``, or None without a committed offset.
    """

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int | None


def total_lag(partitions: list[PartitionLag]) -> int:
    """The sum of the known lags."""
    return sum(p["lag"] for p in partitions if p["lag"] is not None)


def _wanted_topics(url: KafkaURL, existing: list[str]) -> list[str]:
    """The topics of the URL (patterns matched against ``existing``); every non-internal
    topic when it names none. A named topic that does not exist is an error."""
    if not url.topics:
        return [name for name in existing if not name.startswith("__")]
    chosen: list[str] = []
    for name in url.topics:
        if name.startswith("^"):
            pattern = re.compile(name)
            chosen += [t for t in existing if pattern.match(t) and t not in chosen]
        elif name not in existing:
            raise UnknownTopicError(f"topic {name} does not exist at {url}")
        elif name not in chosen:
            chosen.append(name)
    return chosen


def group_lag(
    url: KafkaURL,
    credential: _rdkafka_config.AuthLike | None,
    group_id: str,
    timeout: float,
) -> list[PartitionLag]:
    """Each partition's lag for ``group_id``, sorted by topic and partition.

    Without topics in the URL, only partitions where the group has committed an offset are
    listed. Asks the group's coordinator for the committed offsets and each partition's
    leader for its end offset; joins no group and commits nothing.

    Raises:
        BrokerUnavailableError: no broker answered within ``timeout``.
        AuthenticationError: TLS or the credential failed.
        UnknownTopicError: a topic named in the URL does not exist.
        KafkaError: another error from the broker.
    """
    context = f"finding the lag of group {group_id!r} at {url}"
    errors = _ClientErrors(context, secure=credential is not None, url=url)
    settings = _rdkafka_config.consumer_settings(
        url,
        credential,
        group_id=group_id,
        auto_commit=False,
        offset_reset="earliest",
        partition_eof=False,
        error_cb=errors,
        logger=errors,
    )
    client = confluent_kafka.Consumer(settings)
    try:
        metadata = _cluster_metadata(
            client, errors, context, topic=None, timeout=timeout, serve=lambda: client.poll(0.1)
        )
        topics = _wanted_topics(url, sorted(metadata.topics))
        partitions = [
            confluent_kafka.TopicPartition(topic, number)
            for topic in topics
            for number in sorted(metadata.topics[topic].partitions)
        ]
        if not partitions:
            return []
        try:
            committed = client.committed(partitions, timeout=timeout)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, context) from exc
        result: list[PartitionLag] = []
        for tp in committed:
            if tp.error is not None:
                raise translate_kafka_error(tp.error, context)
            offset = tp.offset if tp.offset >= 0 else None
            if offset is None and not url.topics:
                continue  # not one of the group's partitions
            try:
                _, end = client.get_watermark_offsets(tp, timeout=timeout, cached=False) or (0, 0)
            except confluent_kafka.KafkaException as exc:
                raise translate_kafka_error(
                    exc, f"{context}: end of {tp.topic}[{tp.partition}]"
                ) from exc
            lag = None if offset is None else max(0, end - offset)
            result.append(
                {
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "committed": offset,
                    "end": end,
                    "lag": lag,
                }
            )
        return sorted(result, key=lambda p: (p["topic"], p["partition"]))
    finally:
        client.close()
