"""Closing a reader so that a second Ctrl+C still ends the command at once.

Closing a consumer leaves its group, and librdkafka's close blocks in C until a join in
progress has finished (seconds on a slow broker). Python runs signal handlers only between
two of its own instructions, so a second Ctrl+C would wait for that. Here the close runs in
a helper thread while the main thread waits in short, interruptible slices."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from hop.io import Consumer

__all__ = ["closed_interruptibly"]


def _run_interruptibly(work: Callable[[], object]) -> None:
    """Run ``work`` in a daemon thread; wait for it so that a signal interrupts the wait
    (the thread is then left behind, and dies with the process). What it raised is raised."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)

    helper = threading.Thread(target=run, name="hop-close", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(0.1)
    if failure:
        raise failure[0]


@contextlib.contextmanager
def closed_interruptibly(consumer: Consumer) -> Iterator[Consumer]:
    """As ``with consumer:``, but the close at the end can be interrupted (Ctrl+C)."""
    try:
        yield consumer
    except BaseException as exc:
        failed = exc
        _run_interruptibly(lambda: consumer.__exit__(type(failed), failed, failed.__traceback__))
        raise
    _run_interruptibly(lambda: consumer.__exit__(None, None, None))
