"""A publisher process for the robust-publication tests, which kill and pause it.

Usage: python _robust_publisher.py URL JOURNAL FIRST COUNT {kill,stop} PACE

Writes the JSON messages ``{"i": FIRST}`` ... ``{"i": FIRST + COUNT - 1}``, printing how many
it has written after every ten (sleeping PACE seconds there when PACE > 0). Then ``kill``
sends itself SIGKILL right after the last ``write`` returned; ``stop`` stops the producer
(waiting for every acknowledgement) and prints ``stopped``.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from hop.robust_publisher import RobustProducer


def main(argv: list[str]) -> None:
    url, journal, first, count, mode, pace = argv
    start, total, delay = int(first), int(count), float(pace)
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
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    publisher.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
