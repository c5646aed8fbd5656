"""The SQLite engine: chat statements run on the event loop's thread, long work and lock waits on aiosqlite's."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from tortoise.connection import connections

from bot import db
from bot.models import DialogSession, OutboxMessage, OutboxStatus, Staff
from bot.services import outbox
from bot.sqlite_engine import InlineConnection
from tests.conftest import SATURDAY_MORNING, TEST_DATABASE
from tests.wechat_helper import WeChatTester, eventually

pytestmark = pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="the SQLite engine")


def engine() -> InlineConnection:
    conn = connections.get("default")._connection
    assert isinstance(conn, InlineConnection)
    return conn


async def test_a_chat_message_runs_its_statements_inline(wechat: WeChatTester) -> None:
    owner = wechat.user("o_inline")
    await owner.says("联系门店")
    before = (engine().inline_calls, engine().thread_calls)
    assert "车牌" in (await owner.says("预约") or "")
    assert "服务" in (await owner.says("粤A12345") or "")
    assert engine().inline_calls > before[0]
    assert engine().thread_calls == before[1]
    session = await DialogSession.get(openid="o_inline")
    assert session.step == "service" and session.data["plate"] == "粤A12345"


async def names_of_staff() -> list[str]:
    return list(await Staff.all().values_list("name", flat=True))


async def test_offloaded_work_runs_on_the_database_thread(database: str) -> None:
    before = (engine().inline_calls, engine().thread_calls)
    with db.offloaded():
        await Staff.create(name="王经理", mobile="13900002222", role="manager", created_at=SATURDAY_MORNING)
        # Tasks started inside the block inherit it.
        names = await asyncio.create_task(names_of_staff())
    assert names == ["王经理"]
    assert engine().thread_calls >= before[1] + 2
    assert engine().inline_calls == before[0]
    assert await Staff.filter(name="王经理").count() == 1
    assert engine().inline_calls > before[0]


async def test_another_process_holding_the_write_lock_stalls_only_the_writes(
    wechat: WeChatTester, database: str
) -> None:
    """A command-line tool (or a second worker) holds SQLite's write lock: a booking step waits for it on the
    database thread and then completes, while a message that needs no write is answered meanwhile."""
    owner, other = wechat.user("o_waits"), wechat.user("o_meanwhile")
    await other.says("联系门店")  # the staff map is fresh: the next 联系门店 reads nothing
    blocker = sqlite3.connect(database.removeprefix("sqlite://"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        handed = engine().thread_calls
        booking: asyncio.Task[Any] = asyncio.create_task(owner.says("预约"))
        await eventually(lambda: engine().thread_calls > handed)  # its session write waits on the thread
        contact = await other.says("联系门店")
        assert contact is not None and "电话" in contact
        assert not booking.done()
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert "车牌" in (await booking or "")
    assert (await DialogSession.get(openid="o_waits")).dialog == "booking"


async def test_send_results_are_recorded_without_handing_the_connection_to_the_thread(database: str) -> None:
    """The dispatcher records each batch of sends in a transaction (executemany): on the thread, that
    transaction held the one connection for a loop turn and every message's statements waited for it."""
    rows = [await outbox.enqueue_template(f"o_{n}", "TPL", {"first": "x"}, now=SATURDAY_MORNING) for n in range(3)]
    handed = engine().thread_calls
    await outbox.record([outbox.sent(row, SATURDAY_MORNING, wechat_msgid=100 + n) for n, row in enumerate(rows)])
    assert engine().thread_calls == handed
    assert [r.wechat_msgid for r in await OutboxMessage.all().order_by("id")] == [100, 101, 102]
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 3


async def test_wal_checkpoints_run_on_their_own_thread_not_in_a_commit(wechat: WeChatTester, database: str) -> None:
    """Copying the WAL into the database file waits for the disk: the service's connection never does it
    inside a commit, while every message in flight would wait; the checkpointer thread does, soon after."""
    (auto,) = engine()._conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    assert auto == 0
    checkpointer = connections.get("default").checkpointer
    assert checkpointer is not None and checkpointer.is_alive()
    assert "车牌" in (await wechat.user("o_checkpoint").says("预约") or "")
    path = database.removeprefix("sqlite://")

    def in_database_file() -> bool:
        # immutable=1 reads the database file alone, without the WAL: the row is there once checkpointed.
        reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            sql = "SELECT count(*) FROM dialog_session WHERE openid = 'o_checkpoint'"
            return bool(reader.execute(sql).fetchone()[0])
        finally:
            reader.close()

    await eventually(in_database_file, timeout=3)
