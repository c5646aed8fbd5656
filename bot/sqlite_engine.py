"""The SQLite engine: Tortoise's own client, with short statements run on the event loop's thread.

Tortoise talks to SQLite through aiosqlite, which hands every statement to one worker thread and back. For
the statements a chat message makes (a primary-key read, a one-row write, a commit of a few pages in WAL
mode) that hand-over costs more than the statement, and it costs a turn of the event loop each way. Under
load a turn takes milliseconds, and the single connection is held meanwhile: a booking's transaction of a
dozen statements held it for about 90 ms in the booking benchmark, and every other user's session read and
save queued behind it.

So statements run right where they are awaited, unless:
- the worker thread still has work queued (order is kept: everything then goes through the thread);
- the caller asked for the thread with `offloaded()` (long scans: the scheduler's passes, reports), so the
  event loop keeps answering messages while SQLite works;
- another process holds the write lock (a command-line tool, a second worker): the connection's own busy
  timeout is 0, and a statement refused as busy is retried on the thread under the configured
  `busy_timeout`, so the wait blocks the thread, never the event loop.

WAL checkpoints are the one part of a commit that waits for the disk: by default the commit that brings the
WAL past 1,000 pages copies them into the database file and fsyncs it, on the event loop's thread, while
every message in flight waits (8-16 ms a time in the booking benchmark, a few times a second). So the
connection never checkpoints itself (`wal_autocheckpoint=0`); a `Checkpointer` thread with its own
connection does, PASSIVE (it never blocks the writer or readers), every `CHECKPOINT_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import aiosqlite
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.connection import connections

log = logging.getLogger(__name__)

# How often the checkpointer copies the WAL into the database file: the WAL holds at most this long's writes
# (a few MB under the booking benchmark's load), and a checkpoint with nothing to copy costs microseconds.
CHECKPOINT_INTERVAL_S = 0.5
# The WAL file is kept at up to this size after a checkpoint instead of Tortoise's 16 KiB, so it is not cut
# back and grown again each time.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

_OFFLOADED: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_offloaded", default=False)


@contextlib.contextmanager
def offloaded() -> Iterator[None]:
    """Run this block's SQLite statements (and those of tasks it starts) on the database thread."""
    token = _OFFLOADED.set(True)
    try:
        yield
    finally:
        _OFFLOADED.reset(token)


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs a statement at once when its thread is idle (see the module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_timeout_ms: int) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.busy_timeout_ms = busy_timeout_ms
        # Handed to the thread / finished by it: each counter has one writer, so no lock is needed, and
        # while they differ the thread may be using the connection.
        self._handed = 0
        self._finished = 0
        self.inline_calls = 0
        self.thread_calls = 0

    def _may_inline(self, fn: Callable[..., Any]) -> bool:
        """Scripts go to the thread, and executemany outside a transaction: each can stop as busy after some
        of its statements ran, and the retry would run those again. (Migrations, test set-up, bulk
        imports.) Inside a transaction executemany runs here: the first row's write takes the lock or
        fails having done nothing, and later rows need no lock (in WAL mode). The outbox records every
        batch of send results that way; on the thread, its transaction held the connection for a loop turn
        and every message's statements waited."""
        name = getattr(fn, "__name__", "")
        if name == "executescript":
            return False
        return name != "executemany" or bool(self._connection is not None and self._connection.in_transaction)

    def idle(self) -> bool:
        """Nothing handed to the thread is still running or queued."""
        return self._handed == self._finished

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        if self.idle() and not _OFFLOADED.get() and self._may_inline(fn):
            try:
                self.inline_calls += 1
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                # Nothing was done: the statement could not take its lock. Wait for it on the thread.
        self.thread_calls += 1
        self._handed += 1
        future = asyncio.get_running_loop().create_future()
        self._tx.put_nowait((future, partial(self._on_thread, fn, args, kwargs)))
        return await future

    def _on_thread(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        conn = self._connection
        try:
            if conn is not None and self.busy_timeout_ms:
                conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            try:
                return fn(*args, **kwargs)
            finally:
                if self._connection is not None and self.busy_timeout_ms:
                    with contextlib.suppress(sqlite3.Error):
                        self._connection.execute("PRAGMA busy_timeout = 0")
        finally:
            self._finished += 1


class Checkpointer(threading.Thread):
    """Copies the WAL into the database file every `interval` seconds, on its own thread and connection.

    PASSIVE: it copies what no reader still needs and never waits for a lock, so the service's connection
    writes on meanwhile; SQLite releases the GIL while it works."""

    def __init__(self, path: str, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        super().__init__(name="sqlite-checkpoint", daemon=True)
        self.path = path
        self.interval = interval
        self._halt = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        failed = False
        try:
            while not self._halt.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    if not failed:  # once: the next pass usually succeeds, and the log must not fill up
                        log.warning("WAL checkpoint failed; retrying every %.1f s", self.interval, exc_info=True)
                    failed = True
                    continue
                failed = False
        finally:
            conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


class InlineSqliteClient(SqliteClient):
    """Tortoise's SQLite client on an `InlineConnection`; pragmas as configured, busy_timeout kept aside, WAL
    checkpoints on a `Checkpointer` thread (file databases in WAL mode)."""

    checkpointer: Checkpointer | None = None

    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        pragmas = dict(self.pragmas)
        busy = int(pragmas.pop("busy_timeout", 5000))
        path = self.filename
        wal = str(pragmas.get("journal_mode", "")).upper() == "WAL" and path != ":memory:"
        if wal:
            pragmas["wal_autocheckpoint"] = 0
            pragmas["journal_size_limit"] = JOURNAL_SIZE_LIMIT
        # timeout=0: no waiting on the event loop's thread (a busy statement is retried on the database thread).
        connect = partial(sqlite3.connect, path, isolation_level=None, check_same_thread=False, timeout=0)
        conn = InlineConnection(connect, busy_timeout_ms=busy)
        await conn
        conn._conn.row_factory = sqlite3.Row
        for pragma, value in pragmas.items():
            cursor = await conn.execute(f"PRAGMA {pragma}={value}")
            await cursor.close()
        self._connection = conn
        if wal:
            self.checkpointer = Checkpointer(path)
            self.checkpointer.start()
        await self._post_connect()

    async def close(self) -> None:
        # The checkpointer first: the service's connection, closing last, checkpoints what is left itself.
        if self.checkpointer is not None:
            await asyncio.to_thread(self.checkpointer.stop)
            self.checkpointer = None
        await super().close()


client_class = InlineSqliteClient


def runs_inline() -> bool:
    """Whether a statement issued here now would run on the spot: SQLite through this engine, its thread
    idle, not `offloaded()`. Batching reads then only delays them (nothing is saved by sharing a hand-over)."""
    conn = getattr(connections.get("default"), "_connection", None)
    return isinstance(conn, InlineConnection) and conn.idle() and not _OFFLOADED.get()
