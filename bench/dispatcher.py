"""Outbox dispatcher throughput: N queued template messages sent by one dispatcher to the WeChat emulator.

Usage: .venv/bin/python bench/dispatcher.py [--messages 20000] [--batch 200] [--databases sqlite,postgres]

Per database: a fresh migrated database (a temp SQLite file, or a throwaway PostgreSQL database created beside
`--pg-admin-url` and dropped afterwards) gets N appointment-reminder rows, one per openid, inserted in bulk.
The WeChat API emulator (`bot.wechat.sandbox`, every openid following) runs in a separate process and is
reached over real HTTP on localhost, so the dispatcher's process holds our side of each call only. One
`OutboxDispatcher` (the production class, with the production `WeChatClient` and the database token store)
then runs `run_once` until nothing is due; that span is timed.

Printed per database: messages/s, p50/p99 of the HTTP send latency (request start to response end, from an
aiohttp trace), and the dispatcher process's peak RSS. Afterwards every row must be SENT with a msgid and
the emulator must have delivered exactly N messages (one per openid).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from tortoise.transactions import in_transaction

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import db
from bot.models import OutboxKind, OutboxMessage, OutboxStatus
from bot.services import outbox
from bot.settings import SANDBOX_APPID, SANDBOX_SECRET, Settings
from bot.wechat.api import WeChatClient
from bot.wechat.dispatcher import OutboxDispatcher
from bot.wechat.tokens import DatabaseTokenStore

TEMPLATE = "TPL_APPT_REMINDER"
SEND_PATH = "/cgi-bin/message/template/send"


def openid(i: int) -> str:
    return f"o_bench{i:07d}"


# --- the emulator, in its own process ------------------------------------------------------------------


async def _emulate(conn: Connection, count: int) -> None:
    from aiohttp import web

    from bot.app import sandbox_state_for
    from bot.wechat.sandbox import create_sandbox_app

    state = sandbox_state_for(Settings())
    for i in range(count):
        state.follow(openid(i))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(create_sandbox_app(state), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    conn.send(sock.getsockname()[1])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    conn.send(sum(len(state.inbox(openid(i))) for i in range(count)))
    await runner.cleanup()


def emulator_main(conn: Connection, count: int) -> None:
    asyncio.run(_emulate(conn, count))


# --- the database --------------------------------------------------------------------------------------


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fill(count: int, now: datetime) -> None:
    """N due template rows, inserted in bulk (the producers' cost is not what this measures)."""
    fields = OutboxMessage._meta.fields_map
    at = fields["next_attempt_at"].to_db_value(now, OutboxMessage)
    payload = fields["payload"].to_db_value(
        {
            "template_id": TEMPLATE,
            "data": {
                "character_string1": "A20261129001",
                "thing2": "常规保养",
                "time3": "11月29日 15:00",
                "car_number4": "粤A12345",
            },
            "url": None,
        },
        OutboxMessage,
    )
    p = outbox.placeholder()
    sql = (
        'INSERT INTO "outbox_message" ("kind", "openid", "payload", "status", "attempts", "next_attempt_at", '
        f'"client_msg_id", "purpose", "created_at") VALUES ({p}1, {p}2, {p}3, {p}4, 0, {p}5, {p}6, {p}7, {p}5)'
    )
    rows = [
        [OutboxKind.TEMPLATE.value, openid(i), payload, OutboxStatus.PENDING.value, at, uuid.uuid4().hex, "bench"]
        for i in range(count)
    ]
    async with in_transaction() as conn:
        await conn.execute_many(sql, rows)


# --- one run -------------------------------------------------------------------------------------------


async def run(url: str, api_base: str, count: int, batch: int) -> dict[str, float]:
    settings = Settings(database_url=url)
    await db.migrate(settings)
    await db.connect(settings)
    try:
        now = datetime.now(UTC)
        await fill(count, now)
        latencies: list[float] = []

        async def started(_s: aiohttp.ClientSession, ctx: types.SimpleNamespace, params: object) -> None:
            ctx.t0 = time.perf_counter()

        async def ended(_s: aiohttp.ClientSession, ctx: types.SimpleNamespace, params: object) -> None:
            if str(getattr(params, "url", "")).find(SEND_PATH) >= 0:
                latencies.append(time.perf_counter() - ctx.t0)

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(started)
        trace.on_request_end.append(ended)
        connector = aiohttp.TCPConnector(limit=batch)
        async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
            client = WeChatClient(
                session, appid=SANDBOX_APPID, secret=SANDBOX_SECRET, api_base=api_base, store=DatabaseTokenStore()
            )
            await client.access_token()
            dispatcher = OutboxDispatcher(client, batch=batch)
            t0 = time.perf_counter()
            sent = 0
            while n := await dispatcher.run_once():
                sent += n
            elapsed = time.perf_counter() - t0
        done = await OutboxMessage.filter(status=OutboxStatus.SENT, wechat_msgid__isnull=False).count()
        if done != count or sent != count:
            raise SystemExit(f"only {done} of {count} rows sent ({sent} attempted)")
        latencies.sort()
        return {
            "rate": count / elapsed,
            "elapsed": elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        await db.disconnect()


def bench_one(kind: str, count: int, batch: int, pg_admin_url: str) -> dict[str, float]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    emulator = multiprocessing.get_context("spawn").Process(target=emulator_main, args=(child, count), daemon=True)
    emulator.start()
    port = parent.recv()
    api_base = f"http://127.0.0.1:{port}"
    name = ""
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "postgres":
            name = f"fourdesk_bench_{secrets.token_hex(6)}"
            asyncio.run(_pg_admin(pg_admin_url, f'CREATE DATABASE "{name}"'))
            url = f"{pg_admin_url.rsplit('/', 1)[0]}/{name}"
        else:
            url = f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        try:
            result = asyncio.run(run(url, api_base, count, batch))
        finally:
            parent.send("stop")
            delivered = parent.recv()
            emulator.join(10)
            if name:
                asyncio.run(_pg_admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if delivered != count:
        raise SystemExit(f"the emulator delivered {delivered} messages, expected {count}")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--databases", default="sqlite,postgres")
    p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--pg-admin-url", default=os.environ.get("BOT_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test")
    )
    args = p.parse_args()
    kinds = args.databases.split(",")
    if len(kinds) > 1:
        # One process per database: a clean ORM and migration state, and a peak RSS of its own.
        print(f"{args.messages} template messages, one dispatcher (batch {args.batch}), emulator in another process")
        for kind in kinds:
            argv = [sys.argv[0], "--messages", str(args.messages), "--batch", str(args.batch), "--databases", kind]
            subprocess.run([sys.executable, *argv, "--pg-admin-url", args.pg_admin_url, "--quiet"], check=True)
        return
    if not args.quiet:
        print(f"{args.messages} template messages, one dispatcher (batch {args.batch}), emulator in another process")
    for kind in kinds:
        r = bench_one(kind, args.messages, args.batch, args.pg_admin_url)
        print(
            f"{kind:<9} {r['rate']:7.0f} msgs/s  ({r['elapsed']:.1f} s)  send latency p50 {r['p50']:.1f} ms"
            f"  p99 {r['p99']:.1f} ms  peak RSS {r['rss']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
