"""Unsubscribing stops all sending and unlinks the customer; following again restores sending."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from bot.app import run_scheduler
from bot.models import Customer, DialogSession, Follower, OutboxMessage, OutboxStatus, PagedReply, Staff, Task
from bot.services import notify
from tests.conftest import Clock
from tests.personas import People


async def test_an_unsubscribed_customer_is_unlinked_and_nothing_queued_is_sent(
    people: People, clock: Clock, client: Any
) -> None:
    customer = await people.customer("李四", "13800001111", "粤A12345", openid="o_li")
    user = people.wechat.user("o_li")
    assert "服务" in (await user.says("预约") or "")  # a dialog session exists
    assert await DialogSession.filter(openid="o_li").exists()
    await PagedReply.create(openid="o_li", pages=["第二页"], total=2, updated_at=clock.now)
    later = clock.now + timedelta(hours=20)
    held = await notify.send(
        "maintenance_due",
        "o_li",
        {"plate": "粤A12345", "due": "12月1日", "reason": "首次保养"},
        now=clock.now,
        dedupe_key="test:held",
        not_before=later,
    )

    await user.event("unsubscribe")

    await held.refresh_from_db()
    assert held.status == OutboxStatus.UNDELIVERABLE and held.last_error == "用户已取消关注"
    await customer.refresh_from_db()
    assert customer.openid is None and customer.name == "李四"  # the dealership keeps the record
    assert not await DialogSession.filter(openid="o_li").exists()
    assert not await PagedReply.filter(openid="o_li").exists()
    follower = await Follower.get(openid="o_li")
    assert not follower.following and follower.unsubscribed_at == clock.now

    await user.event("subscribe")
    assert (await Follower.get(openid="o_li")).following


async def test_an_unsubscribed_staff_member_keeps_their_binding_but_gets_no_reminders_until_they_follow_again(
    people: People, clock: Clock, client: Any
) -> None:
    clerk = await people.clerk("张三")
    task = await Task.create(
        title="回访王五",
        assignee=clerk.staff,
        due_at=(clock.now + timedelta(hours=6)).astimezone(UTC),
        created_at=clock.now.astimezone(UTC),
    )
    await clerk.event("unsubscribe")
    staff = await Staff.get(id=clerk.staff.id)
    assert staff.openid == clerk.openid and staff.active

    clock.advance(hours=4, minutes=30)  # due within 2 hours
    await run_scheduler(client.app)
    assert not await OutboxMessage.filter(dedupe_key__startswith=f"task:{task.id}:").exists()

    await clerk.event("subscribe")
    clock.advance(minutes=5)
    await run_scheduler(client.app)
    assert await OutboxMessage.filter(dedupe_key__startswith=f"task:{task.id}:soon").count() == 1


async def test_unsubscribing_twice_or_without_a_record_is_harmless(people: People, client: Any) -> None:
    stranger = people.wechat.user("o_nobody")
    await stranger.event("unsubscribe")
    await stranger.event("unsubscribe")
    assert not (await Follower.get(openid="o_nobody")).following
    assert await Customer.all().count() == 0
