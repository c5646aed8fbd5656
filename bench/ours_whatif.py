"""What-if runs of the "ours" webhook benchmark: the same load, with candidate bot/ changes patched in the server.

Usage: .venv/bin/python bench/ours_whatif.py [--variants baseline,sync-normal,...] [--users 64] [--duration 10]

Nothing in bot/ is edited: each variant monkeypatches the server process only, to put numbers on a suggested
change before anyone makes it. Patches:
- sync-normal:  SQLite `PRAGMA synchronous=NORMAL` (the usual WAL setting; no fsync per commit) via the
                Tortoise credentials in `bot.db.tortoise_config`;
- raw-dedupe:   `dedupe.claim` / `dedupe.finish` as one raw SQL statement each instead of Model.create /
                QuerySet.update (measures the ORM's share);
- group-finish: `dedupe.finish` queued and written by one flusher task, many rows per transaction
                (group commit; claims stay one by one because the handler must wait for them);
- group-dedupe: claims and finishes of all in-flight messages written in one transaction per batch (one
                aiosqlite hop, one commit); a claim is still committed before its handler runs;
- memory-dedupe: claims answered from a process-local map, durable rows written behind in unawaited batches
                (one upsert per message: an upper bound for "dedupe off the hot path");
- gc-tune:      `gc.freeze()` after imports and a gen-0 threshold of 50 000 (is the p99 tail the collector?);
- no-finish:    `dedupe.finish` does nothing: an upper bound for "one write per message" (NOT a valid design:
                retries would get "success" instead of the reply);
- quiet-log:    server log level WARNING (no per-message INFO line);
- switch-0.5ms: `sys.setswitchinterval(0.0005)` (default 5 ms): how much the aiosqlite thread waits for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # bench/webhook.py, run as a plain script

# A variant is "baseline" or patch names joined by "+"; these run by default, in this order.
DEFAULT_VARIANTS = (
    "baseline",
    "quiet-log",
    "gc-tune",
    "sync-normal",
    "sync-normal+raw-dedupe",
    "group-finish",
    "sync-normal+group-finish",
    "sync-normal+no-finish",
    "group-dedupe",
    "sync-normal+group-dedupe",
    "sync-normal+group-dedupe+gc-tune",
    "memory-dedupe",
    "memory-dedupe+gc-tune+quiet-log",
)


def patches_of(variant: str) -> tuple[str, ...]:
    return () if variant == "baseline" else tuple(variant.split("+"))


def _sync_normal() -> None:
    from bot import db

    original = db.tortoise_config

    def config(url: str) -> dict[str, Any]:
        cfg = original(url)
        conn = cfg["connections"]["default"]
        if isinstance(conn, dict):
            conn["credentials"]["synchronous"] = "NORMAL"
        return cfg

    db.tortoise_config = config


def _raw_dedupe() -> None:
    from datetime import datetime

    from tortoise.connection import connections
    from tortoise.exceptions import IntegrityError

    from bot.models import ProcessedMessage
    from bot.services import dedupe

    received = ProcessedMessage._meta.fields_map["received_at"]
    original_claim = dedupe.claim

    async def claim(key: str, now: datetime) -> dedupe.Claim:
        conn = connections.get("default")
        try:
            await conn.execute_insert(
                'INSERT INTO "processed_message" ("key", "received_at", "done") VALUES (?, ?, 0)',
                [key, received.to_db_value(now, ProcessedMessage)],
            )
        except IntegrityError:
            return await original_claim(key, now)
        return dedupe.Claim(first=True)

    async def finish(key: str, reply: str | None) -> None:
        await connections.get("default").execute_query(
            'UPDATE "processed_message" SET "done" = 1, "reply" = ? WHERE "key" = ?', [reply, key]
        )

    dedupe.claim = claim
    dedupe.finish = finish


def _group_finish() -> None:
    from tortoise.connection import connections

    from bot.services import dedupe

    pending: list[list[Any]] = []
    waiters: list[asyncio.Future[None]] = []
    state = {"running": False}
    tasks: set[asyncio.Task[None]] = set()  # keep flushers referenced until done

    async def flush() -> None:
        try:
            while pending:
                batch, futures = pending[:], waiters[:]
                pending.clear()
                waiters.clear()
                try:
                    await connections.get("default").execute_many(
                        'UPDATE "processed_message" SET "done" = 1, "reply" = ? WHERE "key" = ?', batch
                    )
                except Exception as exc:
                    for f in futures:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                for f in futures:
                    if not f.done():
                        f.set_result(None)
        finally:
            state["running"] = False
            tasks.clear()

    async def finish(key: str, reply: str | None) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending.append([reply, key])
        waiters.append(fut)
        if not state["running"]:
            state["running"] = True
            tasks.add(asyncio.get_running_loop().create_task(flush()))
        await fut

    dedupe.finish = finish


def _group_dedupe() -> None:
    """Claims and finishes from all in-flight messages written together: one transaction (one commit, one
    aiosqlite thread hop) per batch. A claim is still committed before its handler runs."""
    import sqlite3
    from datetime import datetime

    from tortoise.connection import connections

    from bot.models import ProcessedMessage
    from bot.services import dedupe

    received = ProcessedMessage._meta.fields_map["received_at"]
    ops: list[tuple[str, str, Any]] = []
    futures: list[asyncio.Future[Any]] = []
    state = {"running": False}
    tasks: set[asyncio.Task[None]] = set()  # keep flushers referenced until done

    def write_batch(conn: sqlite3.Connection, batch: list[tuple[str, str, Any]]) -> list[Any]:
        # Runs in aiosqlite's thread: BEGIN, one statement per op, COMMIT.
        out: list[Any] = []
        conn.execute("BEGIN")
        try:
            for kind, key, value in batch:
                if kind == "claim":
                    cur = conn.execute(
                        'INSERT OR IGNORE INTO "processed_message" ("key", "received_at", "done") VALUES (?, ?, 0)',
                        (key, value),
                    )
                    if cur.rowcount == 1:
                        out.append(dedupe.Claim(first=True))
                    else:
                        row = conn.execute(
                            'SELECT "done", "reply" FROM "processed_message" WHERE "key" = ?', (key,)
                        ).fetchone()
                        out.append(dedupe.Claim(first=False, done=bool(row[0]), reply=row[1]))
                else:
                    conn.execute('UPDATE "processed_message" SET "done" = 1, "reply" = ? WHERE "key" = ?', (value, key))
                    out.append(None)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return out

    async def flush() -> None:
        try:
            while ops:
                batch, waiting = ops[:], futures[:]
                ops.clear()
                futures.clear()
                try:
                    async with connections.get("default").acquire_connection() as aconn:
                        results = await aconn._execute(write_batch, aconn._conn, batch)
                except Exception as exc:
                    for f in waiting:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                for f, r in zip(waiting, results, strict=True):
                    if not f.done():
                        f.set_result(r)
        finally:
            state["running"] = False
            tasks.clear()

    async def submit(op: tuple[str, str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        ops.append(op)
        futures.append(fut)
        if not state["running"]:
            state["running"] = True
            tasks.add(loop.create_task(flush()))
        return await fut

    async def claim(key: str, now: datetime) -> dedupe.Claim:
        result: dedupe.Claim = await submit(("claim", key, received.to_db_value(now, ProcessedMessage)))
        return result

    async def finish(key: str, reply: str | None) -> None:
        await submit(("finish", key, reply))

    dedupe.claim = claim
    dedupe.finish = finish


def _memory_dedupe() -> None:
    """Claims answered from a process-local map; the durable rows are written behind, in batches nobody awaits.
    Safe for WeChat's retries (they come >= 5 s later, batches land within milliseconds) and for read-only
    turns; a turn with business writes would put its claim row into its own transaction instead."""
    import sqlite3
    from datetime import UTC, datetime

    from tortoise.connection import connections

    from bot.models import ProcessedMessage
    from bot.services import dedupe

    received = ProcessedMessage._meta.fields_map["received_at"]
    local: dict[str, dedupe.Claim] = {}  # a real version would bound this (LRU of the last minutes)
    pending: list[tuple[str, Any, str | None]] = []
    state = {"running": False}
    tasks: set[asyncio.Task[None]] = set()

    def write_batch(conn: sqlite3.Connection, batch: list[tuple[str, Any, str | None]]) -> None:
        conn.execute("BEGIN")
        try:
            conn.executemany(
                'INSERT INTO "processed_message" ("key", "received_at", "done", "reply") VALUES (?, ?, 1, ?) '
                'ON CONFLICT ("key") DO UPDATE SET "done" = 1, "reply" = excluded."reply"',
                batch,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def flush() -> None:
        try:
            while pending:
                batch = pending[:]
                pending.clear()
                async with connections.get("default").acquire_connection() as aconn:
                    await aconn._execute(write_batch, aconn._conn, batch)
        finally:
            state["running"] = False
            tasks.clear()

    async def claim(key: str, now: datetime) -> dedupe.Claim:
        seen = local.get(key)
        if seen is not None:
            return seen
        local[key] = dedupe.Claim(first=False, done=False)
        return dedupe.Claim(first=True)

    async def finish(key: str, reply: str | None) -> None:
        local[key] = dedupe.Claim(first=False, done=True, reply=reply)
        pending.append((key, received.to_db_value(datetime.now(UTC), ProcessedMessage), reply))
        if not state["running"]:
            state["running"] = True
            tasks.add(asyncio.get_running_loop().create_task(flush()))

    dedupe.claim = claim
    dedupe.finish = finish


def _gc_freeze() -> None:
    import gc

    import bot.app  # noqa: F401  (import the service's modules first, so freeze covers them)

    gc.collect()
    gc.freeze()  # everything imported so far is never scanned again
    gc.set_threshold(50_000, 20, 100)


def _no_finish() -> None:
    from bot.services import dedupe

    async def finish(key: str, reply: str | None) -> None:
        return None

    dedupe.finish = finish


PATCHES: dict[str, Callable[[], None]] = {
    "sync-normal": _sync_normal,
    "raw-dedupe": _raw_dedupe,
    "group-finish": _group_finish,
    "group-dedupe": _group_dedupe,
    "memory-dedupe": _memory_dedupe,
    "gc-tune": _gc_freeze,
    "no-finish": _no_finish,
    "quiet-log": lambda: None,  # applied through the log level
    "switch-0.5ms": lambda: sys.setswitchinterval(0.0005),
}


def patched_server_main(
    kind: str, workdir: str, log_level: str, profile: str | None, conn: Connection, patches: tuple[str, ...]
) -> None:
    for name in patches:
        PATCHES[name]()
    webhook.server_main(kind, workdir, "WARNING" if "quiet-log" in patches else log_level, profile, conn)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated; each 'baseline' or patches joined by '+', from {', '.join(PATCHES)}",
    )
    p.add_argument("--users", type=int, default=64)
    p.add_argument("--messages", type=int, default=50000)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup-per-user", type=int, default=5)
    ns = p.parse_args(argv)
    variants = [v.strip() for v in ns.variants.split(",") if v.strip()]
    unknown = [v for v in variants if any(x not in PATCHES for x in patches_of(v))]
    if unknown or not variants:
        p.error(f"unknown variants {unknown}")
    args = webhook.parse_args(
        [
            "--servers=ours",
            f"--users={ns.users}",
            f"--messages={ns.messages}",
            f"--duration={ns.duration}",
            f"--warmup-per-user={ns.warmup_per_user}",
        ]
    )
    rows: list[tuple[str, webhook.Row]] = []
    for name in variants:
        print(f"running ours [{name}] ...", flush=True)
        row, _ = webhook.run_one("ours", args, patched_server_main, (patches_of(name),))
        rows.append((name, row))
    print()
    print(f"ours what-ifs: {ns.users} users, closed loop, up to {ns.messages} messages or {ns.duration:g} s each")
    header = (
        f"{'variant':<36} {'msg/s':>7} {'x base':>6} {'p50 ms':>7} {'p99 ms':>7} {'srv CPU%':>8} {'loop CPU%':>9} "
        f"{'srv us/msg':>10} {'client CPU%':>11} {'non-200':>7} {'checked':>8}"
    )
    print(header)
    print("-" * len(header))
    base = rows[0][1].rate or 1.0
    for name, r in rows:
        print(
            f"{name:<36} {r.rate:>7.0f} {r.rate / base:>6.2f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{r.server_cpu_pct:>8.0f} {r.loop_cpu_pct:>9.0f} {r.server_us_per_msg:>10.0f} "
            f"{r.client_cpu_pct:>11.0f} {r.non_200:>7} "
            f"{r.checked - r.bad_replies:>4}/{r.checked}"
        )
    print(f"('x base' is relative to the first variant, {rows[0][0]})")
    return 1 if any(r.non_200 or r.bad_replies for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
