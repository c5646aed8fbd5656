"""Scheduler benchmark: one scheduler pass (the maintenance rule is the heavy one) over N generated customers.

Usage: .venv/bin/python bench/scheduler.py [--customers 100000,1000000] [--databases sqlite,postgres]
                                           [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Per database and customer count, on a fresh database built by the migrations:

1. A loader process streams the generated rows in with the driver's bulk path (sqlite3 `executemany`,
   asyncpg `copy_records_to_table`): N customers (every other one on WeChat), one car each with a purchase
   date, a last service and two odometer readings (2N readings), 20 clerks owning them round-robin and a
   manager. Cars are spread so a pass finds about 1% due for maintenance, 1% of customers not back for 12
   months (lost) and 2% due but already booked in (a booked appointment each, so skipped).
2. A fresh process runs `Scheduler.run_once` at 10:05 store time (maintenance, the per-pass rules, the
   morning jobs) twice: the first pass queues the reminders and tasks, the second is the steady state of
   every later pass that day (everything already queued). It prints each pass's time, what it queued, and
   the process's peak RSS; the pass streams customers in keyset batches, so the peak does not grow with N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bot import db  # noqa: E402
from bot.models import Customer, OutboxMessage, Task  # noqa: E402
from bot.services import schedule  # noqa: E402
from bot.services.reminders import Context  # noqa: E402
from bot.services.scheduler import Scheduler  # noqa: E402
from bot.settings import Settings  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 10, 5, tzinfo=TZ)
TODAY = NOW.date()
CLERKS = 20

CUSTOMER = ("id", "name", "mobile", "mobile_rev", "openid", "owner_id", "source", "note", "created_at", "lost_at")
VEHICLE = ("id", "customer_id", "plate", "plate_rev", "purchase_date", "mileage", "mileage_at", "last_service_at")
VEHICLE += ("created_at",)
READING = ("vehicle_id", "km", "at", "source")
APPOINTMENT = ("id", "reference", "customer_id", "vehicle_id", "service", "start_at", "end_at", "status", "source")
APPOINTMENT += ("changes", "created_at", "updated_at", "note")
STAFF = ("id", "name", "mobile", "role", "active", "openid", "tagged", "created_at", "bound_at")


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=TZ).astimezone(UTC)


def _kind(i: int) -> int:
    """A well-spread per-mille bucket for customer `i`."""
    return (i * 2654435761) % 1000


def generate(n: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for every generated row, in insertion order, one customer at a time (nothing kept)."""
    created = NOW.astimezone(UTC)
    for i in range(1, CLERKS + 1):
        yield "staff", (i, f"顾问{i}", f"1390000{i:04d}", "clerk", True, f"o_clerk{i}", False, created, created)
    yield "staff", (CLERKS + 1, "店长", "13900009999", "manager", True, "o_boss", False, created, created)
    for i in range(1, n + 1):
        mobile = f"13{i:09d}"
        plate = f"粤Z{i:07d}"  # unique; the plate format is not what this benchmark measures
        yield (
            "customer",
            (
                i,
                f"客户{i}",
                mobile,
                mobile[::-1],
                f"o_b{i}" if i % 2 else None,
                i % CLERKS + 1,
                "import",
                "",
                created,
                None,
            ),
        )
        bucket = _kind(i)
        if bucket < 10:  # due: serviced 160-199 days ago
            ago = 160 + i % 40
        elif bucket < 20:  # lost: serviced 400-499 days ago
            ago = 400 + i % 100
        elif bucket < 40:  # due, but booked in
            ago = 170
        else:
            ago = 10 + i % 130
        serviced = TODAY - timedelta(days=ago)
        km_then = 10000 + i % 40000
        km_now = km_then + 20 * (ago - 5)
        read_on = TODAY - timedelta(days=5)
        yield (
            "vehicle",
            (
                i,
                i,
                plate,
                plate[::-1],
                serviced - timedelta(days=900),
                km_now,
                _noon(read_on),
                _noon(serviced),
                created,
            ),
        )
        yield "mileage_reading", (i, km_then, _noon(serviced), "import")
        yield "mileage_reading", (i, km_now, _noon(read_on), "import")
        if 20 <= bucket < 40:
            start = datetime(2026, 12, 1 + i % 20, 9, tzinfo=TZ).astimezone(UTC)
            yield (
                "appointment",
                (
                    i,
                    f"B{i}",
                    i,
                    i,
                    "maintenance",
                    start,
                    start + timedelta(hours=1),
                    "booked",
                    "self",
                    0,
                    created,
                    created,
                    "",
                ),
            )


COLUMNS = {
    "staff": STAFF,
    "customer": CUSTOMER,
    "vehicle": VEHICLE,
    "mileage_reading": READING,
    "appointment": APPOINTMENT,
}


def _sqlite_value(value: Any) -> Any:
    # The ORM's own text forms: "2026-11-28 02:05:00+00:00" for datetimes, ISO dates.
    if isinstance(value, datetime):
        return str(value.astimezone(UTC))
    if isinstance(value, date):
        return value.isoformat()
    return value


def _insert(table: str, p: str) -> str:
    cols = ", ".join(f'"{c}"' for c in COLUMNS[table])
    return f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join([p] * len(COLUMNS[table]))})'


def _chunks(n: int, size: int = 50_000) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    count = 0
    for table, row in generate(n):
        out[table].append(row)
        count += 1
        if count >= size:
            yield out
            out, count = {t: [] for t in COLUMNS}, 0
    yield out


def load_sqlite(path: str, n: int) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    with con:
        for chunk in _chunks(n):
            for table, rows in chunk.items():
                if rows:
                    con.executemany(_insert(table, "?"), ([_sqlite_value(v) for v in r] for r in rows))
    con.execute("ANALYZE")
    con.close()


async def load_postgres(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        for chunk in _chunks(n):
            for table, rows in chunk.items():
                if rows:
                    await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
        for table in ("staff", "customer", "vehicle", "mileage_reading", "appointment"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def load(url: str, n: int) -> None:
    await db.migrate(Settings(database_url=url))
    if url.startswith("sqlite://"):
        await asyncio.to_thread(load_sqlite, url.removeprefix("sqlite://"), n)
    else:
        await load_postgres(url, n)


async def one_pass(url: str) -> None:
    settings = Settings(database_url=url, run_background_tasks=False)
    await db.connect(settings)
    try:
        await schedule.ensure_defaults("Asia/Shanghai")
        worker = Scheduler(lambda now: Context(now, TZ, settings.quiet_start, settings.quiet_end))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for label in ("first pass", "second pass"):
            worker.last_day.clear()  # as a fresh worker would: every morning job runs again
            started = time.perf_counter()
            done = await worker.run_once(NOW.astimezone(UTC))
            took = time.perf_counter() - started
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  {label}: {took:.1f} s, queued {sum(done.values()):,} ({done}), peak RSS {rss:.0f} MB", flush=True)
        lost = await Customer.filter(lost_at__isnull=False).count()
        print(
            f"  tasks {await Task.all().count():,}, outbox {await OutboxMessage.all().count():,}, lost {lost:,}; "
            f"peak RSS before the passes {rss_before:.0f} MB",
            flush=True,
        )
    finally:
        await db.disconnect()


def run_case(dialect: str, n: int, pg_admin_url: str) -> None:
    """Load a fresh database in one process, then time the passes in another (a clean peak RSS)."""
    here = str(Path(__file__).resolve())

    def child(*argv: str) -> None:
        subprocess.run([sys.executable, here, *argv], check=True)

    print(f"{dialect}, {n:,} customers:", flush=True)
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite://{os.path.join(tmp, 'bench.sqlite3')}"
            started = time.perf_counter()
            child("--load", url, "--customers", str(n))
            print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
            child("--pass", url)
        return
    name = f"fourdesk_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"{pg_admin_url.rsplit('/', 1)[0]}/{name}"
        started = time.perf_counter()
        child("--load", url, "--customers", str(n))
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
        child("--pass", url)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", default="100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--pass", dest="run_pass", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        asyncio.run(load(args.load, int(args.customers)))
        return
    if args.run_pass:
        asyncio.run(one_pass(args.run_pass))
        return
    for dialect in args.databases.split(","):
        for n in (int(x) for x in args.customers.split(",")):
            run_case(dialect, n, args.pg_admin_url)


if __name__ == "__main__":
    main()
