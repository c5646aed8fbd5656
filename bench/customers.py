"""查客户 benchmark: search latency per query kind over a million generated customers, SQLite and PostgreSQL.

Usage: .venv/bin/python bench/customers.py [--customers 1000000] [--queries 1000] [--databases sqlite,postgres]
                                           [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Per database, on a fresh database built by the migrations (a temp SQLite file, or a throwaway PostgreSQL
database created beside --pg-admin-url and dropped at the end):

1. Generate `--customers` customers, each with one car: common surnames with one- or two-character given
   names, unique mobiles on real 13x-19x prefixes, unique plates (7-character, and 8-character new-energy
   plates on one car in ten), `mobile_rev` and `plate_rev` filled as the models keep them. Rows go in with
   the driver's bulk path (sqlite3 `executemany` in one transaction; asyncpg `copy_records_to_table`), then
   ANALYZE. Twenty clerks own them round-robin.
2. Print the query plans (EXPLAIN QUERY PLAN / EXPLAIN) of one query per kind and of the follow-up lookups
   (cars of the customers found), so a sequential scan shows up.
3. Run the real app (`create_app`) on that database and time `--queries` random 查客户 queries per kind
   through the search service exactly as the handler calls it (`classify` + `search` + the reply pages):
   mobile prefix (3-7 digits of an existing mobile), mobile suffix (尾号 + its last 4), plate (a whole
   plate), plate tail (its last 4-5 characters), name (surname + first given character, or the full name).
   Then a few hundred whole turns through the webhook (signed, encrypted 查客户 from a bound clerk).
4. Print p50 / p99 / max per kind and the process's peak RSS.

Reading the cars of the customers found relies on the index on vehicle(customer_id) (migration 5); without
it the plan scans the vehicle table once per customer found, and at a million cars a single kind's warm-up
did not finish in 7 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from tortoise.connection import connections  # noqa: E402

from bot import db  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.handlers.customers import result_pages  # noqa: E402
from bot.models import Customer, Vehicle  # noqa: E402
from bot.runtime import tune_gc  # noqa: E402
from bot.services import customer_search  # noqa: E402
from bot.services.roles import Role, Speaker  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wechat.peer import WeChatPeer  # noqa: E402

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国志文斌辉宇浩然子"
    "轩梓涵一诺欣怡佳琪雨桐思远博文晨阳俊杰嘉怡"
)
MOBILE_HEADS = [f"13{d}" for d in range(10)] + ["150", "151", "152", "153", "155", "156", "157", "158", "159"]
MOBILE_HEADS += ["166", "170", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185"]
MOBILE_HEADS += ["186", "187", "188", "189", "191", "198", "199"]
PROVINCES = "粤粤粤粤京沪浙苏川鲁豫湘鄂闽"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
MODELS = ["凯美瑞", "雅阁", "朗逸", "轩逸", "卡罗拉", "帕萨特", "思域", "速腾", "宝来", "Model 3", "汉 EV", "秦PLUS"]
CLERKS = 20
KINDS = ("mobile_prefix", "mobile_suffix", "plate", "plate_tail", "name")


@dataclass
class Data:
    names: list[str]
    mobiles: list[str]
    plates: list[str]


def generate(n: int, seed: int = 7) -> Data:
    """n unique mobiles and plates and n names, deterministic per seed."""
    rng = random.Random(seed)
    mobiles: set[str] = set()
    while len(mobiles) < n:
        mobiles.add(rng.choice(MOBILE_HEADS) + f"{rng.randrange(10**8):08d}")
    plates: set[str] = set()
    while len(plates) < n:
        head = rng.choice(PROVINCES) + rng.choice(PLATE_LETTERS)
        if rng.random() < 0.1:  # new-energy: D or F then 5 digits
            plates.add(head + rng.choice("DF") + f"{rng.randrange(10**5):05d}")
        else:  # 5 characters, at most two of them letters, as plates are issued
            serial = [rng.choice(string.digits) for _ in range(5)]
            for at in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
                serial[at] = rng.choice(PLATE_LETTERS)
            plates.add(head + "".join(serial))
    names = [rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2)))) for _ in range(n)]
    mobile_list, plate_list = sorted(mobiles), sorted(plates)
    rng.shuffle(mobile_list)
    rng.shuffle(plate_list)
    return Data(names, mobile_list, plate_list)


def rows(data: Data, created: Any) -> tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]:
    customers = (
        (i + 1, data.names[i], m, m[::-1], None, i % CLERKS + 1, "import", "", created, None)
        for i, m in enumerate(data.mobiles)
    )
    vehicles = (
        (i + 1, i + 1, p, p[::-1], MODELS[i % len(MODELS)], None, None, None, None, None, None, created)
        for i, p in enumerate(data.plates)
    )
    return customers, vehicles


CUSTOMER_COLUMNS = (
    "id",
    "name",
    "mobile",
    "mobile_rev",
    "openid",
    "owner_id",
    "source",
    "note",
    "created_at",
    "updated_at",
)
VEHICLE_COLUMNS = (
    "id",
    "customer_id",
    "plate",
    "plate_rev",
    "model",
    "vin",
    "purchase_date",
    "mileage",
    "mileage_at",
    "last_service_at",
    "last_service",
    "created_at",
)
STAFF_COLUMNS = ("id", "name", "mobile", "role", "active", "openid", "tagged", "created_at", "bound_at")


def staff_rows(created: Any) -> list[tuple[Any, ...]]:
    return [
        (i, f"顾问{i}", f"1390000{i:04d}", "clerk", True, f"o_bench_clerk{i}", False, created, created)
        for i in range(1, CLERKS + 1)
    ]


def load_sqlite(path: str, data: Data) -> None:
    # The ORM's own text form of an aware UTC datetime, as its SQLite backend writes it.
    created = str(Customer._meta.fields_map["created_at"].to_db_value(datetime.now(UTC), Customer))
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    customers, vehicles = rows(data, created)
    with con:
        con.executemany(_insert("staff", STAFF_COLUMNS, "?"), staff_rows(created))
        con.executemany(_insert("customer", CUSTOMER_COLUMNS, "?"), customers)
        con.executemany(_insert("vehicle", VEHICLE_COLUMNS, "?"), vehicles)
    con.execute("ANALYZE")
    con.close()


async def load_postgres(url: str, data: Data) -> None:
    created = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        customers, vehicles = rows(data, created)
        await conn.copy_records_to_table("staff", records=staff_rows(created), columns=STAFF_COLUMNS)
        await conn.copy_records_to_table("customer", records=customers, columns=CUSTOMER_COLUMNS)
        await conn.copy_records_to_table("vehicle", records=vehicles, columns=VEHICLE_COLUMNS)
        for table in ("staff", "customer", "vehicle"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _insert(table: str, columns: tuple[str, ...], p: str) -> str:
    cols = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join([p] * len(columns))})'


def queries(data: Data, kind: str, count: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        i = rng.randrange(len(data.mobiles))
        mobile, plate, name = data.mobiles[i], data.plates[i], data.names[i]
        if kind == "mobile_prefix":
            out.append(mobile[: rng.randint(3, 7)])
        elif kind == "mobile_suffix":
            out.append("尾号" + mobile[-4:])
        elif kind == "plate":
            out.append(plate)
        elif kind == "plate_tail":
            out.append(plate[-rng.randint(4, 5) :])
        else:
            out.append(name if rng.random() < 0.5 else name[:2])
    return out


async def explain(dialect: str) -> None:
    conn = connections.get("default")
    samples = {"mobile_prefix": "1380", "mobile_suffix": "尾号5678", "plate": "粤A12345", "plate_tail": "2345"}
    samples["name"] = "张伟"
    for kind, text in samples.items():
        sql, params = customer_search.matching_sql(customer_search.classify(text), dialect, 51)
        print(f"  plan {kind}: {await _plan(conn, dialect, sql, params)}")
    sql = customer_search.details_sql(2, dialect)
    params: list[Any] = [[1, 2]] if dialect == "postgres" else [1, 2]
    print(f"  plan customers found, owners and cars: {await _plan(conn, dialect, sql, params)}")


async def _plan(conn: Any, dialect: str, sql: str, params: list[Any]) -> str:
    if dialect == "postgres":
        plan = await conn.execute_query_dict(f"EXPLAIN {sql}", params)
        return " | ".join(str(r["QUERY PLAN"]).strip() for r in plan)
    plan = await conn.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}", params)
    return " | ".join(str(r["detail"]) for r in plan)


CLERK = Speaker(Role.CLERK, 1, "顾问1")


async def one_search(text: str) -> int:
    found = await customer_search.search(customer_search.classify(text))
    if found.hits:
        result_pages(CLERK, found)
    return len(found.hits)


async def timed(run: Callable[[str], Awaitable[Any]], texts: list[str]) -> list[float]:
    for text in texts[:20]:  # warm-up: caches, prepared statements
        await run(text)
    out = []
    for text in texts:
        started = time.perf_counter()
        await run(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(label: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"  {label:<14} n={len(ms):<5} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {ms[-1]:6.2f} ms"


async def bench_database(dialect: str, url: str, data: Data, args: argparse.Namespace) -> None:
    settings = Settings(database_url=url, run_background_tasks=False, sandbox=True)
    await db.migrate(settings)
    started = time.perf_counter()
    if dialect == "sqlite":
        await asyncio.to_thread(load_sqlite, url.removeprefix("sqlite://"), data)
    else:
        await load_postgres(url, data)
    loaded = time.perf_counter() - started
    print(f"{dialect}: loaded {len(data.mobiles):,} customers + cars in {loaded:.1f} s")
    server = TestServer(create_app(settings))
    client = TestClient(server)
    await client.start_server()
    try:
        await explain(dialect)
        assert await Vehicle.all().count() == len(data.plates)
        rng = random.Random(11)
        for kind in KINDS:
            texts = queries(data, kind, args.queries, rng)
            print(summary(kind, await timed(one_search, texts)), flush=True)
        peer = WeChatPeer.for_settings(settings)

        async def through_webhook(text: str) -> None:
            request = peer.sign(peer.text("o_bench_clerk1", f"查客户 {text}"))
            resp = await client.post("/wechat", params=request.query, data=request.body)
            reply = peer.open_reply(request, await resp.read())
            assert resp.status == 200 and reply is not None and "客户" in reply, reply

        texts = [t for kind in KINDS for t in queries(data, kind, args.webhook_queries // len(KINDS), rng)]
        rng.shuffle(texts)
        print(summary("webhook (all)", await timed(through_webhook, texts)), flush=True)
    finally:
        await client.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000, help="timed queries per kind")
    parser.add_argument("--webhook-queries", type=int, default=500)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    databases = args.databases.split(",")
    started = time.perf_counter()
    data = generate(args.customers)
    print(f"generated {args.customers:,} customers in {time.perf_counter() - started:.1f} s")
    # As `python -m bot serve` does after start-up; here it also keeps the collector from rescanning the
    # generated rows (which a server would not hold) in the middle of timed queries.
    tune_gc()
    for dialect in databases:
        if dialect == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                await bench_database("sqlite", f"sqlite://{os.path.join(tmp, 'bench.sqlite3')}", data, args)
        else:
            name = f"fourdesk_bench_{uuid.uuid4().hex[:10]}"
            admin = await asyncpg.connect(args.pg_admin_url)
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                await bench_database("postgres", f"{args.pg_admin_url.rsplit('/', 1)[0]}/{name}", data, args)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    arguments = parse_args()
    if "," in arguments.databases:
        # One process per database: a fresh ORM state each, and a peak RSS that is that database's alone.
        for name in arguments.databases.split(","):
            argv = [a for a in sys.argv[1:] if not a.startswith("--databases")]
            subprocess.run([sys.executable, __file__, *argv, f"--databases={name}"], check=True)
    else:
        asyncio.run(main(arguments))
