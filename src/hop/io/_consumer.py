"""The consumer: ``hop.io.Consumer`` and ``hop.io.Metadata`` (re-exported there), with the
bookkeeping of what it was assigned and has read to the end.

Over 600 lines on purpose: the class is one unit (where reading starts, the read loop,
commits, closing) and a good part of its length is the typed ``read`` overloads and public
docstrings; its state objects live in ``_read_state`` and client errors in ``_client``."""

from __future__ import annotations

import difflib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import confluent_kafka

from hop._duration import to_timedelta as _timedelta
from hop.errors import (
    BrokerUnavailableError,
    ConfigurationError,
    KafkaTimeoutError,
    StreamStateError,
    ends_reading,
    is_no_offset,
    is_partition_eof,
    is_topic_absent,
    translate_kafka_error,
)

# ``_format`` header values seen so far, decoded once each: the one bounded label cache,
# kept in hop.models (labels over 64 bytes are never cached).
from hop.models import _LABELS as _LABELS
from hop.models import MessageModel, decode
from hop.models import _label_text as _label_text

from . import _rdkafka_config
from ._client import _ClientErrors, _cluster_metadata
from ._end_at import EndAt, check_end_at
from ._headers import _is_test, _unpack
from ._read_state import (
    _FINISHED,
    _SKIPPED,
    _Assignment,
    _check_start_at,
    _duplicate_window,
    _DuplicateFilter,
    _ReadSteps,
    _start_offsets,
)
from ._types import ConfigArg, Metadata, StartAt, StartPosition, _metadata
from ._url import KafkaURL

if TYPE_CHECKING:
    from hop.models._schema_registry import SchemaSources

# Every part of hop.io logs as "hop.io": the command line holds back hop.io's connection
# warnings at first, by that name.
logger = logging.getLogger("hop.io")
# What a person reading a stream should know at once (a missing topic, a group that hands out
# nothing). Not "hop.io": the command line holds back hop.io's connection warnings at first.
_notices = logging.getLogger("hop.stream")

_PATTERN_REFRESH_MS = 10_000
# A group member with no partitions after this many session timeouts is told so.
_JOIN_TIMEOUT_SESSIONS = 3


class Consumer:
    """Reads messages from Kafka. Obtain one with ``Stream.open(url, "r")``.

    Iterating over it yields messages (``MessageModel`` instances); ``read()`` offers the
    options.
    """

    def __init__(
        self,
        url: KafkaURL,
        auth: _rdkafka_config.AuthLike | None = None,
        *,
        group_id: str | None = None,
        start_at: StartAt = StartPosition.LATEST,
        until_eos: bool = False,
        ignoretest: bool = True,
        skip_duplicates: bool | int = False,
        session_timeout: timedelta | float | None = None,
        config: ConfigArg = None,
        schemas: SchemaSources | None = None,
        connect_timeout: timedelta | float | None = _rdkafka_config.DEFAULT_CONNECT_TIMEOUT,
        end_at: EndAt | None = None,
    ) -> None:
        if not url.topics:
            raise ConfigurationError(f"{url} names no topic: reading needs at least one")
        self._url = url
        self._start_at = _check_start_at(start_at)
        # Reading to an end stops each partition at its end of stream too (issue 23).
        self._end_at = check_end_at(end_at)
        self._until_eos = until_eos or self._end_at is not None
        #: time.monotonic() when a message (any: test messages and duplicates too) last
        #: arrived, or when this consumer was opened.
        self.last_arrival = time.monotonic()
        self._ignoretest = ignoretest
        # Where Confluent-framed Avro records find their schemas (None: the defaults).
        self._schemas = schemas
        self._window = _duplicate_window(skip_duplicates)
        # A group of the caller's, or a subscription to a topic pattern: offsets are stored
        # and committed, so a rebalance (a new matching topic) resumes where reading was.
        self._explicit_group = group_id is not None or any(
            topic.startswith("^") for topic in url.topics
        )
        self._group_id = group_id if group_id is not None else f"hop-{uuid.uuid4()}"
        self._stopped = threading.Event()
        self._closed = False
        self._client_errors = _ClientErrors(f"consumer for {url}", secure=auth is not None, url=url)
        # Partitions being read, read to their end (for until_eos), topics missing at open.
        self._assignment = _Assignment()
        self._subscribed = False
        # The last message handed out per partition, committed once the next is requested.
        self._handed_out: confluent_kafka.Message | None = None
        session = (
            None if session_timeout is None else _timedelta(session_timeout, "session_timeout")
        )
        self._session_timeout = (session or _rdkafka_config.DEFAULT_SESSION_TIMEOUT).total_seconds()
        # How long opening waits for some broker to answer at all; None: for ever.
        self._connect_timeout = (
            None
            if connect_timeout is None
            else _timedelta(connect_timeout, "connect_timeout").total_seconds() or None
        )
        self._join_started = 0.0
        self._join_warned = False
        self._next_topic_check = 0.0
        settings = self._settings(auth, session, config)
        try:
            self._consumer = confluent_kafka.Consumer(settings)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"opening {url} for reading") from exc
        try:
            self._start()
        except BaseException:
            # Closed before raising: a client left open goes on connecting (or logging in).
            self._consumer.close()
            self._closed = True
            raise

    def _settings(
        self,
        auth: _rdkafka_config.AuthLike | None,
        session: timedelta | None,
        config: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        settings = _rdkafka_config.consumer_settings(
            self._url,
            auth,
            group_id=self._group_id,
            # Offsets of a random, throw-away group are worth nothing to anyone.
            auto_commit=self._explicit_group,
            offset_reset="earliest" if self._start_at is StartPosition.EARLIEST else "latest",
            partition_eof=self._until_eos,
            session_timeout=session,
            error_cb=self._client_errors,
            overrides=config,
            logger=self._client_errors,
        )
        if any(topic.startswith("^") for topic in self._url.topics):
            # librdkafka matches patterns against its periodic full metadata: look for new
            # matching topics every 10 s rather than every 5 minutes.
            settings.setdefault("topic.metadata.refresh.interval.ms", _PATTERN_REFRESH_MS)
        return settings

    def _start(self) -> None:
        """Subscribe (a group) or assign the partitions; then say which topics are missing."""
        url = self._url
        names = [topic for topic in url.topics if not topic.startswith("^")]
        known, notices = self._look_for_topics(names)
        if self._explicit_group:
            # Learn which topics exist yet: a subscription to a missing topic would
            # otherwise wait for librdkafka's next periodic metadata refresh (minutes).
            # Topic patterns need a subscription, so a group (a random one if none).
            self._partitions(names, known=known)
            self._consumer.subscribe(
                list(url.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
            )
            self._subscribed = True
            self._join_started = time.monotonic()
        else:
            self._assign(names, self._start_at, known=known)
        # Only now: a topic the credential may not see fails above with its own error.
        for notice in notices:
            _notices.warning("%s", notice)

    # -- where reading starts ------------------------------------------------------------

    def _look_for_topics(self, names: list[str]) -> tuple[Any, list[str]]:
        """List the cluster's topics, and say which named topics do not exist (yet), with
        the closest existing names. All topics are listed rather than the named ones looked
        up, since asking for a topic by name creates it on brokers that auto-create topics.

        Returns:
            The cluster metadata (which the partition look-up uses) or None, and the
            notices to give once reading can start.
        """
        if not names:
            return None, []
        notices: list[str] = []
        cluster = _cluster_metadata(
            self._consumer,
            self._client_errors,
            f"opening {self._url} for reading",
            topic=None,
            timeout=self._connect_timeout,
            serve=lambda: self._consumer.poll(0.1),
        )
        existing = sorted(name for name in cluster.topics if not name.startswith("__"))
        for name in names:
            if name in cluster.topics:
                continue
            close = difflib.get_close_matches(name, existing, n=3, cutoff=0.6)
            suggestion = f"; closest existing: {', '.join(close)}" if close else ""
            notices.append(f"topic {name} does not exist (yet) at {self._url}{suggestion}")
        return cluster, notices

    def _partitions(
        self, topics: list[str], timeout: float = 10.0, known: Any = None
    ) -> list[confluent_kafka.TopicPartition]:
        """The partitions of those topics that exist; the others are remembered as missing.

        ``known`` is cluster metadata just fetched: topics it describes fully are not looked
        up again."""
        found: list[confluent_kafka.TopicPartition] = []
        missing: list[str] = []
        for topic in topics:
            listed = known.topics.get(topic) if known is not None else None
            if listed is not None and listed.error is None and listed.partitions:
                found.extend(
                    confluent_kafka.TopicPartition(topic, p) for p in sorted(listed.partitions)
                )
                continue
            cluster = _cluster_metadata(
                self._consumer,
                self._client_errors,
                f"looking up topic {topic} at {self._url}",
                topic=topic,
                timeout=timeout,
                # Before anything is assigned, polling serves error callbacks and can
                # consume nothing.
                serve=(
                    None
                    if self._assignment.partitions or self._subscribed
                    else lambda: self._consumer.poll(0.1)
                ),
            )
            meta = cluster.topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                if meta is not None and meta.error is not None:
                    if not is_topic_absent(meta.error):
                        raise translate_kafka_error(meta.error, f"reading topic {topic}")
                missing.append(topic)
                continue
            found.extend(confluent_kafka.TopicPartition(topic, p) for p in sorted(meta.partitions))
        self._assignment.missing = missing
        return found

    def _assign(
        self, topics: list[str], start_at: StartAt, timeout: float = 10.0, known: Any = None
    ) -> None:
        partitions = self._partitions(topics, timeout, known)
        _start_offsets(self._consumer, partitions, start_at)
        if partitions:
            self._consumer.incremental_assign(partitions)
        self._assignment.add(partitions)

    def _on_assign(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        # A group's committed offsets win; the others start where start_at says.
        try:
            committed = consumer.committed(partitions, timeout=10) if partitions else []
        except confluent_kafka.KafkaException as exc:
            # Leave the offsets unset: librdkafka then fetches the committed offsets itself
            # and only falls back to auto.offset.reset, so nothing committed is re-read or
            # skipped. Only a time or -N start position cannot be applied this way.
            logger.warning(
                "could not read committed offsets (%s); librdkafka will resume the group", exc
            )
            self._accept_assignment(consumer, partitions)
            return
        done = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
        fresh = [tp for tp in partitions if (tp.topic, tp.partition) not in done]
        _start_offsets(consumer, fresh, self._start_at)
        for tp in partitions:
            if (tp.topic, tp.partition) in done:
                tp.offset = done[(tp.topic, tp.partition)]
        self._accept_assignment(consumer, partitions)

    def _accept_assignment(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        consumer.assign(partitions)
        self._assignment.replace(partitions)

    def _on_revoke(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        self._commit_handed_out()
        self._assignment.revoke(partitions)

    def _look_for_missing_topics(self) -> None:
        missing = self._assignment.missing
        if not missing:
            return
        try:
            if self._explicit_group:
                # Fresh metadata is enough: the group's subscription picks up new topics.
                self._partitions(list(missing), timeout=1.0)
            else:
                # Everything in a topic that appeared after we started is new to us.
                self._assign(missing, StartPosition.EARLIEST, timeout=1.0)
        except (BrokerUnavailableError, KafkaTimeoutError) as exc:
            # Reading goes on; the broker may come back.
            logger.debug("still looking for %s: %s", ", ".join(missing), exc)

    # -- reading ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[MessageModel]:
        return self.read()

    @overload
    def read(
        self,
        metadata: Literal[False] = ...,
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> Iterator[MessageModel]: ...

    @overload
    def read(
        self,
        metadata: Literal[True],
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> Iterator[tuple[MessageModel, Metadata]]: ...

    @overload
    def read(
        self,
        metadata: bool,
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> Iterator[MessageModel | tuple[MessageModel, Metadata]]: ...

    def read(
        self,
        metadata: bool = False,
        autocommit: bool = True,
        batch_size: int = 100,
        batch_timeout: timedelta = timedelta(seconds=0.2),
        skip_duplicates: bool | int | None = None,
    ) -> Iterator[MessageModel | tuple[MessageModel, Metadata]]:
        """Yield messages as they arrive.

        Args:
            metadata: yield ``(message, Metadata)`` pairs instead of messages.
            autocommit: mark each message done (for a consumer group) once the next one is
                requested; without it only ``mark_done`` commits.
            batch_size: how many messages to fetch from librdkafka at once.
            batch_timeout: how long to wait for a message before checking ``stop()`` again.
            skip_duplicates: drop messages whose ``_id`` was among the last N seen (True:
                N = 10,000; an int: that N); None uses the stream's setting.

        Yields:
            Messages, or ``(message, Metadata)`` pairs.

        Raises:
            StreamStateError: the consumer is closed.
            KafkaError: a fatal error from Kafka (authentication, authorization).
        """
        yield from self._messages(
            False, metadata, autocommit, batch_size, batch_timeout, skip_duplicates
        )

    def read_raw(
        self,
        autocommit: bool = True,
        batch_size: int = 100,
        batch_timeout: timedelta = timedelta(seconds=0.2),
        skip_duplicates: bool | int | None = None,
    ) -> Iterator[confluent_kafka.Message]:
        """Yield the messages as confluent-kafka gives them, without decoding them.

        Test messages (when the stream ignores them) and duplicates are skipped exactly as by
        ``read``; ``Metadata.from_message`` turns one into a ``Metadata``.

        Args:
            autocommit: as for ``read``.
            batch_size: as for ``read``.
            batch_timeout: as for ``read``.
            skip_duplicates: as for ``read``.

        Yields:
            ``confluent_kafka.Message`` objects (``value()`` is the raw body).

        Raises:
            StreamStateError: the consumer is closed.
            KafkaError: a fatal error from Kafka (authentication, authorization).
        """
        yield from self._messages(
            True, False, autocommit, batch_size, batch_timeout, skip_duplicates
        )

    def _messages(
        self,
        raw_mode: bool,
        metadata: bool,
        autocommit: bool,
        batch_size: int,
        batch_timeout: timedelta,
        skip_duplicates: bool | int | None,
    ) -> Iterator[Any]:
        take, finish, wait = self._read_steps(
            raw_mode, metadata, autocommit, batch_size, batch_timeout, skip_duplicates
        )
        until_eos = self._until_eos
        self._next_topic_check = 0.0
        stopped = self._stopped.is_set
        assignment = self._assignment
        while not stopped():
            if until_eos and assignment.finished():
                return
            for raw in self._next_batch(batch_size, wait, until_eos):
                item = take(raw)
                if item is _SKIPPED:
                    continue
                if item is _FINISHED:
                    return
                yield item
                # The caller asked for the next message: this one is done.
                if finish is not None:
                    finish(raw)
                if stopped():
                    return

    def _read_steps(
        self,
        raw_mode: bool,
        metadata: bool,
        autocommit: bool,
        batch_size: int,
        batch_timeout: timedelta,
        skip_duplicates: bool | int | None,
    ) -> _ReadSteps:
        """The per-message logic of ``read``, apart from fetching (shared with ``hop.aio``).

        ``take(raw)`` deals with one fetched message: an error in its place, a test message
        or a duplicate to skip (``_SKIPPED``), every partition read to its end with until_eos
        (``_FINISHED``), or the item to hand out (decoded, with metadata, or raw).
        ``finish(raw)`` (None unless offsets are stored) marks a handed-out message done once
        the next one is requested. ``wait`` is batch_timeout in seconds.
        """
        self._check_open()
        if batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")
        wait = _timedelta(batch_timeout, "batch_timeout").total_seconds()
        window = self._window if skip_duplicates is None else _duplicate_window(skip_duplicates)
        duplicates = _DuplicateFilter(window) if window else None
        store = autocommit and self._explicit_group
        ignoretest = self._ignoretest
        consumer = self._consumer
        until_eos = self._until_eos
        schemas = self._schemas
        url = self._url
        unpack = _unpack
        end_at = self._end_at

        def take(raw: confluent_kafka.Message) -> Any:
            error = raw.error()
            if error is not None:
                if self._on_message_error(raw, error) and until_eos:
                    return _FINISHED
                return _SKIPPED
            if end_at is not None and end_at.past(raw):
                return _FINISHED if self._stop_partition(raw) else _SKIPPED
            headers, label, message_id, is_test = unpack(raw, url)
            if (is_test and ignoretest) or (
                duplicates is not None and message_id is not None and duplicates.seen(message_id)
            ):
                if store:
                    consumer.store_offsets(raw)
                return _SKIPPED
            if store:
                self._handed_out = raw
            if raw_mode:
                return raw
            if metadata:
                return decode(raw.value(), label, schemas), _metadata(raw, headers)
            return decode(raw.value(), label, schemas)

        def finish(raw: confluent_kafka.Message) -> None:
            self._handed_out = None
            consumer.store_offsets(raw)

        return _ReadSteps(take, finish if store else None, wait)

    def _check_join(self, until_eos: bool) -> None:
        """A group reader that has had no partitions for a join timeout (three session
        timeouts): with until_eos, a clear error; otherwise one warning."""
        waited = time.monotonic() - self._join_started
        limit = _JOIN_TIMEOUT_SESSIONS * self._session_timeout
        if waited < limit:
            return
        what = (
            f"consumer group {self._group_id!r} has assigned this reader no partitions of "
            f"{', '.join(self._url.topics)} in {waited:.0f} s (session timeout "
            f"{self._session_timeout:g} s)"
        )
        advice = (
            "another member may still hold them (a reader stopped during its join stays a "
            "member until its session times out)"
        )
        if until_eos:
            raise KafkaTimeoutError(
                f"{what}: {advice}; try again later, use another group, or read without one"
            )
        if not self._join_warned:
            self._join_warned = True
            _notices.warning("%s; still waiting: %s", what, advice)

    def _next_batch(self, size: int, wait: float, until_eos: bool) -> list[confluent_kafka.Message]:
        """What is ready, without waiting; only when nothing is, one message waited for up
        to ``wait`` s, so that a trickle of alerts is delivered at once rather than per
        batch_timeout. Empty when nothing came. Looks for missing topics now and then."""
        if self._topic_check_due(until_eos):
            self._next_topic_check = time.monotonic() + 1.0
            self._look_for_missing_topics()
        batch = self._ready_batch(size)
        if batch:
            return batch
        first = self._consumer.poll(wait)
        if first is not None:
            self.last_arrival = time.monotonic()
            return [first]
        self._client_errors.check(f"reading from {self._url}")
        if self._subscribed and not self._assignment.known:
            self._check_join(until_eos)
        return []

    def _topic_check_due(self, until_eos: bool) -> bool:
        """Whether ``_next_batch`` looks for missing topics now (up to a second)."""
        due = bool(self._assignment.missing) and not until_eos
        return due and time.monotonic() >= self._next_topic_check

    def _ready_batch(self, size: int) -> list[confluent_kafka.Message]:
        """What librdkafka has ready, without waiting (``hop.aio`` runs it on its loop)."""
        batch: list[confluent_kafka.Message] = self._consumer.consume(size, 0)
        if batch:
            self.last_arrival = time.monotonic()
        return batch

    def _stop_partition(self, raw: confluent_kafka.Message) -> bool:
        """A partition reached ``end_at``: fetch no more of it. Say whether every partition
        has now stopped."""
        topic, partition = cast(str, raw.topic()), cast(int, raw.partition())
        try:
            self._consumer.pause([confluent_kafka.TopicPartition(topic, partition)])
        except confluent_kafka.KafkaException as exc:  # its messages are skipped anyway
            logger.debug("could not pause %s[%d]: %s", topic, partition, exc)
        self._assignment.reached_end(topic, partition)
        return self._assignment.finished()

    def _on_message_error(
        self, raw: confluent_kafka.Message, error: confluent_kafka.KafkaError
    ) -> bool:
        """Deal with an error read in place of a message; say whether every partition has
        now been read to its end."""
        if is_partition_eof(error):
            self._assignment.reached_end(cast(str, raw.topic()), cast(int, raw.partition()))
            return self._assignment.finished()
        if ends_reading(error):
            raise translate_kafka_error(error, f"reading from {self._url}")
        self._client_errors(error)
        return False

    # -- committing ------------------------------------------------------------------------

    def mark_done(self, metadata: Metadata, asynchronous: bool = True) -> None:
        """Commit a message as processed, so its group will not be handed it again.

        Args:
            metadata: the message's ``Metadata`` (from ``read(metadata=True)``).
            asynchronous: return without waiting for the broker to confirm the commit.

        Raises:
            KafkaError: a synchronous commit failed.
        """
        self._check_open()
        offset = confluent_kafka.TopicPartition(
            metadata.topic, metadata.partition, metadata.offset + 1
        )
        try:
            # One call: the stubs' overloads want a literal bool, hence the looser type.
            commit = cast(Callable[..., object], self._consumer.commit)
            commit(offsets=[offset], asynchronous=asynchronous)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"committing offset to {self._url}") from exc

    def _commit_handed_out(self) -> None:
        """Commit offsets stored so far (messages handed out and finished)."""
        if not self._explicit_group:
            return
        try:
            self._consumer.commit(asynchronous=False)
        except confluent_kafka.KafkaException as exc:
            kafka_error = exc.args[0] if exc.args else None
            if isinstance(kafka_error, confluent_kafka.KafkaError) and is_no_offset(kafka_error):
                return
            logger.warning("could not commit offsets for %s: %s", self._url, exc)

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Make ``read()`` return after the current message. Safe from any thread or a
        signal handler."""
        self._stopped.set()

    def close(self) -> None:
        """Commit what was handed out and finished, leave the group, close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        try:
            if self._explicit_group and self._handed_out is not None:
                # Closing normally after receiving a message means it was dealt with.
                try:
                    self._consumer.store_offsets(self._handed_out)
                except confluent_kafka.KafkaException:
                    pass
            self._handed_out = None
            self._commit_handed_out()
        finally:
            self._consumer.close()

    def list_topics(self, timeout: float = -1.0) -> dict[str, Any]:
        """The topics on the broker, as a dict of name to topic metadata.

        Args:
            timeout: seconds to wait at most; -1 waits indefinitely.
        """
        self._check_open()
        try:
            return dict(self._consumer.list_topics(timeout=timeout).topics)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"listing topics at {self._url}") from exc

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs this consumer reads now, sorted."""
        return sorted(self._assignment.partitions)

    @staticmethod
    def is_test(message: object) -> bool:
        """Whether a message is a test message (it has a ``_test`` header).

        Args:
            message: a ``Metadata``, a ``(model, Metadata)`` pair, or a raw
                ``confluent_kafka.Message``.
        """
        return _is_test(message)

    def _check_open(self) -> None:
        if self._closed:
            raise StreamStateError(f"this consumer for {self._url} is closed")
        self._client_errors.check(f"reading from {self._url}")

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, KeyboardInterrupt | GeneratorExit):
            # The message being processed when it failed is not done.
            self._handed_out = None
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<hop.io.Consumer {self._url} group={self._group_id} {state}>"
