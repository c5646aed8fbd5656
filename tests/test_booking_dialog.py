"""Car owners book, change and cancel service visits by chatting: transcripts through the real webhook."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest
from tortoise.connection import connections

from bot.app import create_app
from bot.models import Appointment, Customer, DialogSession, OutboxMessage, Staff, Vehicle
from bot.services import booking, schedule, sessions
from bot.settings import Settings
from bot.wechat.peer import WeChatPeer
from tests.conftest import SATURDAY_MORNING, TEST_DATABASE, Clock, record_asyncpg_statements
from tests.wechat_helper import User, WeChatTester, eventually

TZ = SATURDAY_MORNING.tzinfo


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


async def booked(openid: str | None = None) -> list[Appointment]:
    query = Appointment.filter(status="booked").prefetch_related("customer", "vehicle").order_by("start_at")
    rows = await query
    return [a for a in rows if openid is None or a.customer.openid == openid]


async def book_as_new_customer(owner: User, name: str = "张三", mobile: str = "13800138000") -> str | None:
    assert "怎么称呼" in (await owner.says("明天下午3点 粤A12345 保养") or "")
    assert "手机号" in (await owner.says(name) or "")
    assert "请确认" in (await owner.says(mobile) or "")
    return await owner.says("确认")


@pytest.fixture
async def clerk(database: str) -> Staff:
    return await Staff.create(
        name="李顾问", mobile="13900001111", role="clerk", active=True, openid="o_clerk_li", created_at=SATURDAY_MORNING
    )


# --- the happy paths ----------------------------------------------------------------------------------


async def test_first_booking_in_one_message_then_name_and_mobile(
    wechat: WeChatTester, clerk: Staff, sandbox: Any
) -> None:
    owner = wechat.user("o_owner1")
    wechat.user("o_clerk_li")
    done = await book_as_new_customer(owner)
    assert done is not None and "预约成功" in done and "预约号" in done
    assert "11月29日（周日）15:00" in done and "车城路" in done
    [appt] = await booked("o_owner1")
    assert appt.start_at == at(29, 15) and appt.service == "maintenance" and appt.vehicle.plate == "粤A12345"
    customer = await Customer.get(openid="o_owner1")
    assert customer.name == "张三" and customer.mobile == "13800138000"
    assert customer.owner_id == clerk.id  # type: ignore[attr-defined]
    # The customer gets a confirmation and the owner clerk a new-appointment notice, through the outbox.
    await eventually(lambda: len(owner.inbox()) == 1 and len(sandbox.inbox("o_clerk_li")) == 1)
    assert appt.reference in str(owner.inbox()[0].payload)


async def test_returning_customer_books_in_one_message_and_is_not_asked_name_again(wechat: WeChatTester) -> None:
    owner = wechat.user("o_owner1")
    await book_as_new_customer(owner)
    reply = await owner.says("我想周一上午10点去做保养，可以吗")
    assert reply is not None and "请确认" in reply and "11月30日（周一）10:00" in reply
    assert "姓名" not in reply and "粤A12345" in reply
    assert "预约成功" in (await owner.says("好的") or "")
    assert len(await booked("o_owner1")) == 2


async def test_a_first_booking_that_says_everything_at_once_goes_straight_to_the_confirmation(
    wechat: WeChatTester,
) -> None:
    owner = wechat.user("o_all_at_once")
    confirm = await owner.says("我叫张三，手机13800138000，粤A54321明天下午3点做保养")
    assert confirm is not None and confirm.startswith("请确认") and "姓名：张三" in confirm, confirm
    assert "138****8000" in confirm and "粤A54321" in confirm and "11月29日（周日）15:00" in confirm
    assert "预约成功" in (await owner.says("确认") or "")
    # Without 我叫 (or 张先生 ...) a word is not taken for a name: asked, with the rest kept.
    other = wechat.user("o_unmarked")
    assert "怎么称呼" in (await other.says("张三 13900001234 粤A65432 后天上午10点 保养") or "")
    assert "请确认" in (await other.says("张三") or "")


async def test_step_by_step_booking(wechat: WeChatTester) -> None:
    owner = wechat.user("o_owner2")
    assert "车牌" in (await owner.says("预约") or "")
    reply = await owner.says("粤b·d12345")
    assert reply is not None and "服务" in reply and "1." in reply
    assert "哪天几点" in (await owner.says("1") or "")
    day = await owner.says("明天上午")
    assert day is not None and day.startswith("11月29日（周日）可预约的时间") and "09:00" in day
    assert "怎么称呼" in (await owner.says("10点") or "")
    assert "手机号" in (await owner.says("王五") or "")
    confirm = await owner.says("139 0000 2222")
    assert confirm is not None and "粤BD12345" in confirm and "139****2222" in confirm
    assert "预约成功" in (await owner.says("确认") or "")
    [appt] = await booked("o_owner2")
    assert appt.start_at == at(29, 10)


async def test_day_part_and_hour_sent_one_by_one_stay_on_the_day_said_first(wechat: WeChatTester) -> None:
    owner = wechat.user("o_piecemeal")
    assert "车牌" in (await owner.says("我要洗车") or "")
    assert "车牌" in (await owner.says("明天") or "")  # kept for the time step: the plate is asked first
    assert "车牌" in (await owner.says("下午") or "")  # 明天下午, not this afternoon
    assert "车牌" in (await owner.says("3点") or "")
    assert "怎么称呼" in (await owner.says("粤A12345") or "")
    await owner.says("张三")
    confirm = await owner.says("13800138000")
    assert confirm is not None and "11月29日（周日）15:00" in confirm and "美容" in confirm
    # With the day's times on screen, a day part shows that part of the same day.
    other = wechat.user("o_day_part")
    day = await other.says("后天 粤A54321 保养")
    assert day is not None and day.startswith("11月30日（周一）可预约的时间") and "08:30" in day
    afternoon = await other.says("下午吧")
    assert afternoon is not None and afternoon.startswith("11月30日（周一）可预约的时间"), afternoon
    assert "08:30" not in afternoon and "1. 12:00" in afternoon and "16:30" in afternoon


async def test_no_car_yet_is_understood_at_the_plate_step(wechat: WeChatTester) -> None:
    owner = wechat.user("o_no_car")
    assert "车牌" in (await owner.says("我想周六上午试驾") or "")
    for answer in ("没有车", "新车还没上牌"):
        reply = await owner.says(answer)
        assert reply is not None and reply.startswith("在线预约需要登记车牌") and "020-88886666" in reply, reply
    # Not counted as misses (three would end in "没能看懂"): a plate still goes on with the booking.
    assert (await DialogSession.get(openid="o_no_car")).misses == 0
    times = await owner.says("粤A12345")
    assert times is not None and times.startswith("12月5日（周六）可预约的时间"), times


async def test_a_name_typed_with_a_space_or_as_an_emoji(wechat: WeChatTester) -> None:
    owner = wechat.user("o_spaced")
    assert "怎么称呼" in (await owner.says("明天下午3点 粤A12345 保养") or "")
    assert "姓名" in (await owner.says("😀") or "")  # not a name: asked again, showing the form
    assert "手机号" in (await owner.says("张 三") or "")
    confirm = await owner.says("13800138000")
    assert confirm is not None and "姓名：张三" in confirm
    # 预约号 asks for the references, not for a new booking.
    await owner.says("确认")
    listed = await owner.says("预约号")
    assert listed is not None and "您的预约" in listed and "预约号 A" in listed


async def test_voice_message_books(wechat: WeChatTester) -> None:
    owner = wechat.user("o_voice")
    reply = await owner.speaks("明天下午两点粤A54321做保养。")
    assert reply is not None and "怎么称呼" in reply
    await owner.speaks("我叫钱七")
    confirm = await owner.speaks("13800138000。")  # WeChat's recognition writes numbers as digits
    assert confirm is not None and "请确认" in confirm and "钱七" in confirm
    assert "预约成功" in (await owner.speaks("确认。") or "")
    [appt] = await booked("o_voice")
    assert appt.start_at == at(29, 14)


async def test_a_mobile_read_out_digit_by_digit_is_taken(wechat: WeChatTester) -> None:
    owner = wechat.user("o_spoken_digits")
    assert "怎么称呼" in (await owner.speaks("明天下午两点粤A54321做保养。") or "")
    assert "手机号" in (await owner.speaks("我叫钱七。") or "")
    confirm = await owner.speaks("幺三八，零零幺三，八零零零。")
    assert confirm is not None and "请确认" in confirm and "138****8000" in confirm


async def test_subscribe_with_a_campaign_scene_starts_booking_and_records_the_campaign(
    wechat: WeChatTester,
) -> None:
    owner = wechat.user("o_campaign")
    reply = await owner.event("subscribe", "qrscene_campaign:winter26", ticket="T")
    assert reply is not None and "欢迎关注" in reply and "车牌" in reply
    await owner.says("明天下午3点 粤A77777 保养")
    await owner.says("赵六")
    await owner.says("13700007777")
    assert "预约成功" in (await owner.says("确认") or "")
    [appt] = await booked("o_campaign")
    assert appt.campaign == "winter26"


async def test_menu_click_book_starts_the_dialog(wechat: WeChatTester) -> None:
    assert "车牌" in (await wechat.user("o_click").event("CLICK", "BOOK") or "")


# --- global words in every step ---------------------------------------------------------------------

STEPS_REACHED_BY = {
    "plate": ["预约"],
    "service": ["预约", "粤A12345"],
    "when": ["预约", "粤A12345", "保养"],
    "name": ["预约", "粤A12345", "保养", "明天下午3点"],
    "mobile": ["预约", "粤A12345", "保养", "明天下午3点", "张三"],
    "confirm": ["预约", "粤A12345", "保养", "明天下午3点", "张三", "13800138000"],
}
QUESTION_OF = {
    "plate": "车牌",
    "service": "服务",
    "when": "哪天几点",
    "name": "怎么称呼",
    "mobile": "手机号",
    "confirm": "请确认",
}


async def _reach(owner: User, step: str) -> str | None:
    reply = None
    for text in STEPS_REACHED_BY[step]:
        reply = await owner.says(text)
    return reply


@pytest.mark.parametrize("step", list(STEPS_REACHED_BY))
async def test_cancel_in_every_step(wechat: WeChatTester, step: str) -> None:
    owner = wechat.user("o_g1")
    assert QUESTION_OF[step] in (await _reach(owner, step) or "")
    assert "已取消" in (await owner.says("取消") or "")
    assert (await DialogSession.get(openid="o_g1")).dialog == ""
    assert await booked() == []


@pytest.mark.parametrize("step", list(STEPS_REACHED_BY))
async def test_help_in_every_step_answers_then_repeats_the_question(wechat: WeChatTester, step: str) -> None:
    owner = wechat.user("o_g2")
    await _reach(owner, step)
    reply = await owner.says("帮助")
    assert reply is not None and "取消" in reply and QUESTION_OF[step] in reply


@pytest.mark.parametrize("step", list(STEPS_REACHED_BY))
async def test_restart_in_every_step(wechat: WeChatTester, step: str) -> None:
    owner = wechat.user("o_g3")
    await _reach(owner, step)
    reply = await owner.says("重新开始")
    assert reply is not None and "重新开始" in reply and "车牌" in reply


@pytest.mark.parametrize("step", list(STEPS_REACHED_BY))
async def test_back_in_every_step(wechat: WeChatTester, step: str) -> None:
    owner = wechat.user("o_g4")
    await _reach(owner, step)
    order = list(STEPS_REACHED_BY)
    reply = await owner.says("返回")
    expected = QUESTION_OF[order[order.index(step) - 1]] if step != "plate" else "第一步"
    assert reply is not None and expected in reply


# --- retries, expiry, changes at the confirmation ----------------------------------------------------


async def test_retry_budget_shows_the_form_then_offers_a_way_out(wechat: WeChatTester) -> None:
    owner = wechat.user("o_miss")
    await owner.says("预约")
    first = await owner.says("不知道")
    assert first is not None and "粤A12345 的格式" in first
    await owner.says("随便")
    third = await owner.says("啊？")
    assert third is not None and "取消" in third and "020-88886666" in third


async def test_an_expired_dialog_says_so_and_starts_fresh(wechat: WeChatTester, clock: Clock) -> None:
    owner = wechat.user("o_late")
    await owner.says("预约")
    await owner.says("粤A12345")
    clock.advance(minutes=31)
    reply = await owner.says("保养")
    assert reply is not None and "超过30分钟" in reply and "车牌" in reply


async def test_change_one_slot_at_the_confirmation(wechat: WeChatTester) -> None:
    owner = wechat.user("o_edit")
    await _reach(owner, "confirm")
    assert "哪天几点" in (await owner.says("改时间") or "")
    reply = await owner.says("后天上午9点")
    assert reply is not None and "请确认" in reply and "11月30日（周一）09:00" in reply
    reply = await owner.says("周二下午4点")  # just sending a new time works too
    assert reply is not None and "12月1日（周二）16:00" in reply
    reply = await owner.says("改车牌 粤A99999")
    assert reply is not None and "请确认" in reply and "粤A99999" in reply
    await owner.says("确认")
    [appt] = await booked("o_edit")
    assert appt.vehicle.plate == "粤A99999"
    assert appt.start_at == datetime(2026, 12, 1, 16, tzinfo=TZ)


async def test_the_menus_book_click_during_a_booking_keeps_it(wechat: WeChatTester) -> None:
    owner = wechat.user("o_click_again")
    await owner.says("预约")
    await owner.says("粤A12345")
    assert "哪天几点" in (await owner.says("保养") or "")
    # Clicking 预约 in the menu again, as typing it, does not start over: the booking's help, the question.
    again = await owner.event("click", "BOOK")
    assert again is not None and again.startswith("您正在预约到店服务") and "哪天几点" in again, again
    confirm = await owner.says("明天下午3点")
    assert confirm is not None and "怎么称呼" in confirm


async def test_change_words_work_at_any_step_and_show_the_vehicle_menu(wechat: WeChatTester) -> None:
    owner = wechat.user("o_edit_early")
    assert "车牌" in (await owner.says("预约") or "")
    await owner.says("粤A12345")
    assert "哪天几点" in (await owner.says("保养") or "")
    # A change word while another question is open asks that slot again instead of counting a miss ...
    assert "车牌" in (await owner.says("改车牌") or "")
    # ... and once it is answered, the open question comes back.
    assert "哪天几点" in (await owner.says("粤B54321") or "")
    assert "怎么称呼" in (await owner.says("改项目 大保养 明天下午3点") or "")
    await owner.says("张三")
    confirm = await owner.says("13800138000")
    assert confirm is not None and "粤B54321" in confirm and "大保养" in confirm and "15:00" in confirm
    assert "预约成功" in (await owner.says("确认") or "")
    # A returning customer with two cars: 换车 at the confirmation shows the cars to pick from.
    await owner.says("后天上午10点 粤C11111 保养")
    assert "预约成功" in (await owner.says("确认") or "")
    confirm = await owner.says("周三上午10点 保养")
    assert confirm is not None and "哪辆车" in confirm and "1. 粤B54321" in confirm
    confirm = await owner.says("2")
    assert confirm is not None and "请确认" in confirm and "粤C11111" in confirm
    menu = await owner.says("换车")
    assert menu is not None and "哪辆车" in menu and "2. 粤C11111" in menu
    confirm = await owner.says("1")
    assert confirm is not None and "请确认" in confirm and "粤B54321" in confirm


# --- capacity -------------------------------------------------------------------------------------------


async def _fill(start: datetime, service: str = "maintenance", count: int = 3) -> None:
    for i in range(count):
        customer = await Customer.create(name=f"客户{i}", mobile=f"1370000{i:04d}", created_at=SATURDAY_MORNING)
        vehicle = await Vehicle.create(customer=customer, plate=f"粤C{i:05d}", created_at=SATURDAY_MORNING)
        await booking.create(customer, vehicle, service, start, SATURDAY_MORNING)


async def test_full_slot_offers_alternatives_and_a_number_picks_one(wechat: WeChatTester) -> None:
    await _fill(at(29, 15))
    owner = wechat.user("o_full")
    reply = await owner.says("明天下午3点 粤A12345 保养")
    assert reply is not None and "约满" in reply and "回复 1、2、3" in reply
    assert "怎么称呼" in (await owner.says("2") or "")
    await owner.says("张三")
    await owner.says("13800138000")
    await owner.says("确认")
    [appt] = await booked("o_full")
    assert appt.start_at in (at(29, 14, 30), at(29, 15, 30), at(29, 14), at(29, 16))


async def test_a_day_with_no_open_time_says_why_not_that_it_is_full(wechat: WeChatTester, clock: Clock) -> None:
    await schedule.add_closed_day(date(2026, 12, 2), "盘点")
    owner = wechat.user("o_closed_day")
    closed = await owner.says("12月2日上午 粤A12345 保养")
    assert closed is not None and closed.startswith("12月2日（周三）门店休息。最近可预约的时间"), closed
    assert "约满" not in closed and "回复 1、2、3" in closed
    evening = await owner.says("明天晚上")
    assert evening is not None and evening.startswith("这个时间不在营业时间（08:30-18:00）内"), evening
    assert "11月29日（周日）17:00" in evening  # the end of that day, not its morning
    tonight = await owner.says("今晚")
    assert tonight is not None and tonight.startswith("这个时间不在营业时间") and "11月28日（周六）17:00" in tonight
    clock.advance(minutes=25)  # Saturday 10:55: the morning's times are past or inside the hour's lead
    late = await owner.says("今天上午")
    assert late is not None and late.startswith("需要至少提前1小时预约"), late


async def test_a_time_outside_the_rules_gets_a_reason(wechat: WeChatTester) -> None:
    owner = wechat.user("o_rules")
    assert "过去" in (await owner.says("今天上午9点 粤A12345 保养") or "")
    assert "提前" in (await owner.says("今天上午11点") or "")
    assert "营业时间" in (await owner.says("明天晚上9点") or "")


async def test_a_refused_time_is_the_one_question_of_its_reply(wechat: WeChatTester) -> None:
    owner = wechat.user("o_one_question")
    first = await owner.says("今天上午9点 粤A12345 保养")
    assert first is not None and "过去" in first and "回复 1、2、3 选择" in first
    assert "哪天几点" not in first  # the alternatives are the question; it is not asked a second way
    assert "怎么称呼" in (await owner.says("2") or "")
    assert "手机号" in (await owner.says("张三") or "")
    # At the mobile step a new time outside opening hours: its refusal is the question, not the mobile.
    later = await owner.says("明天晚上9点")
    assert later is not None and "营业时间" in later and "回复 1、2、3 选择" in later and "手机号" not in later
    assert "手机号" in (await owner.says("1") or "")  # picked; the question that was waiting comes back
    confirm = await owner.says("13800138000")
    assert confirm is not None and "请确认" in confirm and "11月29日（周日）" in confirm


async def test_the_last_slot_booked_by_two_users_at_once(wechat: WeChatTester) -> None:
    await _fill(at(29, 15), count=2)  # one online place left
    users = [wechat.user("o_race1"), wechat.user("o_race2")]
    for i, owner in enumerate(users):
        await owner.says(f"明天下午3点 粤D0000{i} 保养")
        await owner.says("甲乙"[i] + "先生")
        await owner.says(f"1360000000{i}")
    replies = await asyncio.gather(*(owner.says("确认") for owner in users))
    assert sum("预约成功" in (r or "") for r in replies) == 1
    assert sum("约满" in (r or "") for r in replies) == 1
    assert len([a for a in await booked() if a.start_at == at(29, 15)]) == 3


async def test_two_messages_from_one_user_at_once(wechat: WeChatTester) -> None:
    owner = wechat.user("o_twice")
    await _reach(owner, "confirm")
    replies = await asyncio.gather(owner.says("确认"), owner.says("确认"))
    assert sum("预约成功" in (r or "") for r in replies) == 1
    assert len(await booked("o_twice")) == 1


async def test_a_retried_msgid_mid_dialog_is_not_processed_twice(wechat: WeChatTester) -> None:
    owner = wechat.user("o_retry")
    await owner.says("预约")
    xml = wechat.peer.text("o_retry", "粤A12345", msg_id=77001)
    first, retry = await wechat.send(xml), await wechat.send(xml)
    assert first.text == retry.text and first.text is not None and "服务" in first.text
    session = await DialogSession.get(openid="o_retry")
    assert session.step == "service"


# --- my appointments, cancel, reschedule -----------------------------------------------------------------


async def test_list_cancel_and_reschedule(wechat: WeChatTester, clerk: Staff, sandbox: Any) -> None:
    owner = wechat.user("o_mine")
    wechat.user("o_clerk_li")
    await book_as_new_customer(owner)
    listing = await owner.says("我的预约")
    [appt] = await booked("o_mine")
    assert listing is not None and appt.reference in listing and "11月29日（周日）15:00" in listing
    assert "改到什么时间" in (await owner.says("改约 1") or "")
    assert "请确认改约" in (await owner.says("周一上午10点") or "")
    assert "改约成功" in (await owner.says("确认") or "")
    [moved] = await booked("o_mine")
    assert moved.start_at == at(30, 10) and moved.reference == appt.reference
    cancelled = await owner.says(f"取消预约 {appt.reference}")
    assert cancelled is not None and "已取消" in cancelled
    assert await booked("o_mine") == []
    assert "没有待到店" in (await owner.says("我的预约") or "")
    await eventually(lambda: len(sandbox.inbox("o_clerk_li")) >= 3)  # new, changed, cancelled


async def test_reschedule_and_cancel_with_the_rest_said_in_the_same_message(wechat: WeChatTester) -> None:
    owner = wechat.user("o_in_one")
    await book_as_new_customer(owner)
    [appt] = await booked("o_in_one")
    confirm = await owner.says("改约 1 周一上午10点")  # the new time with the command: straight to the confirmation
    assert confirm is not None and "请确认改约" in confirm and "11月30日（周一）10:00" in confirm
    assert "改约成功" in (await owner.says("确认") or "")
    assert [a.start_at for a in await booked("o_in_one")] == [at(30, 10)]
    cancelled = await owner.says(f"取消预约 {appt.reference} 临时有事")  # a reason after it changes nothing
    assert cancelled is not None and "已取消" in cancelled
    assert await booked("o_in_one") == []


async def test_a_bare_reschedule_or_cancel_asks_which_and_the_number_answers(wechat: WeChatTester) -> None:
    owner = wechat.user("o_which")
    await book_as_new_customer(owner)
    # With one appointment, 改约 needs no number.
    assert "改到什么时间" in (await owner.says("改约") or "")
    assert "预约保持原时间" in (await owner.says("取消") or "")
    assert "请确认" in (await owner.says("周一上午10点 保养") or "")
    assert "预约成功" in (await owner.says("确认") or "")
    first, second = await booked("o_which")
    question = await owner.says("改约")
    assert question is not None and question.startswith("请问要改约哪个预约？回复序号即可")
    assert f"2. 11月30日（周一）10:00 保养（粤A12345）预约号 {second.reference}" in question
    moving = await owner.says("2")
    assert moving is not None and f"预约 {second.reference} 原定 11月30日（周一）10:00" in moving
    assert "请确认改约" in (await owner.says("周二上午10点") or "")
    assert "改约成功" in (await owner.says("确认") or "")
    assert [a.start_at for a in await booked("o_which")] == [at(29, 15), datetime(2026, 12, 1, 10, tzinfo=TZ)]
    # The command typed again with the number is the same answer.
    await owner.says("改约")
    again = await owner.says("改约 1")
    assert again is not None and again.startswith(f"预约 {first.reference} 原定"), again
    await owner.says("取消")
    # 取消预约: a number that is not on the list is asked again, 取消 there cancels nothing.
    assert "请问要取消哪个预约" in (await owner.says("取消预约") or "")
    retry = await owner.says("5")
    assert retry is not None and retry.startswith("请回复序号（1-2）或预约号")
    assert "预约保持不变" in (await owner.says("取消") or "")
    assert len(await booked("o_which")) == 2
    await owner.says("取消预约")
    cancelled = await owner.says("第一个")
    assert cancelled is not None and cancelled.startswith(f"已取消预约 {first.reference}")
    assert [a.reference for a in await booked("o_which")] == [second.reference]
    # The list is the customer's own: another customer's reference is no answer.
    other = wechat.user("o_which_other")
    for text in ("明天下午4点 粤B77777 保养", "李四", "13900139000", "确认"):
        await other.says(text)
    [others] = await booked("o_which_other")
    await owner.says("取消预约")
    assert "请回复序号" in (await owner.says(others.reference) or "")
    assert len(await booked("o_which_other")) == 1


async def test_a_number_after_my_appointments_says_how_to_move_or_cancel_it(wechat: WeChatTester) -> None:
    owner = wechat.user("o_number")
    await book_as_new_customer(owner)
    [appt] = await booked("o_number")
    assert "您的预约" in (await owner.says("我的预约") or "")
    picked = await owner.says("1")
    assert picked == (
        f"第1个预约：11月29日（周日）15:00 保养（粤A12345）预约号 {appt.reference}\n"
        "改约请回复“改约 1”，取消请回复“取消预约 1”。"
    )
    assert "没有看懂" in (await owner.says("2") or "")  # there is no second one
    assert "没有看懂" in (await wechat.user("o_nobody").says("1") or "")


async def test_a_command_typed_in_the_middle_of_a_booking_leaves_it(wechat: WeChatTester) -> None:
    owner = wechat.user("o_switch")
    await book_as_new_customer(owner)
    [appt] = await booked("o_switch")
    # Booking again, the customer changes their mind and moves the existing visit instead.
    assert "哪天几点" in (await owner.says("预约 大保养") or "")
    moving = await owner.says(f"改约 {appt.reference}")
    assert moving is not None and moving.startswith("刚才的预约还没提交，已放弃。"), moving
    assert "改到什么时间" in moving
    assert "请确认改约" in (await owner.says("周一上午10点") or "")
    # ... and while moving it, cancels it altogether: the appointment keeps its time until then.
    cancelled = await owner.says("取消预约 1")
    assert cancelled is not None and cancelled.startswith("刚才的改约还没提交，已放弃，预约保持原时间。")
    assert "已取消" in cancelled and await booked("o_switch") == []
    # What is an answer (or a greeting, or the command that started the dialog) does not leave it.
    assert "哪天几点" in (await owner.says("预约保养") or "")
    assert "没能看懂时间" in (await owner.says("预约") or "")
    assert "欢迎" not in (await owner.says("你好") or "")
    confirm = await owner.says("周二上午10点")
    assert confirm is not None and "请确认" in confirm and "12月1日（周二）10:00" in confirm


async def test_cancel_with_nothing_open_says_so_and_keeps_the_appointment(wechat: WeChatTester) -> None:
    owner = wechat.user("o_late_cancel")
    await book_as_new_customer(owner)
    for word in ("取消", "算了", "返回"):
        reply = await owner.says(word)
        assert reply is not None and reply.startswith("现在没有进行中的预约") and "取消预约" in reply, reply
    assert len(await booked("o_late_cancel")) == 1


async def test_changes_within_two_hours_are_refused_with_the_phone(wechat: WeChatTester, clock: Clock) -> None:
    owner = wechat.user("o_soon")
    await book_as_new_customer(owner)
    clock.advance(hours=27, minutes=45)  # Sunday 14:15, the visit is at 15:00
    reply = await owner.says("取消预约 1")
    assert reply is not None and "不足2小时" in reply and "020-88886666" in reply
    assert len(await booked("o_soon")) == 1


async def test_a_customer_cannot_cancel_another_customers_appointment(wechat: WeChatTester) -> None:
    alice = wechat.user("o_alice")
    await book_as_new_customer(alice)
    [appt] = await booked("o_alice")
    mallory = wechat.user("o_mallory")
    reply = await mallory.says(f"取消预约 {appt.reference}")
    assert reply is not None and "没有找到" in reply
    assert "没有找到" in (await mallory.says(f"改约 {appt.reference}") or "")
    assert len(await booked("o_alice")) == 1


async def test_two_workers_handling_one_user_at_once_lose_nothing(
    aiohttp_client: Any, sandbox: Any, settings: Any, clock: Clock
) -> None:
    from bot.app import create_app
    from bot.wechat.peer import WeChatPeer

    workers = [
        WeChatTester(
            await aiohttp_client(create_app(settings, clock=clock)), WeChatPeer.for_settings(settings), sandbox
        )
        for _ in range(2)
    ]
    users = [w.user("o_two") for w in workers]
    await users[0].says("预约")
    # Plate and service arrive at two workers at the same instant: each loads the same session version;
    # one saves, the other's compare-and-set fails, so it reloads and applies its message on top.
    await asyncio.gather(users[0].says("粤A12345"), users[1].says("保养"))
    session = await DialogSession.get(openid="o_two")
    assert session.data["plate"] == "粤A12345" and session.data["service"] == "maintenance"
    assert session.step == "when"


async def test_a_visit_already_checked_in_cannot_be_changed_online(wechat: WeChatTester) -> None:
    owner = wechat.user("o_arrived")
    await book_as_new_customer(owner)
    [appt] = await booked("o_arrived")
    await Appointment.filter(id=appt.id).update(status="checked_in")
    for command in (f"取消预约 {appt.reference}", f"改约 {appt.reference}"):
        reply = await owner.says(command)
        assert reply is not None and "已到店或已结束" in reply and "020-88886666" in reply
    assert (await Appointment.get(id=appt.id)).status == "checked_in"


@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="round trips to PostgreSQL")
async def test_booking_reads_the_customer_alongside_the_session_not_after_it(
    wechat: WeChatTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = wechat.user("o_owner1")
    await book_as_new_customer(owner)
    sessions.forget_all()  # as on a worker that has not seen this user yet
    spans: dict[str, list[float]] = {}
    execute = asyncpg.connection.Connection._execute

    async def timed(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        kind = (
            "session"
            if query.startswith('SELECT * FROM "dialog_session" WHERE')
            else "customer"
            if query.startswith('SELECT * FROM "customer" WHERE "openid"')
            else ""
        )
        started = time.perf_counter()
        try:
            return await execute(self, query, *args, **kwargs)
        finally:
            if kind:
                spans.setdefault(kind, [started, time.perf_counter()])

    monkeypatch.setattr(asyncpg.connection.Connection, "_execute", timed)
    reply = await owner.says("预约")
    assert reply is not None and "服务" in reply and "车牌" not in reply  # their one car, known from that read
    session, customer = spans["session"], spans["customer"]
    assert customer[0] < session[1] and session[0] < customer[1]  # the two reads overlapped


@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="round trips to PostgreSQL")
async def test_the_confirmation_reserves_books_and_queues_both_notices_in_one_statement(
    wechat: WeChatTester, clerk: Staff, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = wechat.user("o_one_trip")
    wechat.user("o_clerk_li")
    assert "怎么称呼" in (await owner.says("明天下午3点 粤A12345 保养") or "")
    assert "手机号" in (await owner.says("张三") or "")
    assert "请确认" in (await owner.says("13800138000") or "")
    sent = record_asyncpg_statements(monkeypatch)
    done = await owner.says("确认")
    assert done is not None and "预约成功" in done
    [appt] = await booked("o_one_trip")
    writes = [q for q in sent if 'INSERT INTO "appointment"' in q or 'INSERT INTO "outbox_message"' in q]
    assert len(writes) == 1 and 'INSERT INTO "slot_load"' in writes[0]
    keys = set(
        await OutboxMessage.filter(dedupe_key__startswith=f"appt:{appt.id}:").values_list("dedupe_key", flat=True)
    )
    assert keys == {f"appt:{appt.id}:confirmed", f"appt:{appt.id}:new:staff"}
    await eventually(lambda: len(owner.inbox()) == 1 and len(sandbox.inbox("o_clerk_li")) == 1)
    assert appt.reference in str(owner.inbox()[0].payload) and appt.reference in str(
        sandbox.inbox("o_clerk_li")[0].payload
    )


@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="round trips to PostgreSQL")
async def test_a_first_bookings_confirmation_is_five_round_trips(
    wechat: WeChatTester, clerk: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = wechat.user("o_five_trips")
    assert "怎么称呼" in (await owner.says("明天下午3点 粤A12345 保养") or "")
    assert "手机号" in (await owner.says("张三") or "")
    assert "请确认" in (await owner.says("13800138000") or "")
    sent: list[tuple[object, str]] = []  # (task, statement): the turn's are told from background writes by task
    for method in ("_execute", "execute"):  # prepared statements; simple queries (BEGIN, COMMIT)
        plain = getattr(asyncpg.connection.Connection, method)

        async def recording(self: Any, query: str, *args: Any, _plain: Any = plain, **kwargs: Any) -> Any:
            sent.append((asyncio.current_task(), query))
            return await _plain(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.connection.Connection, method, recording)
    done = await owner.says("确认")
    assert done is not None and "预约成功" in done
    [turn] = {task for task, query in sent if query.startswith("BEGIN")}
    statements = [query for task, query in sent if task is turn and "typeinfo" not in query]
    # BEGIN; who they are (nobody: the customer and car are created in the same statement); the slots, the
    # appointment and its two notices; the session; COMMIT.
    assert [q.split(" ", 3)[:3] for q in statements] == [
        ["BEGIN;"],
        ["WITH", "f", "AS"],
        ["WITH", "s", "AS"],
        ["UPDATE", '"dialog_session"', "SET"],
        ["COMMIT;"],
    ], statements
    [appt] = await booked("o_five_trips")
    assert appt.customer.name == "张三" and appt.vehicle.plate == "粤A12345"


@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="asyncpg's type lookups")
async def test_a_new_connection_looks_up_its_types_once_not_in_the_middle_of_a_message(
    aiohttp_client: Any, settings: Settings, clock: Clock, sandbox: Any, clerk: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncpg looks an array type (varchar[], int[] ...) up in the catalogue the first time a connection's
    # statement sends it: ~5 ms of PostgreSQL planning and three round trips inside whichever message that was.
    looked_up: list[asyncpg.Connection] = []  # the connection of each lookup, kept alive so ids stay unique
    lookup = asyncpg.connection.Connection._introspect_types

    async def counted(self: asyncpg.Connection, typeoids: Any, timeout: Any) -> Any:
        looked_up.append(self)
        return await lookup(self, typeoids, timeout)

    monkeypatch.setattr(asyncpg.connection.Connection, "_introspect_types", counted)
    client = await aiohttp_client(create_app(settings, clock=clock))  # a pool of its own: every connection new
    wechat = WeChatTester(client, WeChatPeer.for_settings(settings), sandbox)
    wechat.user("o_clerk_li")
    owners = [wechat.user(f"o_owner{n}") for n in range(3)]  # the slot's three online places

    async def book(n: int, owner: User) -> str | None:
        assert "怎么称呼" in (await owner.says(f"明天下午3点 粤A1234{n} 保养") or "")
        assert "手机号" in (await owner.says("张三李四王五"[2 * n : 2 * n + 2]) or "")
        assert "请确认" in (await owner.says(f"1380013800{n}") or "")
        return await owner.says("确认")

    done = await asyncio.gather(*(book(n, owner) for n, owner in enumerate(owners)))
    assert all(reply is not None and "预约成功" in reply for reply in done)
    await eventually(lambda: all(len(owner.inbox()) == 1 for owner in owners) and len(sandbox.inbox("o_clerk_li")) == 3)
    pool = connections.get("default")._pool
    assert pool.get_size() > 1  # three customers at once made the pool grow
    assert set(Counter(map(id, looked_up)).values()) == {1}  # once per connection, when it opened


async def test_booking_typed_again_in_the_middle_of_booking_carries_on(wechat: WeChatTester) -> None:
    owner = wechat.user("o_owner9")
    assert "车牌" in (await owner.says("预约") or "")
    again = await owner.says("预约")  # the customer read started for it is not used: the dialog answers
    assert again is not None and "车牌" in again
    assert "服务" in (await owner.says("粤A12345") or "")
