"""Group commit: concurrent calls coalesce into one database round trip.

While one batch is being written, new calls queue up and go together in the next one. On SQLite (one
connection, one writer, a disk sync per commit) this turns N commits into one; on PostgreSQL it turns N
round trips into one. Callers still wait for their own row to be written: nothing is acknowledged early.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Generic, TypeVar

from tortoise.connection import connections

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def as_columns(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """A batch's rows as one list per column, for PostgreSQL's `unnest($1::type[], $2::type[], ...)`.

    Sent as arrays, a batch of any size is the same statement text, which asyncpg prepares once per
    connection. A VALUES list with a row of placeholders per item is a new statement for every batch size:
    asyncpg prepared it anew (a round trip more, and PostgreSQL parsing and planning it) for nine batches in
    ten, and the stream of one-off statements evicted the ones every message uses from its cache."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def pg_arrays(types: Iterable[str], first: int = 1) -> str:
    """PostgreSQL array parameters "$first::type[], ..." for `types` (a jsonb column is sent as text[])."""
    return ", ".join(f"${n}::{'text' if kind == 'jsonb' else kind}[]" for n, kind in enumerate(types, first))


def insert_rows(
    rows: Sequence[Sequence[object]], pg_types: Sequence[str], constants: str = ""
) -> tuple[str, list[object]]:
    """What follows `INSERT INTO t (columns)` for a batch of rows, and its parameters: on PostgreSQL
    `SELECT * FROM unnest($1::type[], ...)`, one array per column (`as_columns`), on SQLite a VALUES list.
    `constants` (", TRUE, FALSE") are appended to every row."""
    if connections.get("default").capabilities.dialect == "postgres":
        return f"SELECT *{constants} FROM unnest({pg_arrays(pg_types)})", list(as_columns(rows, len(pg_types)))
    row = "(" + ", ".join("?" * len(pg_types)) + constants + ")"
    return "VALUES " + ", ".join(row for _ in rows), [value for values in rows for value in values]


class Coalescer(Generic[T, R]):
    """Calls `run(items)` with every item submitted while the previous batch ran; results come back in order.

    `parallel` (called when a batch could start) is how many batches may be in flight at once: 1 (the
    default) makes every call wait for the batch in flight before its own goes, which turns N commits into
    one where there is one writer (SQLite). Above 1, a call arriving while batches are in flight goes out
    at the next turn of the loop in a batch of its own: it waits for one round trip, not up to two. Only
    for items whose batches may land in any order (one user's saves are never in flight together)."""

    def __init__(
        self,
        run: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        max_batch: int = 500,
        parallel: Callable[[], int] | None = None,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._parallel = parallel
        self._pending: list[tuple[T, asyncio.Future[R] | None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting = False  # a drain was created and has not yet taken the pending items
        self._draining = 0  # drains created and not yet finished
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        future = self._enqueue(item, wait=True)
        assert future is not None
        return await future

    def submit(self, item: T) -> None:
        """Queue `item` without waiting for it (write-behind); a failed batch is logged."""
        self._enqueue(item, wait=False)

    async def flush(self) -> None:
        """Wait until everything queued so far has been written (shutdown, tests)."""
        if self._loop is not asyncio.get_running_loop():
            return  # what another event loop queued went with it (tests run one loop each)
        while self._tasks:
            await asyncio.shield(asyncio.gather(*self._tasks, return_exceptions=True))

    def _enqueue(self, item: T, *, wait: bool) -> asyncio.Future[R] | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): forget the old one's state
            self._loop, self._pending, self._starting, self._draining, self._tasks = loop, [], False, 0, set()
        future: asyncio.Future[R] | None = loop.create_future() if wait else None
        self._pending.append((item, future))
        if not self._starting and self._draining < (self._parallel() if self._parallel else 1):
            self._starting, self._draining = True, self._draining + 1
            # A clean context: the batch must not run inside whatever transaction the first caller is in.
            task = loop.create_task(self._drain(), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _drain(self) -> None:
        try:
            await self._drain_pending()
        finally:
            self._draining -= 1

    async def _drain_pending(self) -> None:
        while self._pending:
            self._starting = False
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as exc:
                waiting = [f for _, f in batch if f is not None and not f.done()]
                for waiter in waiting:
                    waiter.set_exception(exc)
                if len(waiting) < len(batch):
                    log.error("a write-behind batch failed: %r", exc)
                results = None
            if results is not None:
                for (_, future), result in zip(batch, results, strict=True):
                    if future is not None and not future.done():
                        future.set_result(result)
            if self._starting:
                return  # a newer drain takes what is pending
