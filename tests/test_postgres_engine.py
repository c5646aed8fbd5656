"""The PostgreSQL engine: no reset query on every release to the pool, open transactions still rolled back."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from tortoise.connection import connections

from bot import db
from bot.models import Staff
from tests.conftest import SATURDAY_MORNING, TEST_DATABASE, record_asyncpg_statements

pytestmark = pytest.mark.skipif(TEST_DATABASE != "postgres", reason="the PostgreSQL engine")


async def test_a_statement_outside_a_transaction_is_one_round_trip(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = record_asyncpg_statements(monkeypatch, "execute")
    await Staff.create(name="王顾问", mobile="13900001111", role="clerk", created_at=SATURDAY_MORNING)
    assert await Staff.filter(name="王顾问").count() == 1
    assert not [q for q in sent if "RESET ALL" in q], sent  # asyncpg's default reset ran after each


async def test_a_connection_released_inside_a_transaction_is_rolled_back(database: str) -> None:
    pool = connections.get("default")._pool
    async with pool.acquire() as raw:
        await raw.execute("BEGIN")
        await raw.execute(
            "INSERT INTO staff (name, mobile, role, active, created_at) "
            "VALUES ('赵六', '13900002222', 'clerk', TRUE, now())"
        )
    # Every connection of the pool answers, and none kept the row.
    for _ in range(pool.get_max_size() + 1):
        assert await Staff.filter(name="赵六").count() == 0


async def test_the_pool_holds_twenty_connections_unless_the_url_says(database: str) -> None:
    assert connections.get("default")._pool.get_max_size() == db.POOL_MAXSIZE == 20
    config = db.tortoise_config("postgres://bot@db.internal:5432/desk?maxsize=8")
    assert config["connections"]["default"]["credentials"]["maxsize"] == "8"


async def test_ten_concurrent_statements_run_at_once_not_five_at_a_time(database: str) -> None:
    conn = connections.get("default")
    hold = "SELECT pg_sleep(0.05) FROM generate_series(1, 20)"  # each holds its connection about 1 s
    running = asyncio.gather(*(conn.execute_query(hold) for _ in range(10)))
    seen = 0
    try:
        for _ in range(100):
            rows = await conn.execute_query_dict(
                "SELECT COUNT(*) AS n FROM pg_stat_activity "
                "WHERE datname = current_database() AND state = 'active' AND query LIKE '%pg_sleep(0.05)%' "
                "AND pid <> pg_backend_pid()"
            )
            seen = max(seen, rows[0]["n"])
            if seen == 10:
                break
            await asyncio.sleep(0.02)
    finally:
        await running
    assert seen == 10  # Tortoise's default pool (5 connections) ran them five at a time


async def test_a_statement_outside_a_transaction_hands_its_connection_back_without_a_task(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncpg releases through asyncio.shield (a task, and a turn of the loop the caller waits for); with
    # nothing to roll back the release runs on the spot. A transaction's end still may take the long way.
    shielded: list[object] = []
    shield = asyncio.shield

    def counting(arg: Any) -> Any:
        shielded.append(arg)
        return shield(arg)

    monkeypatch.setattr(asyncpg.pool.asyncio, "shield", counting)
    pool = connections.get("default")._pool
    for n in range(10):
        await Staff.create(name=f"顾问{n}", mobile=f"139000000{n:02d}", role="clerk", created_at=SATURDAY_MORNING)
    assert await Staff.all().count() == 10
    assert shielded == []
    assert pool.get_idle_size() == pool.get_size()  # every connection is back in the pool
