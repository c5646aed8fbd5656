"""Staff work the day's appointments by chat: day lists, 到店, 完成, 未到, and the automatic no-show sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import replies
from bot.app import sweep_no_shows
from bot.handlers.staff_appointments import parse_mileage
from bot.models import Appointment, Customer, MileageReading, Task, Vehicle
from bot.services import booking
from tests.conftest import SATURDAY_MORNING, Clock
from tests.personas import People
from tests.wechat_helper import eventually

TZ = SATURDAY_MORNING.tzinfo


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


async def book(customer: Customer, start: datetime, service: str = "maintenance") -> Appointment:
    """An appointment the customer made the day before (so a time already past today can be booked)."""
    vehicle = await Vehicle.filter(customer_id=customer.id).order_by("id").first()
    assert vehicle is not None
    return await booking.create(customer, vehicle, service, start, start - timedelta(days=1))


def task_templates(inbox: list[Any]) -> list[Any]:
    return [d for d in inbox if d.payload.get("template_id") == "TPL_TASK_ASSIGNED"]


# --- day lists -------------------------------------------------------------------------------------------


async def test_today_list_shows_the_whole_store_with_numbers_masked_for_other_clerks(people: People) -> None:
    zhang = await people.clerk("张三")
    li_clerk = await people.clerk("李顾问")
    boss = await people.manager("王店长")
    mine = await people.customer("李四", "13800001111", "粤A12345", owner=zhang.staff)
    theirs = await people.customer("王五", "13800002222", "粤B22222", owner=li_clerk.staff)
    unowned = await people.customer("赵六", "13800003333", "粤C33333")
    # Within the no-show grace at 10:30, so the app's sweep at start-up leaves it booked.
    first = await book(mine, at(11, 28, 10))
    second = await book(theirs, at(11, 28, 14, 30), "repair")
    dropped = await book(unowned, at(11, 28, 16))
    await booking.cancel(dropped, at(11, 27, 12), by_customer=False)

    reply = await zhang.says("今日预约")
    assert reply is not None
    assert reply.startswith("11月28日（周六）共 2 个预约")
    assert "10:00" in reply and first.reference in reply and "李四" in reply and "粤A12345" in reply
    assert "14:30" in reply and second.reference in reply and "维修" in reply and "顾问：李顾问" in reply
    assert "待到店" in reply and "顾问：张三" in reply
    # Zhang owns 李四: full number; 王五 belongs to another clerk: masked.
    assert "13800001111" in reply and "138****2222" in reply and "13800002222" not in reply
    assert dropped.reference not in reply and "另有 1 个已取消的预约未列出" in reply
    assert reply.index("10:00") < reply.index("14:30")

    other = await li_clerk.says("今天预约")
    assert other is not None and "138****1111" in other and "13800002222" in other
    managers = await boss.says("今日预约")
    assert managers is not None and "13800001111" in managers and "13800002222" in managers


async def test_tomorrow_and_days_named_in_chinese(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    sunday = await book(customer, at(11, 29, 10))
    monday = await book(customer, at(11, 30, 15))
    thursday = await book(customer, at(12, 3, 8, 30))

    tomorrow = await clerk.says("明日预约")
    assert tomorrow is not None and tomorrow.startswith("11月29日（周日）共 1 个预约") and sunday.reference in tomorrow
    assert monday.reference in (await clerk.says("预约 周一") or "")
    dec3 = await clerk.says("预约 12月3号")
    assert dec3 is not None and dec3.startswith("12月3日（周四）共 1 个预约") and thursday.reference in dec3
    assert await clerk.says("明天预约") == tomorrow
    # 预约 alone: today's list, with a hint how to ask for another day.
    today = await clerk.says("预约")
    assert today == "11月28日（周六）没有预约。\n" + replies.render("visits.day_hint")
    assert await clerk.says("预约 下雨天") == replies.render("visits.day_unknown", text="下雨天")


async def test_a_long_day_is_paged(people: People) -> None:
    clerk = await people.clerk("张三")
    refs = []
    for i in range(7):
        customer = await people.customer(f"客户{i}", f"1380000{i:04d}", f"粤A1000{i}", owner=clerk.staff)
        refs.append((await book(customer, at(11, 30, 9 + i))).reference)
    first = await clerk.says("预约 周一")
    assert first is not None and first.startswith("11月30日（周一）共 7 个预约")
    assert all(ref in first for ref in refs[:5]) and refs[5] not in first
    assert "第1/2页" in first
    second = await clerk.says("下一页")
    assert second is not None and second.startswith("11月30日（周一）的预约（续）")
    assert refs[5] in second and refs[6] in second and refs[0] not in second


# --- 到店 / 完成 / 未到 --------------------------------------------------------------------------------------


async def test_check_in_then_complete_records_the_service_and_mileage_on_the_vehicle(
    people: People, clock: Clock
) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    appt = await book(customer, at(11, 28, 11))
    ref = appt.reference

    checked = await clerk.says(f"到店 {ref.lower()}")
    assert checked is not None and checked.startswith(f"已登记到店：{ref} 李四 粤A12345 保养")
    await appt.refresh_from_db()
    assert appt.status == "checked_in" and appt.checked_in_at == clock.now
    assert "已于 11月28日（周六）10:30 登记到店" in (await clerk.says(f"到店 {ref}") or "")

    clock.advance(hours=2)
    done = await clerk.says(f"完成 {ref} 里程 3.2万 更换机油滤芯")
    assert done is not None and done.startswith(f"已完成：{ref} 李四 粤A12345 保养")
    assert "里程：32000 公里" in done and "备注：更换机油滤芯" in done
    await appt.refresh_from_db()
    assert (appt.status, appt.completed_at, appt.mileage, appt.note) == (
        "completed",
        clock.now,
        32000,
        "更换机油滤芯",
    )
    vehicle = await Vehicle.get(id=appt.vehicle_id)
    assert (vehicle.last_service, vehicle.last_service_at) == ("maintenance", clock.now)
    assert (vehicle.mileage, vehicle.mileage_at) == (32000, clock.now)
    [reading] = await MileageReading.filter(vehicle_id=vehicle.id)
    assert (reading.km, reading.at, reading.source) == (32000, clock.now, "visit")

    again = await clerk.says(f"完成 {ref}")
    assert again is not None and "已于 11月28日（周六）12:30 完成" in again
    assert "已于 11月28日（周六）12:30 完成，无法登记到店" in (await clerk.says(f"到店 {ref}") or "")
    assert await MileageReading.all().count() == 1


async def test_complete_today_checks_in_implicitly_and_refuses_a_lower_reading(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    await Vehicle.filter(plate="粤A12345").update(mileage=40000)
    appt = await book(customer, at(11, 28, 10))

    lower = await clerk.says(f"完成 {appt.reference} 32000公里")
    assert lower == replies.render("visits.refused_mileage_lower", km=32000, last=40000, reference=appt.reference)
    assert (await Appointment.get(id=appt.id)).status == "booked"
    assert await clerk.says(f"完成 {appt.reference} 里程 很多") == replies.render(
        "visits.bad_mileage", reference=appt.reference
    )

    done = await clerk.says(f"完成 {appt.reference} 41000km")
    assert done is not None and "里程：41000 公里" in done
    await appt.refresh_from_db()
    assert appt.status == "completed" and appt.checked_in_at is not None
    assert (await Vehicle.get(plate="粤A12345")).mileage == 41000


async def test_check_in_and_complete_refusals(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    tomorrow = await book(customer, at(11, 29, 10))
    cancelled = await book(customer, at(11, 28, 15))
    await booking.cancel(cancelled, at(11, 28, 9), by_customer=False)

    assert "还没到那天，无法登记到店" in (await clerk.says(f"到店 {tomorrow.reference}") or "")
    assert "还没到那天，无法完成" in (await clerk.says(f"完成 {tomorrow.reference}") or "")
    refused = await clerk.says(f"到店 {cancelled.reference}")
    assert refused is not None and "已取消，无法登记到店" in refused and f"代客预约 C{customer.id}" in refused
    assert await clerk.says("到店 A99999") == replies.render("visits.not_found", reference="A99999")
    assert await clerk.says("到店") == replies.render("visits.reference_missing", command="到店")
    assert await clerk.says("未到 明天") == replies.render("visits.reference_missing", command="未到")
    assert {a.status for a in await Appointment.all()} == {"booked", "cancelled"}


async def test_no_show_by_hand_only_after_the_start_then_a_late_arrival_checks_in(people: People, clock: Clock) -> None:
    clerk = await people.clerk("张三")
    owner = await people.clerk("李顾问")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=owner.staff)
    appt = await book(customer, at(11, 28, 11))

    early = await clerk.says(f"未到 {appt.reference}")
    assert early == replies.render("visits.refused_not_started", reference=appt.reference, when="11月28日（周六）11:00")
    clock.advance(minutes=40)
    marked = await clerk.says(f"未到 {appt.reference}")
    assert (
        marked is not None
        and marked.startswith(f"已标记未到：{appt.reference} 李四")
        and "已给李顾问创建回访任务" in marked
    )
    await appt.refresh_from_db()
    assert appt.status == "no_show" and appt.no_show_at == clock.now
    [task] = await Task.filter(kind="no_show")
    assert (task.assignee_id, task.customer_id, task.appointment_id) == (owner.staff.id, customer.id, appt.id)
    assert "已标记为未到" in (await clerk.says(f"未到 {appt.reference}") or "")

    # The customer turns up late after all: checked in, and nobody needs to call them.
    late = await clerk.says(f"到店 {appt.reference}")
    assert late is not None and "客户迟到" in late
    await appt.refresh_from_db()
    await task.refresh_from_db()
    assert appt.status == "checked_in" and task.status == "revoked"
    assert "无需标记未到" in (await clerk.says(f"未到 {appt.reference}") or "")


async def test_an_appointment_not_checked_in_an_hour_after_its_start_becomes_a_no_show_with_a_task(
    people: People, clock: Clock, client: Any
) -> None:
    owner = await people.clerk("张三")
    boss = await people.manager("王店长")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=owner.staff)
    orphan = await people.customer("赵六", "13800003333", "粤C33333")
    missed = await book(customer, at(11, 28, 11))
    missed_orphan = await book(orphan, at(11, 28, 11))
    second = await people.customer("钱七", "13800004444", "粤D44444", owner=owner.staff)
    later = await book(second, at(11, 28, 11, 30), "inspection")
    arrived = await book(await people.customer("王五", "13800002222", "粤B22222"), at(11, 28, 10))
    await owner.says(f"到店 {arrived.reference}")

    clock.advance(minutes=95)  # 12:05: 11:00 is 65 minutes ago, 11:30 only 35
    assert await sweep_no_shows(client.app) == 2
    statuses = {a.id: a.status for a in await Appointment.all()}
    assert statuses[missed.id] == statuses[missed_orphan.id] == "no_show"
    assert statuses[later.id] == "booked" and statuses[arrived.id] == "checked_in"
    tasks = {t.appointment_id: t for t in await Task.filter(kind="no_show")}
    assert tasks.keys() == {missed.id, missed_orphan.id}
    assert tasks[missed.id].assignee_id == owner.staff.id
    # A customer without an owner clerk: the first active manager calls them.
    assert tasks[missed_orphan.id].assignee_id == boss.staff.id
    assert tasks[missed.id].due_at == at(11, 28, 18)
    assert tasks[missed.id].dedupe_key == f"noshow:{missed.id}"
    await eventually(lambda: len(task_templates(owner.inbox())) == 1 and len(task_templates(boss.inbox())) == 1)
    assert "李四" in str(task_templates(owner.inbox())[0].payload)

    # Another pass (or another worker's) changes nothing.
    assert await sweep_no_shows(client.app) == 0
    assert await Task.filter(kind="no_show").count() == 2
    assert len(task_templates(owner.inbox())) == 1

    clock.advance(minutes=30)
    assert await sweep_no_shows(client.app) == 1
    assert (await Appointment.get(id=later.id)).status == "no_show"


async def test_customers_are_refused_every_staff_appointment_command(people: People) -> None:
    customer = people.wechat.user("o_customer")
    for text in ("今日预约", "明日预约", "代客预约 C1", "到店 A1234", "完成 A1234", "未到 A1234"):
        assert await customer.says(text) == replies.render("roles.staff_only"), text
    # 预约 is the customers' own booking word.
    assert "车牌" in (await customer.says("预约") or "")


@pytest.mark.parametrize(
    ("text", "km", "note", "bad"),
    [
        ("里程 32000", 32000, "", False),
        ("里程：3.2万 更换机油", 32000, "更换机油", False),
        ("32000公里", 32000, "", False),
        ("3.2万公里 换了4个轮胎", 32000, "换了4个轮胎", False),
        ("3.2万", 32000, "", False),
        ("备注 换了4个轮胎", None, "换了4个轮胎", False),
        ("更换刹车片 里程 ３２０００ ｋｍ", 32000, "更换刹车片", False),
        ("里程 很多", None, "很多", True),
        ("里程 0", None, "", True),
        ("", None, "", False),
    ],
)
def test_mileage_and_note_after_the_reference(text: str, km: int | None, note: str, bad: bool) -> None:
    assert parse_mileage(text) == (km, note, bad)
