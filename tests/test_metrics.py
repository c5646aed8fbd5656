"""`GET /metrics`: messages by type and outcome, reply latency, outbox depth, sends, scheduler runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot import metrics
from bot.app import create_app
from bot.models import OutboxMessage, OutboxStatus
from bot.services import outbox
from bot.settings import Settings
from bot.wechat.peer import WeChatPeer
from bot.wechat.sandbox import SandboxState
from tests.conftest import Clock
from tests.wechat_helper import WeChatTester, eventually

SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


def parse(text: str) -> dict[str, float]:
    """Every sample line as "name{labels}" -> value; comments must be HELP or TYPE lines."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        match = SAMPLE.match(line)
        assert match, line
        samples[match[1] + (match[2] or "")] = float(match[3])
    return samples


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    metrics.reset()
    yield
    metrics.reset()


@pytest.fixture
async def service(aiohttp_client: Any, settings: Settings, clock: Clock, sandbox: SandboxState) -> WeChatTester:
    app = create_app(settings, clock=clock)
    if not any(resource.canonical == "/metrics" for resource in app.router.resources()):
        metrics.setup(app)  # until bot/app.py calls it itself
    client = await aiohttp_client(app)
    return WeChatTester(client, WeChatPeer.for_settings(settings), sandbox)


async def has(status: OutboxStatus) -> bool:
    return await OutboxMessage.filter(status=status).exists()


async def scrape(service: WeChatTester) -> dict[str, float]:
    resp = await service.client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(await resp.text())


async def test_messages_are_counted_by_type_and_outcome_with_their_latency(service: WeChatTester) -> None:
    user = service.user("o_li")
    await user.says("你好")
    await user.says("营业时间")
    await user.event("CLICK", "nothing_here")
    samples = await scrape(service)
    assert samples['fourdesk_messages_total{type="text",outcome="replied"}'] == 2
    assert sum(v for k, v in samples.items() if k.startswith('fourdesk_messages_total{type="event.click"')) == 1
    assert samples["fourdesk_reply_latency_seconds_count"] == 3
    assert samples['fourdesk_reply_latency_seconds_bucket{le="+Inf"}'] == 3
    assert samples['fourdesk_reply_latency_seconds_bucket{le="5.0"}'] == 3  # all inside WeChat's 5 s
    assert 0 < samples["fourdesk_reply_latency_seconds_sum"] < 15
    buckets = [v for k, v in samples.items() if k.startswith("fourdesk_reply_latency_seconds_bucket")]
    assert buckets == sorted(buckets)  # cumulative


async def test_sends_are_counted_by_result_and_errcode_and_the_depth_is_read_on_scrape(
    service: WeChatTester, clock: Clock
) -> None:
    user = service.user("o_li")
    service.sandbox.unfollow("o_li")
    await outbox.enqueue_text("o_li", "还在吗", now=clock.now)
    await eventually(lambda: has(OutboxStatus.FAILED))
    service.user("o_wang")
    await outbox.enqueue_text("o_wang", "您好", now=clock.now)
    await eventually(lambda: has(OutboxStatus.SENT))
    await outbox.enqueue_text("o_li", "明天见", now=clock.now + timedelta(hours=1))  # not due yet
    samples = await scrape(service)
    assert samples['fourdesk_outbox_sends_total{result="failed",code="43004"}'] == 1
    assert samples['fourdesk_outbox_sends_total{result="sent",code="0"}'] == 1
    assert samples['fourdesk_outbox_depth{status="pending"}'] == 1
    assert samples['fourdesk_outbox_depth{status="failed"}'] == 1
    assert samples['fourdesk_outbox_depth{status="undeliverable"}'] == 0
    assert samples["fourdesk_outbox_depth_up"] == 1
    assert user.inbox() == []


async def test_scheduler_runs_are_counted_through_the_public_counter(service: WeChatTester) -> None:
    metrics.scheduler_run("appointment_reminders", "ok")
    metrics.scheduler_run("appointment_reminders", "ok")
    metrics.scheduler_run("daily_digest", "error")
    samples = await scrape(service)
    assert samples['fourdesk_scheduler_runs_total{job="appointment_reminders",outcome="ok"}'] == 2
    assert samples['fourdesk_scheduler_runs_total{job="daily_digest",outcome="error"}'] == 1


def test_label_values_are_escaped() -> None:
    metrics.send_result('we"ird\\', 1)
    assert 'fourdesk_outbox_sends_total{result="we\\"ird\\\\",code="1"} 1' in metrics.render({})
