"""A publisher process for the robust-publication tests, which kill and pause it.

Usage: python _robust_publisher.py URL JOURNAL FIRST COUNT {kill,stop,hold} PACE

Writes the JSON messages ``{"i": FIRST}`` ... ``{"i": FIRST + COUNT - 1}``, printing how many
it has written after every ten (sleeping PACE seconds there when PACE > 0). Then ``kill``
sends itself SIGKILL right after the last ``write`` returned; ``stop`` stops the producer
(waiting for every acknowledgement) and prints ``stopped``.

``hold`` recreates the window in which at-least-once delivery makes duplicates: the broker
has acknowledged a message but the process dies before the journal records it. The
acknowledgements of the second half of the messages (by sequence number, which is the
write order of a fresh journal) never reach the journal; once the broker has acknowledged
every message, the process prints ``acked`` and sends itself SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from hop._journal import PublicationJournal
from hop.robust_publisher import RobustProducer


def _hold_second_half(total: int) -> threading.Event:
    """Keep the second half's acknowledgements out of the journal; set when all are in."""
    acknowledged: set[int] = set()
    everything = threading.Event()
    mark = PublicationJournal.mark_messages_sent

    def held(self: PublicationJournal, seqs: Sequence[int]) -> None:
        acknowledged.update(seqs)
        mark(self, [seq for seq in seqs if seq < total // 2])
        if len(acknowledged) == total:
            everything.set()

    PublicationJournal.mark_messages_sent = held  # type: ignore[method-assign]
    return everything


def main(argv: list[str]) -> None:
    url, journal, first, count, mode, pace = argv
    start, total, delay = int(first), int(count), float(pace)
    everything = _hold_second_half(total) if mode == "hold" else None
    # Reconnect quickly to a restarted broker (librdkafka's default backoff reaches 10 s).
    publisher = RobustProducer(
        url, auth=False, journal_path=journal, config={"reconnect.backoff.max.ms": 200}
    )
    publisher.start()
    for i in range(start, start + total):
        publisher.write({"i": i})
        if (i - start) % 10 == 9:
            print(i - start + 1, flush=True)
            if delay > 0:
                time.sleep(delay)
    if everything is not None:
        if not everything.wait(60):
            sys.exit("the broker did not acknowledge every message in 60 s")
        print("acked", flush=True)
        mode = "kill"
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    publisher.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
