"""The dispatcher under WeChat's injected faults: every message arrives once, or fails with its reason."""

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
from bot.wechat.dispatcher import OutboxDispatcher, next_quota_reset
from bot.wechat.sandbox import SandboxState
from bot.wechat.tokens import DatabaseTokenStore
from tests.wechat_helper import eventually

TEMPLATE = "TPL_APPT_REMINDER"
SEND = "/cgi-bin/message/template/send"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 28, 2, 30, tzinfo=UTC))


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


def dispatcher(client: WeChatClient, clock: Clock, batch: int = 200, concurrency: int = 16) -> OutboxDispatcher:
    return OutboxDispatcher(client, clock=clock, batch=batch, concurrency=concurrency)


async def queue_reminders(sandbox: SandboxState, clock: Clock, users: int, prefix: str = "o_u") -> list[OutboxMessage]:
    """One appointment reminder (a template) to each of `users` followers."""
    rows = []
    for i in range(users):
        openid = f"{prefix}{i}"
        sandbox.follow(openid)
        data = {
            "character_string1": f"A{1000 + i}",
            "thing2": "常规保养",
            "time3": "11月29日 15:00",
            "car_number4": "粤A12345",
        }
        rows.append(
            await outbox.enqueue_template(openid, TEMPLATE, data, now=clock.now, purpose="appointment_reminder")
        )
    return rows


def delivered(sandbox: SandboxState, users: int, prefix: str = "o_u") -> list[int]:
    return [len(sandbox.inbox(f"{prefix}{i}")) for i in range(users)]


async def statuses() -> dict[str, int]:
    rows = await OutboxMessage.all().values_list("status", flat=True)
    counts: dict[str, int] = {}
    for status in rows:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return counts


async def test_a_token_expiring_mid_batch_is_refreshed_once_and_each_refused_send_resent_once(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    await queue_reminders(sandbox, clock, 20)
    await client.access_token()
    sandbox.latency = 0.02  # keep the batch's sends in flight together
    sandbox.inject(SEND, "expire")  # WeChat expires the token as the batch is going out
    assert await dispatcher(client, clock).run_once() == 20
    refused = sandbox.errors[42001]
    assert refused >= 1
    assert sandbox.calls["/cgi-bin/stable_token"] == 2  # the first token and one refresh
    assert sandbox.calls[SEND] == 20 + refused  # each refused send went again, once
    assert delivered(sandbox, 20) == [1] * 20
    assert await statuses() == {"sent": 20}


async def test_5xx_and_timeouts_are_retried_later_and_delivered_once(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    rows = await queue_reminders(sandbox, clock, 6)
    sandbox.inject(SEND, "5xx", times=2)  # the client's 2 attempts for one row
    sandbox.inject(SEND, "timeout", times=2)  # and for another
    await dispatcher(client, clock, batch=1).run_once()
    await dispatcher(client, clock, batch=1).run_once()
    for row in rows[:2]:
        await row.refresh_from_db()
        assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.error_code == -1
        assert row.next_attempt_at > clock.now
    clock.advance(minutes=5)
    while await dispatcher(client, clock).run_once():
        pass
    assert delivered(sandbox, 6) == [1] * 6
    assert await statuses() == {"sent": 6}


async def test_a_row_that_keeps_failing_gives_up_with_the_last_error(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    [row] = await queue_reminders(sandbox, clock, 1)
    sandbox.inject(SEND, "5xx", times=1000)
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS):
        await dispatcher(client, clock).run_once()
        await row.refresh_from_db()
        if row.status == OutboxStatus.PENDING:
            delays.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at
    assert row.status == OutboxStatus.FAILED and row.attempts == outbox.MAX_ATTEMPTS
    assert row.error_code == -1 and row.last_error and "gave up after 8 attempts" in row.last_error
    # Exponential backoff with jitter: each wait within [½, 1] of 2 s, 4 s, 8 s, ...
    assert all(2**n <= d <= 2 ** (n + 1) for n, d in enumerate(delays)), delays
    assert sandbox.inbox("o_u0") == []


async def test_the_daily_quota_waits_for_wechats_reset_and_the_reply_quota_backs_off(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    [template] = await queue_reminders(sandbox, clock, 1)
    text = await outbox.enqueue_text("o_u0", "您的车已洗好，可以来取了。", now=clock.now)
    sandbox.inject(SEND, 45009)
    sandbox.inject("/message/custom/send", 45047)
    await dispatcher(client, clock).run_once()
    await template.refresh_from_db()
    await text.refresh_from_db()
    assert template.status == OutboxStatus.PENDING and template.error_code == 45009
    assert template.next_attempt_at == next_quota_reset(clock.now)
    assert template.next_attempt_at.astimezone(UTC) == datetime(2026, 11, 28, 16, 5, tzinfo=UTC)  # 00:05 Beijing
    assert text.status == OutboxStatus.PENDING and text.error_code == 45047
    assert text.next_attempt_at < clock.now + timedelta(seconds=5)
    clock.now = template.next_attempt_at
    assert await dispatcher(client, clock).run_once() == 2
    assert sorted(item.kind for item in sandbox.inbox("o_u0")) == ["template", "text"]


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda s: s.unfollow("o_u0"), 43004),
        (lambda s: s.refuse_templates("o_u0"), 43101),
    ],
    ids=["no_longer_follows", "refuses_templates"],
)
async def test_a_permanent_refusal_fails_at_once_and_is_never_retried(
    client: WeChatClient, sandbox: SandboxState, clock: Clock, setup: object, code: int
) -> None:
    [row] = await queue_reminders(sandbox, clock, 1)
    setup(sandbox)  # type: ignore[operator]
    await dispatcher(client, clock).run_once()
    await row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.error_code == code and row.attempts == 1
    calls = sandbox.calls[SEND]
    clock.advance(days=2)
    assert await dispatcher(client, clock).run_once() == 0
    assert sandbox.calls[SEND] == calls


async def test_an_openid_of_another_account_fails_at_once(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    row = await outbox.enqueue_template("o_stranger", TEMPLATE, {}, now=clock.now)
    await dispatcher(client, clock).run_once()
    await row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.error_code == 40003


async def test_three_dispatchers_racing_send_each_row_exactly_once(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    await queue_reminders(sandbox, clock, 150)
    sandbox.latency = 0.005
    racers = [dispatcher(client, clock, batch=20) for _ in range(3)]

    async def drain(d: OutboxDispatcher) -> int:
        total = 0
        while n := await d.run_once():
            total += n
        return total

    counts = await asyncio.gather(*(drain(d) for d in racers))
    assert sum(counts) == 150
    assert sandbox.calls[SEND] == 150  # not one send twice: claims never overlap
    assert delivered(sandbox, 150) == [1] * 150
    assert await statuses() == {"sent": 150}


async def test_a_large_batch_goes_out_a_few_sends_at_a_time_and_all_arrive(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    """A pass of 30 due rows keeps at most `concurrency` requests at WeChat at once (a worker neither
    floods the API nor stalls its chat replies building 200 requests in one go), and delivers them all."""
    await queue_reminders(sandbox, clock, 30)
    sandbox.latency = 0.1  # inside the client's 0.2 s timeout
    before = sandbox.calls[SEND]
    task = asyncio.create_task(dispatcher(client, clock, concurrency=8).run_once())
    await eventually(lambda: sandbox.calls[SEND] - before >= 8)
    await asyncio.sleep(0.05)  # the first 8 are still at WeChat: nothing more has been sent
    assert sandbox.calls[SEND] - before == 8
    assert await task == 30
    assert delivered(sandbox, 30) == [1] * 30
    assert await statuses() == {"sent": 30}


async def test_a_dispatcher_killed_mid_batch_and_restarted_delivers_everything_exactly_once(
    client: WeChatClient, sandbox: SandboxState, clock: Clock
) -> None:
    rows = await queue_reminders(sandbox, clock, 30)
    sandbox.latency = 0.3  # a slow WeChat: the whole batch is in flight when the worker dies

    def sends() -> int:
        return sandbox.calls[SEND]

    before = sends()
    first = asyncio.create_task(dispatcher(client, clock, concurrency=30).run_once())
    await eventually(lambda: sends() - before >= 30)  # every request has reached WeChat, none answered
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.sleep(0.4)  # WeChat finishes the requests it had received
    assert delivered(sandbox, 30) == [1] * 30
    assert await statuses() == {"pending": 30}  # accepted by WeChat, but the worker never wrote it down
    sandbox.latency = 0.0
    restarted = dispatcher(client, clock)
    assert await restarted.run_once() == 0  # the dead worker's claims hold until their lease ends
    clock.advance(seconds=outbox.CLAIM_SECONDS + 1)
    assert await restarted.run_once() == 30
    # Sent again with the same client_msg_id: WeChat drops the repeat and answers the first msgid.
    assert delivered(sandbox, 30) == [1] * 30
    assert await statuses() == {"sent": 30}
    for i, row in enumerate(rows):
        await row.refresh_from_db()
        assert row.wechat_msgid == sandbox.inbox(f"o_u{i}")[0].msgid
