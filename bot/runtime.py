"""Process set-up shared by `python -m bot serve` and the benchmark: logging and garbage-collector tuning."""

from __future__ import annotations

import gc
import logging
import logging.handlers
import sys
import threading
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
FLUSH_INTERVAL_S = 1.0


class _PeriodicFlush(threading.Thread):
    """Flushes the buffered log handler every second, so a quiet service's lines still appear promptly."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__(name="log-flush", daemon=True)
        self.handler = handler

    def run(self) -> None:
        while True:
            threading.Event().wait(FLUSH_INTERVAL_S)
            self.handler.flush()


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Log lines to `stream` (stderr), buffered: one write per batch instead of one syscall per message.

    Warnings and errors flush the buffer at once, and it is flushed at least every second and at exit.
    """
    # The logging HOWTO's optimisations: our lines never show the caller's file, thread or process, so skip
    # collecting them (the stack walk alone cost ~4 µs a message).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    target = logging.StreamHandler(stream or sys.stderr)
    target.setFormatter(logging.Formatter(LOG_FORMAT))
    buffered = logging.handlers.MemoryHandler(capacity=512, flushLevel=logging.WARNING, target=target)
    root = logging.getLogger()
    root.handlers[:] = [buffered]
    root.setLevel(level)
    # aiohttp's access log repeats what our one line per message says, with query strings that carry
    # signatures; Tortoise's debug log prints query parameters (the access token among them).
    for name in ("aiohttp.access", "tortoise", "aiosqlite", "asyncio"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    _PeriodicFlush(buffered).start()


def tune_gc() -> None:
    """Move start-up objects out of the collector's way and collect the young generation less often.

    A webhook allocates many short-lived objects per message; the default gen-0 threshold (700) makes the
    collector run every few messages, which showed up as a p99 tail in the benchmark.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
