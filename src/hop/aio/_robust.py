"""``hop.aio.RobustProducer``: the journaled publisher for asyncio callers.

The publisher stays thread-based (its journal is blocking disk I/O): this adapter runs
``start``, ``write`` and ``stop`` in a worker thread of its own, in the order they were
called, so the loop never waits on the disk or on the publisher's room for messages.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from types import TracebackType
from typing import Any

from hop.io import AuthArg, HeadersArg
from hop.robust_publisher import RobustProducer as _BlockingRobustProducer


class RobustProducer:
    """``hop.robust_publisher.RobustProducer`` with awaitable methods and ``async with``.

    Takes the same arguments; ``blocking`` is the publisher itself.
    """

    def __init__(
        self,
        url: str,
        auth: AuthArg = True,
        journal_path: str | os.PathLike[str] = "publisher.journal",
        poll_wait: float = 1e-4,
        **kwargs: Any,
    ) -> None:
        self.blocking = _BlockingRobustProducer(url, auth, journal_path, poll_wait, **kwargs)
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="hop.aio robust"
        )

    async def _run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.wrap_future(self._worker.submit(function, *args, **kwargs))

    async def start(self) -> None:
        """Open the journal (replaying it) and the stream, then start sending."""
        await self._run(self.blocking.start)

    async def write(
        self,
        message: object,
        headers: HeadersArg = None,
        test: bool = False,
        topic: str | None = None,
        key: str | bytes | None = None,
        timeout: float | None = None,
    ) -> None:
        """Journal a message for sending (as the blocking ``write``: safe from a crash of
        this process once this returns)."""
        await self._run(self.blocking.write, message, headers, test, topic, key, timeout)

    async def stop(self) -> None:
        """Wait until every queued message is acknowledged, then end the publisher."""
        try:
            await asyncio.shield(self._run(self.blocking.stop))
        finally:
            self._worker.shutdown(wait=False)

    async def __aenter__(self) -> RobustProducer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
