"""Test fixtures: a migrated database (SQLite or PostgreSQL, per BOT_TEST_DATABASE) wiped between tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.connection import connections

from bot import db
from bot.settings import Settings

# "sqlite" (default) or "postgres"; CI runs the suite once with each.
TEST_DATABASE = os.environ.get("BOT_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("BOT_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test")
TABLES = ("processed_message", "token_cache", "outbox_message")


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway database for this run, created by applying the migrations, dropped at the end."""
    if TEST_DATABASE == "postgres":
        name = f"fourdesk_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{name}"
    else:
        name = ""
        url = f"sqlite://{Path(tmp_path_factory.mktemp('db')) / 'test.sqlite3'}"

    async def apply() -> None:
        await db.migrate(Settings(database_url=url))

    asyncio.run(apply())
    yield url
    if TEST_DATABASE == "postgres":
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """The ORM connected to the test database, every table emptied first."""
    await db.connect(Settings(database_url=database_url))
    conn = connections.get("default")
    for table in TABLES:
        await conn.execute_script(f'DELETE FROM "{table}"')
    yield database_url
    await Tortoise.close_connections()
