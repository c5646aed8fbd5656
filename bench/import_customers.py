"""Customer import/export benchmark: 100,000 rows from .xlsx and .csv into fresh SQLite and PostgreSQL databases.

Usage: .venv/bin/python bench/import_customers.py [--rows 100000] [--databases sqlite,postgres]

Generates one data set as .xlsx and as .csv: `--rows` rows, every tenth customer with a second car (a second
row with the same mobile), every row with plate, model, VIN, purchase date, mileage and one of ten clerks as
负责顾问, and one row in 200 with a bad mobile (rejected, so the rejects report is part of the cost).

Per database and format, a fresh database (a temp SQLite file, or a throwaway PostgreSQL database created
beside `--pg-admin-url` and dropped at the end) is migrated and seeded with the ten clerks, then
`python -m bot customers import FILE` runs as its own process, as an operator would run it; its wall time
(process start, migrations check and all), rows/s and peak RSS (from wait4) are reported. On the .xlsx
database the same file is then imported again with --on-duplicate update (a no-op: every row unchanged)
and everything exported with `customers export`. Finally the row counts are checked against the data set.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
HEADER = ["姓名", "手机", "车牌", "车型", "VIN", "购车日期", "里程", "负责顾问"]
CLERKS = [f"顾问{n:02d}" for n in range(10)]
MODELS = ["卡罗拉", "凯美瑞", "雅阁", "思域", "朗逸", "帕萨特", "轩逸", "天籁", "宝来", "迈腾"]


@dataclass(frozen=True)
class DataSet:
    rows: int
    customers: int
    vehicles: int
    rejected: int


def generate(rows: int) -> tuple[list[list[Any]], DataSet]:
    """Deterministic rows; returns them with the customers, vehicles and rejects an import must produce."""
    rng = random.Random(4)
    data: list[list[Any]] = []
    customers = vehicles = rejected = 0
    n = 0
    while len(data) < rows:
        n += 1
        mobile = f"13{n:09d}"
        bad = n % 200 == 0
        cars = 2 if n % 10 == 0 else 1
        for car in range(cars):
            if len(data) >= rows:
                break
            bought = date(2015, 1, 1) + timedelta(days=rng.randrange(3650))
            data.append(
                [
                    f"客户{n}",
                    "12345" if bad else mobile,
                    f"粤{'AB'[car]}{n:05d}" if n < 100_000 else f"京{'AB'[car]}{n - 100_000:05d}",
                    MODELS[n % len(MODELS)],
                    f"LSV{car}{n:013d}",
                    bought,
                    rng.randrange(1000, 200_000),
                    CLERKS[n % len(CLERKS)],
                ]
            )
            if bad:
                rejected += 1
            else:
                vehicles += 1
                customers += car == 0
    return data, DataSet(len(data), customers, vehicles, rejected)


def write_files(folder: Path, data: list[list[Any]]) -> tuple[Path, Path]:
    xlsx, csv_path = folder / "customers.xlsx", folder / "customers.csv"
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    book.save(xlsx)
    # As Excel on Chinese Windows saves CSV: GBK, dates as 2024/3/1.
    with csv_path.open("w", encoding="gbk", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for row in data:
            bought: date = row[5]
            out.writerow([*row[:5], f"{bought.year}/{bought.month}/{bought.day}", *row[6:]])
    return xlsx, csv_path


async def _pg_admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def seed_clerks(url: str) -> None:
    """The ten clerks the file names as 负责顾问, straight into the migrated database."""
    rows = [(name, "13900000000", "clerk", True, False) for name in CLERKS]
    sql = 'INSERT INTO "staff" ("name", "mobile", "role", "active", "tagged", "created_at") VALUES '
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            conn.executemany(sql + "(?, ?, ?, ?, ?, CURRENT_TIMESTAMP)", rows)
    else:

        async def insert() -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.executemany(sql + "($1, $2, $3, $4, $5, now())", rows)
            finally:
                await conn.close()

        asyncio.run(insert())


@dataclass
class Run:
    label: str
    wall: float
    peak_rss_mb: float
    stdout: str

    def figure(self, pattern: str) -> str:
        m = re.search(pattern, self.stdout)
        return m.group(1) if m else "?"


def bot(url: str, *argv: str) -> Run:
    """`python -m bot <argv>` in its own process; wall time and peak RSS of that process alone."""
    env = {**os.environ, "BOT_DATABASE_URL": url, "BOT_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    stdout = proc.stdout.read().decode()
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"python -m bot {' '.join(argv)} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    # ru_maxrss is in kilobytes on Linux.
    return Run(" ".join(argv[:2]), wall, usage.ru_maxrss / 1024, stdout)


def counts(url: str) -> tuple[int, int, int]:
    sql = [
        'SELECT count(*) FROM "customer"',
        'SELECT count(*) FROM "vehicle"',
        'SELECT count(*) FROM "mileage_reading"',
    ]
    if url.startswith("sqlite://"):
        with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
            a, b, c = (conn.execute(q).fetchone()[0] for q in sql)
            return a, b, c

    async def fetch() -> tuple[int, int, int]:
        conn = await asyncpg.connect(url)
        try:
            a, b, c = [await conn.fetchval(q) for q in sql]
            return a, b, c
        finally:
            await conn.close()

    return asyncio.run(fetch())


class Database:
    """A fresh, migrated, seeded database of one kind; `drop()` removes it."""

    def __init__(self, kind: str, folder: Path, admin_url: str, tag: str) -> None:
        self.kind, self.admin_url = kind, admin_url
        if kind == "sqlite":
            self.name = ""
            self.url = f"sqlite://{folder / f'{tag}.sqlite3'}"
        else:
            self.name = f"fourdesk_import_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg_admin(admin_url, f'CREATE DATABASE "{self.name}"'))
            self.url = f"{admin_url.rsplit('/', 1)[0]}/{self.name}"
        bot(self.url, "migrate")
        seed_clerks(self.url)

    def drop(self) -> None:
        if self.name:
            asyncio.run(_pg_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def report(run: Run, rows: int) -> None:
    rate = rows / run.wall
    own = run.figure(r"每秒 ([\d,]+) 行")
    inner = f"  (inside: {own:>7} rows/s)" if own != "?" else ""
    print(f"  {run.label:<30} {run.wall:6.1f} s  {rate:8,.0f} rows/s{inner}  peak RSS {run.peak_rss_mb:5.0f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--databases", default="sqlite,postgres")
    p.add_argument("--pg-admin-url", default=os.environ.get("BOT_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        data, expected = generate(args.rows)
        xlsx, csv_path = write_files(folder, data)
        print(
            f"data set: {expected.rows:,} rows -> {expected.customers:,} customers, {expected.vehicles:,} vehicles, "
            f"{expected.rejected:,} bad rows; .xlsx {xlsx.stat().st_size / 1e6:.1f} MB, "
            f".csv (GBK) {csv_path.stat().st_size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s"
        )
        for kind in args.databases.split(","):
            print(f"{kind}:")
            for source in (xlsx, csv_path):
                database = Database(kind, folder, args.pg_admin_url, f"{kind}-{source.suffix[1:]}")
                try:
                    first = bot(database.url, "customers", "import", str(source))
                    first.label = f"import {source.name}"
                    report(first, expected.rows)
                    got = counts(database.url)
                    want = (expected.customers, expected.vehicles, expected.vehicles)
                    if got != want:
                        raise SystemExit(f"{kind} {source.name}: customers/vehicles/readings {got}, expected {want}")
                    if source is xlsx:
                        again = bot(database.url, "customers", "import", str(source), "--on-duplicate", "update")
                        again.label = "import again (update, no-op)"
                        report(again, expected.rows)
                        if f"无变化 {expected.rows - expected.rejected} 行" not in again.stdout:
                            raise SystemExit(f"the rerun changed something:\n{again.stdout}")
                        out = folder / f"export-{kind}.xlsx"
                        exported = bot(database.url, "customers", "export", str(out))
                        exported.label = "export .xlsx"
                        report(exported, expected.vehicles)
                finally:
                    database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
