"""``hop.aio.Stream``: opens Kafka URLs for asyncio, with ``hop.io.Stream``'s arguments,
defaults, credentials and checks (it holds one and opens through it, in a worker thread:
loading credentials and the first metadata look-ups block)."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Generator, Sequence
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, overload

from hop import io as hop_io
from hop.errors import ConfigurationError
from hop.io import AuthArg, EndAt, Seconds, StartAt, StartPosition

from ._consumer import Consumer
from ._producer import Producer

_C = TypeVar("_C", Consumer, Producer, "Consumer | Producer")


class _Unset:
    """An option not given (``connect_timeout`` takes None)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


class Opening(Generic[_C]):
    """What ``Stream.open`` returns: ``async with`` it (closed on leaving the block), or
    ``await`` it for the open consumer or producer (then close it yourself)."""

    def __init__(self, open_blocking: Callable[[], hop_io.Consumer | hop_io.Producer]) -> None:
        self._open_blocking = open_blocking
        self._opened: Any = None

    async def _open(self) -> _C:
        loop = asyncio.get_running_loop()
        opening = loop.run_in_executor(None, self._open_blocking)
        try:
            blocking = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The thread goes on opening: close what it opens.
            opening.add_done_callback(functools.partial(_discard, loop))
            raise
        opened: Any
        if isinstance(blocking, hop_io.Producer):
            opened = Producer(blocking, loop)
        else:
            opened = Consumer(blocking, loop)
        return opened  # type: ignore[no-any-return]

    def __await__(self) -> Generator[Any, None, _C]:
        return self._open().__await__()

    async def __aenter__(self) -> _C:
        if self._opened is not None:
            raise RuntimeError("this stream.open(...) was entered already")
        opened = await self._open()
        self._opened = opened
        return opened

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._opened.__aexit__(exc_type, exc, tb)


def _discard(loop: asyncio.AbstractEventLoop, opening: asyncio.Future[Any]) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    opened = opening.result()
    close = opened.abandon if isinstance(opened, hop_io.Producer) else opened.close
    loop.run_in_executor(None, close)


class Stream:
    """Opens Kafka URLs for asyncio readers and writers, with shared defaults.

    It takes exactly ``hop.io.Stream``'s arguments (and keeps a ``hop.io.Stream``, as
    ``blocking``, which does the opening):

    Args:
        auth: ``True`` to use the stored credentials (``hop auth add``), ``False`` for none,
            an ``Auth``, or a list of them to choose from by the URL's host and user.
        start_at: where readers without committed offsets start.
        until_eos: readers stop once they reach the end of every partition.
        skip_duplicates: readers drop messages whose ``_id`` they saw recently.
        connect_timeout: writers give up after this many seconds when no broker has
            answered at all (unset: the ``connect_timeout`` setting, else 15 s).
        schema_registry: readers take the schemas of Confluent-framed Avro records from
            this registry (see ``hop.io.Stream``).
        schema_dir: readers also look for ``ID.avsc`` schemas in this directory.
        end_at: readers stop each partition at its first message past this point (see
            ``hop.io.Stream``).
    """

    def __init__(
        self,
        auth: AuthArg = True,
        start_at: StartAt = StartPosition.LATEST,
        until_eos: bool = False,
        skip_duplicates: bool | int = False,
        connect_timeout: Seconds | None = _UNSET,
        schema_registry: str | None = None,
        schema_dir: str | os.PathLike[str] | None = None,
        end_at: EndAt | None = None,
    ) -> None:
        options: dict[str, Any] = {}
        if connect_timeout is not _UNSET:
            options["connect_timeout"] = connect_timeout
        self.blocking = hop_io.Stream(
            auth,
            start_at,
            until_eos,
            skip_duplicates,
            schema_registry=schema_registry,
            schema_dir=schema_dir,
            end_at=end_at,
            **options,
        )

    @property
    def auth(self) -> Sequence[Any] | None:
        """As ``hop.io.Stream.auth`` (loading stored credentials reads a file)."""
        return self.blocking.auth

    @auth.setter
    def auth(self, value: AuthArg) -> None:
        self.blocking.auth = value

    @property
    def start_at(self) -> StartAt:
        return self.blocking.start_at

    @start_at.setter
    def start_at(self, value: StartAt) -> None:
        self.blocking.start_at = value

    @property
    def until_eos(self) -> bool:
        return self.blocking.until_eos

    @until_eos.setter
    def until_eos(self, value: bool) -> None:
        self.blocking.until_eos = value

    @property
    def skip_duplicates(self) -> bool | int:
        return self.blocking.skip_duplicates

    @skip_duplicates.setter
    def skip_duplicates(self, value: bool | int) -> None:
        self.blocking.skip_duplicates = value

    @overload
    def open(
        self,
        url: str,
        mode: Literal["r"] = ...,
        group_id: str | None = ...,
        ignoretest: bool = ...,
        **options: Any,
    ) -> Opening[Consumer]: ...

    @overload
    def open(
        self,
        url: str,
        mode: Literal["w"],
        group_id: str | None = ...,
        ignoretest: bool = ...,
        **options: Any,
    ) -> Opening[Producer]: ...

    @overload
    def open(
        self,
        url: str,
        mode: str,
        group_id: str | None = ...,
        ignoretest: bool = ...,
        **options: Any,
    ) -> Opening[Consumer | Producer]: ...

    def open(
        self,
        url: str,
        mode: str = "r",
        group_id: str | None = None,
        ignoretest: bool = True,
        **options: Any,
    ) -> Opening[Any]:
        """Open a Kafka URL: ``async with stream.open(url, "r") as consumer``.

        Takes exactly ``hop.io.Stream.open``'s arguments (see there); the opening itself
        (credentials, settings, the first metadata look-ups) runs in a worker thread.

        Returns:
            An ``Opening``: ``async with`` it, or ``await`` it, for a ``hop.aio.Consumer``
            (``"r"``) or ``hop.aio.Producer`` (``"w"``).

        Raises:
            ConfigurationError: a bad mode here; a bad URL or option when it is entered or
                awaited.
            CredentialError: no stored credential fits the URL (when entered or awaited).
        """
        if mode not in ("r", "w"):
            raise ConfigurationError(f"invalid mode {mode!r}: use 'r' to read or 'w' to write")
        blocking = self.blocking
        return Opening(functools.partial(blocking.open, url, mode, group_id, ignoretest, **options))


async def list_topics(url: str, auth: AuthArg = True, timeout: float = -1.0) -> dict[str, Any]:
    """``hop.io.list_topics``, awaited: the look-up runs in a worker thread.

    Args:
        url: the broker's Kafka URL (topics named in it restrict the listing).
        auth: as for ``Stream``.
        timeout: seconds to wait for the broker; -1 waits indefinitely.

    Raises:
        KafkaError: as ``hop.io.list_topics`` raises (``BrokerUnavailableError``,
            ``AuthenticationError``, ...).
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None, functools.partial(hop_io.list_topics, url, auth, timeout)
    )


#: The default stream: ``from hop import aio; async with aio.stream.open(url) as c``.
stream = Stream()
