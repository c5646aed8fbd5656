"""The outbox dispatcher against the WeChat emulator: delivery, retries with backoff, permanent failures, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.models import OutboxMessage, OutboxStatus
from bot.services import outbox
from bot.settings import SANDBOX_APPID, SANDBOX_SECRET
from bot.wechat.api import WeChatClient
from bot.wechat.dispatcher import OutboxDispatcher
from bot.wechat.sandbox import SandboxState
from bot.wechat.tokens import DatabaseTokenStore


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
async def client(database: str, sandbox: SandboxState, sandbox_url: str) -> AsyncIterator[WeChatClient]:
    sandbox.timeout_delay = 0.5
    async with aiohttp.ClientSession() as session:
        yield WeChatClient(
            session,
            appid=SANDBOX_APPID,
            secret=SANDBOX_SECRET,
            api_base=sandbox_url,
            store=DatabaseTokenStore(),
            timeout=0.2,
            max_attempts=2,
            backoff=0.01,
        )


@pytest.fixture
def dispatcher(client: WeChatClient, clock: Clock) -> OutboxDispatcher:
    return OutboxDispatcher(client, clock=clock)


async def test_a_queued_text_reaches_the_user_once(
    dispatcher: OutboxDispatcher, sandbox: SandboxState, clock: Clock
) -> None:
    sandbox.follow("o_cust1")
    await outbox.enqueue_text("o_cust1", "您的车辆已保养完毕，欢迎取车。", now=clock.now, dedupe_key="k1")
    await outbox.enqueue_text("o_cust1", "您的车辆已保养完毕，欢迎取车。", now=clock.now, dedupe_key="k1")
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0
    inbox = sandbox.inbox("o_cust1")
    assert len(inbox) == 1 and inbox[0].payload["text"]["content"] == "您的车辆已保养完毕，欢迎取车。"
    row = await OutboxMessage.get(dedupe_key="k1")
    assert row.status == OutboxStatus.SENT and row.sent_at is not None


async def test_a_template_carries_client_msg_id_and_keeps_the_msgid(
    dispatcher: OutboxDispatcher, sandbox: SandboxState, clock: Clock
) -> None:
    sandbox.follow("o_cust1")
    sandbox.add_template("TPL_BOOKED", ["thing1", "time2"])
    row = await outbox.enqueue_template(
        "o_cust1", "TPL_BOOKED", {"thing1": "小保养", "time2": "11月29日 15:00"}, now=clock.now
    )
    await dispatcher.run_once()
    await row.refresh_from_db()
    delivered = sandbox.inbox("o_cust1")[0]
    assert row.status == OutboxStatus.SENT and row.wechat_msgid == delivered.msgid
    assert delivered.payload["client_msg_id"] == row.client_msg_id
    assert delivered.payload["data"]["time2"] == {"value": "11月29日 15:00"}


async def test_transient_failures_back_off_and_deliver_later_exactly_once(
    dispatcher: OutboxDispatcher, sandbox: SandboxState, clock: Clock
) -> None:
    sandbox.follow("o_cust1")
    sandbox.inject("/message/custom/send", "5xx", times=2)  # more than the client's 2 attempts
    row = await outbox.enqueue_text("o_cust1", "提醒：明天 15:00 保养", now=clock.now)
    await dispatcher.run_once()
    await row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at > clock.now
    assert sandbox.inbox("o_cust1") == []
    assert await dispatcher.run_once() == 0  # not due yet
    clock.now += timedelta(minutes=5)
    assert await dispatcher.run_once() == 1
    await row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert len(sandbox.inbox("o_cust1")) == 1


async def test_a_timeout_is_retried(dispatcher: OutboxDispatcher, sandbox: SandboxState, clock: Clock) -> None:
    sandbox.follow("o_cust1")
    sandbox.inject("/message/custom/send", "timeout", times=1)
    await outbox.enqueue_text("o_cust1", "超时后重试", now=clock.now)
    await dispatcher.run_once()
    assert len(sandbox.inbox("o_cust1")) == 1
    assert (await OutboxMessage.first()).status == OutboxStatus.SENT  # type: ignore[union-attr]


async def test_a_user_who_unfollowed_fails_for_good(
    dispatcher: OutboxDispatcher, sandbox: SandboxState, clock: Clock
) -> None:
    sandbox.follow("o_gone")
    sandbox.unfollow("o_gone")
    row = await outbox.enqueue_text("o_gone", "还在吗", now=clock.now)
    await dispatcher.run_once()
    await row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.error_code == 43004
    calls = sum(sandbox.calls.values())
    clock.now += timedelta(days=1)
    assert await dispatcher.run_once() == 0
    assert sum(sandbox.calls.values()) == calls


async def test_an_unknown_openid_fails_for_good(
    dispatcher: OutboxDispatcher, sandbox: SandboxState, clock: Clock
) -> None:
    row = await outbox.enqueue_text("o_nobody", "你好", now=clock.now)
    await dispatcher.run_once()
    await row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.error_code == 40003


async def test_two_dispatchers_racing_send_each_row_once(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    for i in range(20):
        sandbox.follow(f"o_u{i}")
        await outbox.enqueue_text(f"o_u{i}", f"第{i}条通知", now=clock.now)
    first, second = OutboxDispatcher(client, clock=clock), OutboxDispatcher(client, clock=clock)
    counts = await asyncio.gather(first.run_once(), second.run_once())
    assert sum(counts) == 20
    assert all(len(sandbox.inbox(f"o_u{i}")) == 1 for i in range(20))
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 20


async def test_a_batch_of_send_results_of_every_kind_is_recorded_together(database: str) -> None:
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    rows = [await outbox.enqueue_template(f"o_{n}", "TPL", {"first": "x"}, now=now) for n in range(4)]
    await OutboxMessage.filter(id=rows[3].id).update(delivery_status="success")  # WeChat's report came first
    await outbox.record(
        [
            outbox.sent(rows[0], now, wechat_msgid=700),
            outbox.retry_later(rows[1], now, 45009, "reach max api daily quota limit"),
            outbox.failed(rows[2], now, 43004, "require subscribe", undeliverable=True),
            outbox.retry_later(rows[3], now, None, "timeout"),
            outbox.sent(rows[3], now, wechat_msgid=703),  # the same row twice in a batch: the last one counts
        ]
    )
    stored = {row.id: row for row in await OutboxMessage.all()}
    first, second, third, fourth = (stored[row.id] for row in rows)
    assert (first.status, first.wechat_msgid, first.sent_at, first.attempts) == ("sent", 700, now, 1)
    assert (second.status, second.error_code, second.attempts) == ("pending", 45009, 1)
    assert second.next_attempt_at > now and second.last_error == "reach max api daily quota limit"
    assert (third.status, third.error_code, third.last_error) == ("undeliverable", 43004, "require subscribe")
    assert (fourth.status, fourth.wechat_msgid, fourth.delivery_status) == ("sent", 703, "success")
    assert all(row.claimed_until is None for row in stored.values())
