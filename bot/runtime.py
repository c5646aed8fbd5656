"""Process set-up shared by `python -m bot serve` and the benchmark: logging and garbage-collector tuning."""

from __future__ import annotations

import asyncio
import gc
import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

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


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The service's event loop: uvloop where it is installed (Linux and macOS), else asyncio's own.

    uvloop runs the same code with cheaper callbacks, socket I/O and thread wake-ups (aiosqlite hands every
    statement to its thread and back): the booking benchmark's server CPU per message fell by about 15%.
    Set BOT_EVENT_LOOP=asyncio to run on asyncio's loop instead."""
    if os.environ.get("BOT_EVENT_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on `new_event_loop()`."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
