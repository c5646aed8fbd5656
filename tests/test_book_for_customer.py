"""代客预约: a clerk books for a customer through the booking dialog; the customer still gets the confirmation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot import replies
from bot.models import Appointment, OutboxMessage, Staff, Vehicle
from bot.services import booking, roles
from tests.conftest import SATURDAY_MORNING, Clock
from tests.personas import People
from tests.wechat_helper import eventually

TZ = SATURDAY_MORNING.tzinfo


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def confirmations(inbox: list[Any]) -> list[Any]:
    return [d for d in inbox if d.payload.get("template_id") == "TPL_APPT_CONFIRMED"]


async def test_a_clerk_books_for_a_customer_step_by_step_and_the_customer_is_told(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff, openid="o_li4")
    li4 = people.wechat.user("o_li4")

    start = await clerk.says(f"代客预约 C{customer.id}")
    assert start is not None and "为客户 李四（138****1111）代约" in start
    assert "需要什么服务" in start  # the only car is taken, no name or mobile asked
    assert "哪天几点" in (await clerk.says("保养") or "")
    confirm = await clerk.says("明天下午3点")
    assert confirm is not None and "请确认代客预约" in confirm
    assert "李四（138****1111）" in confirm and "粤A12345" in confirm and "11月29日（周日）15:00" in confirm
    done = await clerk.says("确认")
    [appt] = await Appointment.all()
    assert done == replies.render(
        "visits.book_done",
        reference=appt.reference,
        customer="李四",
        when="11月29日（周日）15:00",
        service="保养",
        plate="粤A12345",
        notice=replies.render("visits.book_notified"),
    )
    assert (appt.customer_id, appt.source, appt.booked_by_id) == (customer.id, "clerk", clerk.staff.id)
    assert appt.start_at == at(29, 15) and appt.service == "maintenance"
    await eventually(lambda: len(confirmations(li4.inbox())) == 1)
    assert appt.reference in str(confirmations(li4.inbox())[0].payload)
    # The owner booked it: no "new appointment" message about their own booking.
    assert await OutboxMessage.filter(openid=clerk.openid).count() == 0
    # The clerk's dialog is over: 预约 is the day list again.
    assert (await clerk.says("预约 明天") or "").startswith("11月29日（周日）共 1 个预约")


async def test_one_message_with_a_new_plate_adds_the_car_to_that_customer(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    await Vehicle.create(customer=customer, plate="粤A54321", plate_rev="12345A粤", created_at=SATURDAY_MORNING)

    menu = await clerk.says(f"代客预约 {customer.id} 明天上午10点 保养")
    assert menu is not None and "客户的哪辆车" in menu and "1. 粤A12345" in menu and "2. 粤A54321" in menu
    confirm = await clerk.says("粤B77777")
    assert confirm is not None and "粤B77777" in confirm and "11月29日（周日）10:00" in confirm
    done = await clerk.says("确认")
    assert done is not None and "代约成功" in done
    # 李四 is not on WeChat: booked all the same, and the clerk is told to call.
    assert replies.render("visits.book_not_notified") in done
    car = await Vehicle.get(plate="粤B77777")
    assert car.customer_id == customer.id
    [appt] = await Appointment.all()
    assert appt.vehicle_id == car.id and appt.booked_by_id == clerk.staff.id


async def test_clerks_may_use_the_whole_slot_not_only_the_online_share(people: People) -> None:
    clerk = await people.clerk("张三")
    for i in range(3):  # the online share of a slot: 3 of 4
        someone = await people.customer(f"客户{i}", f"1380000{i:04d}", f"粤A0000{i}")
        vehicle = await Vehicle.get(customer_id=someone.id)
        await booking.create(someone, vehicle, "maintenance", at(29, 15), SATURDAY_MORNING)
    walk_in = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    online = people.wechat.user("o_online")
    assert "约满" in (await online.says("明天下午3点 粤B12345 保养") or "")

    confirm = await clerk.says(f"代客预约 C{walk_in.id} 明天下午3点 保养")
    assert confirm is not None and "请确认代客预约" in confirm
    assert "代约成功" in (await clerk.says("确认") or "")
    assert await Appointment.filter(start_at=at(29, 15).astimezone(UTC)).count() == 4


async def test_wrong_ids_cancel_help_and_restart(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    await Vehicle.create(customer=customer, plate="粤A54321", plate_rev="12345A粤", created_at=SATURDAY_MORNING)

    assert await clerk.says("代客预约") == replies.render("visits.book_usage")
    assert await clerk.says("代客预约 李四") == replies.render("visits.book_usage")
    assert await clerk.says("代客预约 C999999") == replies.render("visits.book_no_customer", code="C999999")

    assert "客户的哪辆车" in (await clerk.says(f"代客预约 C{customer.id}") or "")
    assert await clerk.says("取消") == replies.render("book_for_customer.cancelled")
    assert "客户的哪辆车" in (await clerk.says(f"代客预约 C{customer.id}") or "")
    help_text = await clerk.says("帮助")
    assert help_text is not None and "您正在为客户代约到店服务" in help_text
    restarted = await clerk.says("重新开始")
    assert restarted is not None and "李四" in restarted and "客户的哪辆车" in restarted
    assert await Appointment.all().count() == 0


async def test_a_plate_taken_at_confirmation_asks_for_the_plate_again(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", owner=clerk.staff)
    assert "客户的车牌号" in (await clerk.says(f"代客预约 C{customer.id} 明天下午3点 保养") or "")
    assert "请确认代客预约" in (await clerk.says("粤B22222") or "")
    await people.customer("王五", "13800002222", "粤B22222")  # registered meanwhile by someone else
    assert await clerk.says("确认") == replies.render("visits.book_plate_taken", plate="粤B22222")
    assert "请确认代客预约" in (await clerk.says("粤A12345") or "")
    assert "代约成功" in (await clerk.says("确认") or "")
    assert (await Vehicle.get(plate="粤A12345")).customer_id == customer.id


async def test_an_overlap_with_the_customers_own_booking_is_named(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    vehicle = await Vehicle.get(customer_id=customer.id)
    mine = await booking.create(customer, vehicle, "maintenance", at(29, 15), SATURDAY_MORNING)
    assert "请确认代客预约" in (await clerk.says(f"代客预约 c{customer.id}明天下午3点 保养") or "")
    assert await clerk.says("确认") == replies.render(
        "visits.book_overlap", when="11月29日（周日）15:00", reference=mine.reference
    )
    assert await Appointment.all().count() == 1


async def test_a_clerk_deactivated_mid_dialog_cannot_confirm(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    await clerk.says(f"代客预约 C{customer.id} 明天下午3点 保养")
    await Staff.filter(id=clerk.staff.id).update(active=False)
    roles.invalidate()
    assert await clerk.says("确认") == replies.render("roles.staff_only")
    assert await Appointment.all().count() == 0


async def test_an_abandoned_booking_for_a_customer_expires_in_its_own_words(people: People, clock: Clock) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=clerk.staff)
    assert "需要什么服务" in (await clerk.says(f"代客预约 C{customer.id}") or "")
    clock.advance(minutes=31)
    reply = await clerk.says("今日预约")
    assert reply is not None and reply.startswith(replies.render("book_for_customer.expired"))
    assert "11月28日（周六）没有预约" in reply


async def test_the_owner_is_told_when_another_clerk_books_for_their_customer(people: People) -> None:
    owner = await people.clerk("张三")
    desk = await people.clerk("前台小李")
    customer = await people.customer("李四", "13800001111", "粤A12345", owner=owner.staff)

    await desk.says(f"代客预约 C{customer.id} 明天上午10点 保养")
    assert "代约成功" in (await desk.says("确认") or "")
    [appt] = await Appointment.all()

    def told() -> list[Any]:
        return [d for d in owner.inbox() if d.payload.get("template_id") == "TPL_NEW_APPOINTMENT"]

    await eventually(lambda: len(told()) == 1)
    assert appt.reference in str(told()[0].payload)
    assert await OutboxMessage.filter(openid=desk.openid).count() == 0


async def test_a_customer_with_no_car_yet_is_answered_for_the_clerk(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("王五", "13800002222", owner=clerk.staff)  # no car on record
    assert "车牌" in (await clerk.says(f"代客预约 C{customer.id}") or "")
    reply = await clerk.says("客户还没提车")
    assert reply is not None and reply.startswith("预约需要登记车牌。客户还没有车"), reply
    assert "服务" in (await clerk.says("粤B24680") or "")
