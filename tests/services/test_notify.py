"""Appointment notifications: who is told, what the template says, within WeChat's limits, once."""

from __future__ import annotations

from datetime import UTC

import aiohttp
import pytest
from tortoise.transactions import in_transaction

from bot.models import Customer, OutboxMessage, Staff
from bot.services import booking, customers, notify
from bot.settings import SANDBOX_APPID, SANDBOX_SECRET
from bot.wechat.api import WeChatClient
from bot.wechat.dispatcher import OutboxDispatcher
from bot.wechat.sandbox import SandboxState
from bot.wechat.tokens import DatabaseTokenStore
from tests.services.conftest import NOW, Person, add_staff, at, book


async def payloads(openid: str) -> list[tuple[str, dict[str, str]]]:
    rows = await OutboxMessage.filter(openid=openid).order_by("id")
    return [(row.payload["template_id"], row.payload["data"]) for row in rows]


async def test_a_booking_confirms_to_the_customer_and_tells_the_owner_clerk(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk")
    customer, vehicle = await person(openid="o_zhang", name="张伟", mobile="13800138000", plate="粤A12345")
    appointment = await booking.create(customer, vehicle, "minor_service", at("11-29 15:00"), NOW)
    assert await payloads("o_zhang") == [
        (
            "TPL_APPT_CONFIRMED",
            {
                "character_string1": appointment.reference,
                "thing2": "小保养",
                "time3": "11月29日 15:00",
                "car_number4": "粤A12345",
            },
        )
    ]
    assert await payloads("o_clerk") == [
        (
            "TPL_NEW_APPOINTMENT",
            {
                "character_string1": appointment.reference,
                "thing2": "张伟",
                "phone_number3": "13800138000",
                "thing4": "小保养 粤A12345",
                "time5": "11月29日 15:00",
            },
        )
    ]


async def test_changes_and_cancellations_reach_both_sides(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk")
    appointment = await book(person, "maintenance", at("11-29 15:00"))
    moved = await booking.reschedule(appointment, at("11-30 09:00"), NOW)
    await booking.cancel(moved, NOW, by_customer=False)
    customer = await Customer.get(id=appointment.customer_id)
    assert customer.openid is not None
    sent = await payloads(customer.openid)
    assert [template for template, _ in sent] == ["TPL_APPT_CONFIRMED", "TPL_APPT_CHANGED", "TPL_APPT_CANCELLED"]
    assert (sent[1][1]["time3"], sent[1][1]["time4"]) == ("11月30日 09:00", "11月29日 15:00")
    assert sent[2][1]["thing5"] == "门店已取消，详询门店"
    staff = await payloads("o_clerk")
    assert [(template, data.get("phrase3")) for template, data in staff] == [
        ("TPL_NEW_APPOINTMENT", None),
        ("TPL_APPT_CHANGED_STAFF", "已改约"),
        ("TPL_APPT_CHANGED_STAFF", "已取消"),
    ]


async def test_a_clerk_without_wechat_or_no_longer_active_is_not_messaged(person: Person) -> None:
    clerk = await add_staff("王顾问")  # never bound WeChat
    await book(person, "maintenance", at("11-29 15:00"))
    await Staff.filter(id=clerk.id).update(openid="o_clerk", active=False)
    await book(person, "maintenance", at("11-29 16:00"))
    assert await OutboxMessage.filter(openid="o_clerk").count() == 0
    assert await OutboxMessage.all().count() == 2  # the two customers' confirmations


async def test_a_customer_without_wechat_gets_nothing(store: None) -> None:
    await add_staff("王顾问", openid="o_clerk")
    by_phone = await Customer.create(name="电话客户", mobile="13800138000", created_at=NOW)
    car = await customers.add_vehicle(by_phone, "粤A12345", NOW)
    await booking.create(by_phone, car, "maintenance", at("11-29 15:00"), NOW, source="clerk")
    # Only identify() assigns an owner, so this customer has none yet either: nobody is told.
    assert await OutboxMessage.all().count() == 0


async def test_nothing_is_queued_twice(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk")
    appointment = await book(person, "maintenance", at("11-29 15:00"))
    first = await notify.appointment_booked(appointment, NOW)
    async with in_transaction():  # a key already queued must not break the caller's transaction
        again = await notify.appointment_booked(appointment, NOW)
        assert [row.id for row in again] == [row.id for row in first]
    assert await OutboxMessage.all().count() == 2


async def test_the_customer_given_is_used_when_it_is_the_appointments(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk")
    appointment = await book(person, "maintenance", at("11-29 15:00"))
    await OutboxMessage.all().delete()
    customer = await Customer.get(id=appointment.customer_id)
    customer.name = "改过的名字"  # held by the caller, never saved: shows it is not read again
    rows = await notify.appointment_booked(appointment, NOW, customer=customer)
    assert [row.openid for row in rows] == [customer.openid, "o_clerk"]
    assert rows[1].payload["data"]["thing2"] == "改过的名字"
    other, _ = await person()
    await OutboxMessage.all().delete()
    rows = await notify.appointment_booked(appointment, NOW, customer=other)  # another's: read from the database
    assert [row.openid for row in rows] == [customer.openid, "o_clerk"]
    assert rows[1].payload["data"]["thing2"] != "改过的名字"


async def test_long_values_are_cut_to_wechats_limits(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk")
    name = "欧阳" + "长" * 28
    customer, vehicle = await person(name=name)
    await booking.create(customer, vehicle, "maintenance", at("11-29 15:00"), NOW)
    (_, data), *_ = await payloads("o_clerk")
    assert data["thing2"] == "欧阳" + "长" * 17 + "…" and len(data["thing2"]) == 20
    for row in await OutboxMessage.all():
        assert all(0 < len(value) <= 20 for value in row.payload["data"].values())


@pytest.mark.parametrize(
    ("key", "value", "rendered"),
    [
        ("thing2", "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"),
        ("thing2", "一二三四五六七八九十一二三四五六七八九十一", "一二三四五六七八九十一二三四五六七八九…"),
        ("phrase3", "已改约并通知", "已改约并…"),
        ("thing2", "  ", "-"),
    ],
)
def test_render_clips_each_value(key: str, value: str, rendered: str) -> None:
    field = {"thing2": "customer", "phrase3": "change"}[key]
    _, data = notify.render("appointment_changed_staff", {field: value})
    assert data[key] == rendered
    assert set(data) == set(notify.TEMPLATES["appointment_changed_staff"].fields)


async def test_the_templates_are_accepted_by_the_emulator(
    person: Person, sandbox: SandboxState, sandbox_url: str
) -> None:
    for spec in notify.TEMPLATES.values():
        sandbox.add_template(spec.template_id, spec.fields)
    await add_staff("王顾问", openid="o_clerk")
    customer, vehicle = await person(openid="o_zhang")
    for openid in ("o_zhang", "o_clerk"):
        sandbox.follow(openid)
    appointment = await booking.create(customer, vehicle, "maintenance", at("11-29 15:00"), NOW)
    moved = await booking.reschedule(appointment, at("11-29 16:00"), NOW)
    await booking.cancel(moved, NOW)
    async with aiohttp.ClientSession() as session:
        client = WeChatClient(
            session, appid=SANDBOX_APPID, secret=SANDBOX_SECRET, api_base=sandbox_url, store=DatabaseTokenStore()
        )
        assert await OutboxDispatcher(client, clock=lambda: NOW.astimezone(UTC)).run_once() == 6
    assert await OutboxMessage.filter(status="sent").count() == 6
    assert [d.payload["template_id"] for d in sandbox.inbox("o_zhang")] == [
        "TPL_APPT_CONFIRMED",
        "TPL_APPT_CHANGED",
        "TPL_APPT_CANCELLED",
    ]
    assert len(sandbox.inbox("o_clerk")) == 3
