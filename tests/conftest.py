"""Test fixtures: a migrated database (SQLite or PostgreSQL, per BOT_TEST_DATABASE) wiped between tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.connection import connections

from bot import db
from bot.app import create_app, sandbox_state_for
from bot.services import booking, roles, sessions
from bot.settings import Settings
from bot.wechat.peer import WeChatPeer
from bot.wechat.sandbox import SANDBOX_STATE, SandboxState, create_sandbox_app
from tests.personas import People
from tests.wechat_helper import WeChatTester

# "sqlite" (default) or "postgres"; CI runs the suite once with each.
TEST_DATABASE = os.environ.get("BOT_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("BOT_TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test")


def record_asyncpg_statements(monkeypatch: pytest.MonkeyPatch, method: str = "_execute") -> list[str]:
    """The SQL text of every statement sent through asyncpg's `Connection.<method>` from now on (`_execute`:
    every prepared statement; `execute`: simple queries too), in order."""
    sent: list[str] = []
    plain = getattr(asyncpg.connection.Connection, method)

    async def recording(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return await plain(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, method, recording)
    return sent


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
    sessions.forget_all()
    booking.forget_reference_length()
    roles.invalidate()
    conn = connections.get("default")
    for model in Tortoise.apps["models"].values():
        if model._meta.db_table != "aerich":
            await conn.execute_script(f'DELETE FROM "{model._meta.db_table}"')
    if TEST_DATABASE == "postgres":
        await conn.execute_script('ALTER SEQUENCE "owner_round_robin" RESTART')  # the owners' rotation starts over
    yield database_url
    await Tortoise.close_connections()


@pytest.fixture
async def sandbox_server(aiohttp_server: Any) -> Any:
    """The WeChat API emulator on its own test server, as a separate WeChat would be."""
    return await aiohttp_server(create_sandbox_app(sandbox_state_for(Settings())))


@pytest.fixture
def sandbox(sandbox_server: Any) -> SandboxState:
    return sandbox_server.app[SANDBOX_STATE]  # type: ignore[no-any-return]


@pytest.fixture
def sandbox_url(sandbox_server: Any) -> str:
    return str(sandbox_server.make_url("")).rstrip("/")


def make_settings(database_url: str, api_base: str, **overrides: Any) -> Settings:
    """Sandbox-mode settings against the test database and the emulator; tests override what they exercise."""
    base: dict[str, Any] = {
        "database_url": database_url,
        "wechat_api_base": api_base,
        "outbox_poll_interval": 0.05,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings(database: str, sandbox_url: str) -> Settings:
    return make_settings(database, sandbox_url)


@dataclass
class Clock:
    """The app's injected clock: tests decide what "now" is and move it forward."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# Saturday 28 November 2026, 10:30 in the store's time zone: the "now" of every transcript.
SATURDAY_MORNING = datetime(2026, 11, 28, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock() -> Clock:
    return Clock(SATURDAY_MORNING)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: Clock) -> Any:
    return await aiohttp_client(create_app(settings, clock=clock))


@pytest.fixture
def wechat(client: Any, settings: Settings, sandbox: SandboxState) -> WeChatTester:
    return WeChatTester(client, WeChatPeer.for_settings(settings), sandbox)


@pytest.fixture
def people(wechat: WeChatTester, clock: Clock) -> People:
    """Bound staff and customer records: `clerk = await people.clerk("张三")`, then `await clerk.says(...)`."""
    return People(wechat, clock.now)
