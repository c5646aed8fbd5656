"""Reminders reach the sandbox inbox at the right store-local time, exactly once (clock-driven)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import replies
from bot.app import run_scheduler
from bot.models import Appointment, Customer, FollowUp, MileageReading, OutboxMessage, Task, TaskKind, Vehicle
from bot.services import booking, reminders
from tests.conftest import Clock
from tests.personas import People
from tests.wechat_helper import User, eventually

TZ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def of_kind(user: User, template: str) -> list[Any]:
    return [d for d in user.inbox() if d.payload.get("template_id") == template]


async def wechat_customer(people: People, name: str, mobile: str, plate: str, **kw: Any) -> tuple[Customer, User]:
    openid = f"o_{mobile}"
    customer = await people.customer(name, mobile, plate, openid=openid, **kw)
    return customer, people.wechat.user(openid)


async def book(customer: Customer, start: datetime, now: datetime) -> Appointment:
    vehicle = await Vehicle.get(customer_id=customer.id)
    return await booking.create(customer, vehicle, "maintenance", start, now)


async def reminders_to(openid: str) -> list[OutboxMessage]:
    return await OutboxMessage.filter(openid=openid, purpose="appointment_reminder").order_by("id")


async def test_the_evening_before_and_two_hours_before_each_arrive_once(
    people: People, clock: Clock, client: Any
) -> None:
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    appt = await book(customer, at(11, 29, 11), clock.now)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_CONFIRMED")) == 1)

    clock.now = at(11, 28, 17, 59)
    await run_scheduler(client.app)
    assert await reminders_to(user.openid) == []

    clock.now = at(11, 28, 18, 20)  # a worker that was down at 18:00 still sends them
    await run_scheduler(client.app)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_REMINDER")) == 1)
    sent = of_kind(user, "TPL_APPT_REMINDER")[0].payload["data"]
    assert sent["character_string1"]["value"] == appt.reference
    assert sent["time3"]["value"] == "11月29日 11:00"

    clock.now = at(11, 29, 8, 59)  # 2 hours and a minute before
    await run_scheduler(client.app)
    assert len(await reminders_to(user.openid)) == 1
    clock.now = at(11, 29, 9, 5)
    await run_scheduler(client.app)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_REMINDER")) == 2)
    clock.advance(minutes=30)
    await run_scheduler(client.app)
    assert len(await reminders_to(user.openid)) == 2


async def test_late_bookings_cancelled_and_checked_in_appointments_get_no_reminders(
    people: People, clock: Clock, client: Any
) -> None:
    late, late_user = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    cancelled, cancelled_user = await wechat_customer(people, "王五", "13800002222", "粤B22222")
    arrived, arrived_user = await wechat_customer(people, "赵六", "13800003333", "粤C33333")
    clerk = await people.clerk("张三")
    gone = await book(cancelled, at(11, 29, 11), clock.now)
    await booking.cancel(gone, clock.now)
    here = await book(arrived, at(11, 28, 12), clock.now)
    await clerk.says(f"到店 {here.reference}")

    clock.now = at(11, 28, 19)
    await book(late, at(11, 29, 10), clock.now)  # booked after 18:00 the evening before: no evening reminder
    await run_scheduler(client.app)
    clock.now = at(11, 29, 8, 30)  # 90 minutes before 10:00, booked 15 hours ahead: the 2-hour one comes
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(late_user, "TPL_APPT_REMINDER")) == 1)
    assert await reminders_to(cancelled_user.openid) == []
    assert await reminders_to(arrived_user.openid) == []

    # Booked at 09:00 for 10:30: less than 2 hours ahead, so no 2-hour reminder.
    clock.now = at(11, 29, 9)
    short = await book(cancelled, at(11, 29, 10, 30), clock.now)
    clock.advance(minutes=10)
    await run_scheduler(client.app)
    assert not await OutboxMessage.filter(dedupe_key__startswith=f"appt:{short.id}:remind").exists()


async def test_a_rescheduled_appointment_is_reminded_again_for_its_new_time(
    people: People, clock: Clock, client: Any
) -> None:
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    appt = await book(customer, at(11, 30, 11), clock.now)
    clock.now = at(11, 29, 18, 5)
    await run_scheduler(client.app)
    await booking.reschedule(appt, at(11, 30, 15), clock.now)
    clock.now = at(11, 30, 13, 10)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_REMINDER")) == 2)
    times = [d.payload["data"]["time3"]["value"] for d in of_kind(user, "TPL_APPT_REMINDER")]
    assert times == ["11月30日 11:00", "11月30日 15:00"]


async def test_an_evening_reminder_caught_up_in_quiet_hours_waits_until_eight(
    people: People, clock: Clock, client: Any
) -> None:
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    await book(customer, at(11, 29, 11), clock.now)
    clock.now = at(11, 28, 21, 30)  # the worker was down from 18:00 until 21:30
    await run_scheduler(client.app)
    (row,) = await reminders_to(user.openid)
    assert row.next_attempt_at == at(11, 29, 8)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_CONFIRMED")) == 1)
    assert of_kind(user, "TPL_APPT_REMINDER") == []
    clock.now = at(11, 29, 8, 1)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_REMINDER")) == 1)


async def test_past_the_catch_up_window_the_evening_reminder_is_skipped(
    people: People, clock: Clock, client: Any
) -> None:
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    await book(customer, at(11, 29, 15), clock.now)
    clock.now = at(11, 28, 23)
    await run_scheduler(client.app)
    assert await reminders_to(user.openid) == []


async def test_a_customer_who_turned_reminders_off_gets_confirmations_but_no_reminders(
    people: People, clock: Clock, client: Any
) -> None:
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    off = await user.says("退订提醒")
    assert off is not None and "确认通知仍会照常发送" in off
    assert "已经是关闭" in (await user.says("关闭提醒") or "")
    await book(customer, at(11, 29, 11), clock.now)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_CONFIRMED")) == 1)
    clock.now = at(11, 28, 18)
    await run_scheduler(client.app)
    assert await reminders_to(user.openid) == []

    assert "已为您开启提醒" in (await user.says("开启提醒") or "")
    clock.now = at(11, 29, 9, 30)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_APPT_REMINDER")) == 1)


async def test_staff_are_refused_the_customers_reminder_commands(people: People) -> None:
    clerk = await people.clerk("张三")
    assert await clerk.says("退订提醒") == replies.render("roles.customers_only")


async def test_task_reminders_due_soon_overdue_three_mornings_and_managers_told_once(
    people: People, clock: Clock, client: Any
) -> None:
    clerk = await people.clerk("张三")
    boss = await people.manager("王店长")
    task = await Task.create(
        title="回访李四",
        assignee=clerk.staff,
        due_at=at(11, 28, 16).astimezone(UTC),
        created_at=clock.now.astimezone(UTC),
    )
    clock.now = at(11, 28, 14, 30)
    await run_scheduler(client.app)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(clerk, "TPL_TASK_DUE")) == 1)
    assert of_kind(clerk, "TPL_TASK_DUE")[0].payload["data"]["phrase3"]["value"] == "即将到期"

    overdue_days = []
    for day in (29, 30, 1, 2):
        clock.now = at(11 if day > 2 else 12, day, 9, 10)
        await run_scheduler(client.app)
        await run_scheduler(client.app)
        overdue_days.append(await OutboxMessage.filter(dedupe_key__startswith=f"task:{task.id}:overdue").count())
    assert overdue_days == [1, 2, 3, 3]
    await eventually(lambda: len(of_kind(clerk, "TPL_TASK_DUE")) == 4)

    # A day overdue (from the 29th 16:00) the managers hear of it, once: here at the pass of the 30th 09:10.
    await eventually(lambda: len(of_kind(boss, "TPL_TASK_DUE")) == 1)
    assert "张三" in of_kind(boss, "TPL_TASK_DUE")[0].payload["data"]["thing1"]["value"]


async def test_managers_get_the_morning_digest_and_clerks_their_follow_ups(
    people: People, clock: Clock, client: Any
) -> None:
    clerk = await people.clerk("张三")
    boss = await people.manager("王店长")
    li = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    wang = await people.customer("王五", "13800002222", "粤B22222", owner=clerk.staff)
    for customer in (li, wang):
        await FollowUp.create(
            customer=customer,
            staff=clerk.staff,
            content="问保养",
            next_at=at(11, 29, 15).astimezone(UTC),
            created_at=clock.now.astimezone(UTC),
        )
    await book(li, at(11, 29, 10), clock.now)
    await Task.create(title="报价", assignee=clerk.staff, due_at=at(11, 28, 12).astimezone(UTC), created_at=clock.now)
    clock.now = at(11, 29, 8, 40)
    await run_scheduler(client.app)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(boss, "TPL_DAILY_DIGEST")) == 1)
    await eventually(lambda: len(of_kind(clerk, "TPL_FOLLOW_UP_DUE")) == 1)
    digest = of_kind(boss, "TPL_DAILY_DIGEST")[0].payload["data"]
    assert (digest["number2"]["value"], digest["number3"]["value"], digest["number4"]["value"]) == ("1", "1", "0")
    follow = of_kind(clerk, "TPL_FOLLOW_UP_DUE")[0].payload["data"]
    assert follow["number1"]["value"] == "2" and follow["thing2"]["value"] == "李四、王五"
    assert of_kind(clerk, "TPL_DAILY_DIGEST") == []


async def make_car(
    people: People, clerk: Any, *, last_service: date, km_then: int, km_now: int, read_on: date
) -> tuple[Customer, User]:
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345", owner=clerk.staff)
    vehicle = await Vehicle.get(customer_id=customer.id)
    vehicle.last_service_at = datetime.combine(last_service, datetime.min.time(), tzinfo=TZ).astimezone(UTC)
    await vehicle.save()
    for day, km in ((last_service, km_then), (read_on, km_now)):
        at_day = datetime.combine(day, datetime.min.time(), tzinfo=TZ).replace(hour=12).astimezone(UTC)
        await MileageReading.create(vehicle=vehicle, km=km, at=at_day)
    return customer, user


async def test_maintenance_due_reminds_the_customer_and_tasks_the_owner_every_30_days_until_booked(
    people: People, clock: Clock, client: Any
) -> None:
    clerk = await people.clerk("张三")
    # Serviced on 1 July at 20,000 km, 23,000 km by 1 November: 5 months fall on 1 December, long before
    # 25,000 km (about 24 km a day reaches it in January).
    customer, user = await make_car(
        people, clerk, last_service=date(2026, 7, 1), km_then=20000, km_now=23000, read_on=date(2026, 11, 1)
    )
    clock.now = at(11, 28, 10, 30)
    await run_scheduler(client.app)
    assert not await Task.filter(kind=TaskKind.MAINTENANCE).exists()

    clock.now = at(12, 1, 10, 5)
    await run_scheduler(client.app)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_MAINTENANCE_DUE")) == 1)
    (task,) = await Task.filter(kind=TaskKind.MAINTENANCE)
    assert task.assignee_id == clerk.staff.id and task.customer_id == customer.id
    assert of_kind(user, "TPL_MAINTENANCE_DUE")[0].payload["data"]["car_number1"]["value"] == "粤A12345"

    for day in (2, 15, 30):
        clock.now = at(12, day, 10, 5)
        await run_scheduler(client.app)
    assert await Task.filter(kind=TaskKind.MAINTENANCE).count() == 1
    clock.now = at(12, 31, 10, 5)  # 30 days on: again
    await run_scheduler(client.app)
    assert await Task.filter(kind=TaskKind.MAINTENANCE).count() == 2
    await eventually(lambda: len(of_kind(user, "TPL_MAINTENANCE_DUE")) == 2)

    # A visit booked: no more reminders.
    await book(customer, at(1, 5, 10, year=2027), clock.now)
    clock.now = at(1, 30, 10, 5, year=2027)
    await run_scheduler(client.app)
    assert await Task.filter(kind=TaskKind.MAINTENANCE).count() == 2


async def test_a_customer_not_back_within_12_months_is_marked_lost(people: People, clock: Clock, client: Any) -> None:
    clerk = await people.clerk("张三")
    customer, user = await make_car(
        people, clerk, last_service=date(2025, 11, 20), km_then=10000, km_now=12000, read_on=date(2026, 1, 20)
    )
    clock.now = at(11, 29, 10, 5)
    await run_scheduler(client.app)
    await customer.refresh_from_db()
    assert customer.lost_at == at(11, 29, 10, 5)
    # Lost customers get no more maintenance reminders.
    assert of_kind(user, "TPL_MAINTENANCE_DUE") == []
    assert await reminders.lost_count(at(11, 29, 0), at(11, 30, 0)) == 1


async def test_a_new_car_is_due_for_its_first_service_three_months_after_purchase(
    people: People, clock: Clock, client: Any
) -> None:
    clerk = await people.clerk("张三")
    customer, user = await wechat_customer(people, "李四", "13800001111", "粤A12345", owner=clerk.staff)
    await Vehicle.filter(customer_id=customer.id).update(purchase_date=date(2026, 9, 2))
    clock.now = at(12, 1, 10, 5)  # the day before
    await run_scheduler(client.app)
    clock.now = at(12, 2, 10, 5)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_MAINTENANCE_DUE")) == 1)
    data = of_kind(user, "TPL_MAINTENANCE_DUE")[0].payload["data"]
    assert (data["time2"]["value"], data["thing3"]["value"]) == ("12月2日", "首次保养")
    (task,) = await Task.filter(kind=TaskKind.MAINTENANCE)
    assert task.assignee_id == clerk.staff.id and "粤A12345" in task.title


async def test_a_car_driven_hard_is_due_at_5000_km_before_five_months(
    people: People, clock: Clock, client: Any
) -> None:
    clerk = await people.clerk("张三")
    # Serviced on 1 September at 10,000 km, 14,000 km on 1 November (about 66 km a day): 15,000 km falls on
    # 16 November, long before the five months (1 February).
    _, user = await make_car(
        people, clerk, last_service=date(2026, 9, 1), km_then=10000, km_now=14000, read_on=date(2026, 11, 1)
    )
    clock.now = at(11, 15, 10, 5)
    await run_scheduler(client.app)
    assert not await Task.filter(kind=TaskKind.MAINTENANCE).exists()
    clock.now = at(11, 16, 10, 5)
    await run_scheduler(client.app)
    await eventually(lambda: len(of_kind(user, "TPL_MAINTENANCE_DUE")) == 1)
    data = of_kind(user, "TPL_MAINTENANCE_DUE")[0].payload["data"]
    assert (data["time2"]["value"], data["thing3"]["value"]) == ("11月16日", "行驶里程约到5000公里")
    # The clerk is told of the follow-up task the pass gave them.
    await eventually(lambda: len(of_kind(clerk, "TPL_TASK_ASSIGNED")) == 1)


async def test_a_lost_customer_who_books_again_is_no_longer_lost(people: People, clock: Clock, client: Any) -> None:
    clerk = await people.clerk("张三")
    customer, _ = await make_car(
        people, clerk, last_service=date(2025, 11, 20), km_then=10000, km_now=12000, read_on=date(2026, 1, 20)
    )
    clock.now = at(11, 29, 10, 5)
    await run_scheduler(client.app)
    await customer.refresh_from_db()
    assert customer.lost_at is not None
    await book(customer, at(12, 5, 10), at(11, 30, 9))
    clock.now = at(11, 30, 10, 5)
    await run_scheduler(client.app)
    await customer.refresh_from_db()
    assert customer.lost_at is None
    # Back again: the report of the day they were marked no longer counts them as lost.
    assert await reminders.lost_count(at(11, 29, 0), at(11, 30, 0)) == 0


async def test_reminder_dedupe_keys_leave_no_duplicates_after_many_passes(
    people: People, clock: Clock, client: Any
) -> None:
    customer, _ = await wechat_customer(people, "李四", "13800001111", "粤A12345")
    await book(customer, at(11, 29, 11), clock.now)
    for minutes in range(0, 24 * 60, 37):
        clock.now = at(11, 28, 10, 30) + timedelta(minutes=minutes)
        await run_scheduler(client.app)
    assert await OutboxMessage.filter(purpose="appointment_reminder").count() == 2
