"""新增客户: a clerk registers a customer and car by chat; duplicates are offered instead of copied."""

from __future__ import annotations

from datetime import date

from bot.models import Customer, DialogSession, MileageReading, OwnerChange, Vehicle
from tests.personas import People, StaffUser


async def walk_to_confirm(clerk: StaffUser) -> str:
    assert "客户姓名" in (await clerk.says("新增客户") or "")
    assert "手机号" in (await clerk.says("李四") or "")
    assert "车牌" in (await clerk.says("138 0000 1111") or "")
    assert "车型" in (await clerk.says("粤a·12345") or "")
    assert "17 位车架号" in (await clerk.says("凯美瑞 2022款") or "")
    assert "购车日期" in (await clerk.says("LFV2A21K6A3045678") or "")
    assert "里程" in (await clerk.says("2024年3月15日") or "")
    confirm = await clerk.says("3万公里")
    assert confirm is not None
    return confirm


async def test_clerk_adds_a_customer_step_by_step_and_owns_them(people: People) -> None:
    clerk = await people.clerk("张三")
    confirm = await walk_to_confirm(clerk)
    assert "请确认新客户" in confirm and "李四" in confirm and "13800001111" in confirm
    assert "粤A12345" in confirm and "LFV2A21K6A3045678" in confirm and "2024年3月15日" in confirm
    assert "30000 公里" in confirm
    done = await clerk.says("确认")
    customer = await Customer.get(mobile="13800001111")
    assert done == f"已新增客户 C{customer.id} 李四（粤A12345），由你负责。"
    assert customer.owner_id == clerk.staff.id and customer.source == "clerk" and customer.mobile_rev == "11110000831"
    vehicle = await Vehicle.get(customer_id=customer.id)
    assert vehicle.plate_rev == "54321A粤" and vehicle.model == "凯美瑞 2022款"
    assert vehicle.purchase_date == date(2024, 3, 15) and vehicle.mileage == 30000
    assert await MileageReading.filter(vehicle_id=vehicle.id, km=30000).count() == 1
    [change] = await OwnerChange.filter(customer_id=customer.id)
    assert change.reason == "新增客户" and change.to_staff_id == clerk.staff.id and change.by_staff_id == clerk.staff.id


async def test_one_message_fills_name_mobile_and_plate_and_optional_steps_skip(people: People) -> None:
    boss = await people.manager("王店长")
    assert "车型" in (await boss.says("添加客户 王五 13900002222 粤B54321") or "")
    assert "车架号" in (await boss.says("大众朗逸") or "")
    assert "购车日期" in (await boss.says("跳过") or "")
    assert "里程" in (await boss.says("跳过") or "")
    confirm = await boss.says("跳过")
    assert confirm is not None and confirm.count("未填") == 3
    done = await boss.says("确认")
    customer = await Customer.get(mobile="13900002222")
    assert done is not None and "暂未分配负责顾问" in done and f"转移客户 C{customer.id}" in done
    assert customer.owner_id is None
    vehicle = await Vehicle.get(customer_id=customer.id)
    assert vehicle.vin is None and vehicle.purchase_date is None and vehicle.mileage is None
    assert await MileageReading.all().count() == 0


async def test_duplicate_mobile_and_plate_offer_the_existing_record(people: People) -> None:
    clerk = await people.clerk("张三")
    other = await people.clerk("李四")
    existing = await people.customer("赵六", "13800005678", "粤A88888", owner=other.staff)
    await clerk.says("新增客户")
    await clerk.says("赵六")
    offer = await clerk.says("13800005678")
    assert offer is not None and f"客户 C{existing.id} 赵六" in offer and "负责：李四" in offer
    assert "重新输入" in offer
    assert "车牌" in (await clerk.says("13800009999") or "")
    offer = await clerk.says("粤A88888")
    assert offer is not None and f"C{existing.id}" in offer and "车牌 粤A88888" in offer
    assert "已取消" in (await clerk.says("取消") or "") or await Customer.all().count() == 1
    assert await Customer.all().count() == 1


async def test_vin_is_checked_and_wrong_ones_get_the_retry_prompt(people: People) -> None:
    clerk = await people.clerk("张三")
    await clerk.says("新增客户 李四 13800001111 粤A12345")
    await clerk.says("凯美瑞")
    for wrong in ("LFV2A21K6A304567", "LFV2A21K6A304567O"):
        retry = await clerk.says(wrong)
        assert retry is not None and "不含 I、O、Q" in retry, wrong
    assert "购车日期" in (await clerk.says("lfv2a21k6a3045678") or "")
    assert "里程" in (await clerk.says("3月5日") or "")  # read as the last 3月5日, not next year's
    confirm = await clerk.says("30000")
    assert confirm is not None and "LFV2A21K6A3045678" in confirm and "2026年3月5日" in confirm


async def test_confirm_edits_and_global_words(people: People) -> None:
    clerk = await people.clerk("张三")
    await clerk.says("新增客户 李四 13800001111 粤A12345")
    help_text = await clerk.says("帮助")
    assert help_text is not None and "登记新客户" in help_text and "车型" in help_text
    assert "车牌" in (await clerk.says("返回") or "")  # back from model to plate
    assert "车型" in (await clerk.says("粤A12346") or "")
    await clerk.says("凯美瑞")
    await clerk.says("跳过")
    await clerk.says("跳过")
    confirm = await clerk.says("跳过")
    assert confirm is not None and "粤A12346" in confirm
    assert "客户姓名" in (await clerk.says("改姓名") or "")
    assert "李四四" in (await clerk.says("李四四") or "")
    renamed = await clerk.says("改姓名 李小四")
    assert renamed is not None and "请确认新客户" in renamed and "李小四" in renamed
    assert "2024年3月1日" in (await clerk.says("改购车日期 2024年3月") or "")
    changed = await clerk.says("改手机 13900003333")
    assert changed is not None and "请确认新客户" in changed and "13900003333" in changed
    assert "里程" in (await clerk.says("改里程") or "")
    assert "5000 公里" in (await clerk.says("5000") or "")
    restarted = await clerk.says("重新开始")
    assert restarted is not None and "客户姓名" in restarted
    assert "取消" in (await clerk.says("取消") or "")
    session = await DialogSession.get_or_none(openid=clerk.openid)
    assert session is None or not session.dialog
    assert await Customer.all().count() == 0


async def test_another_command_instead_of_an_answer_leaves_the_dialog_unsaved(people: People) -> None:
    clerk = await people.clerk("张三")
    assert "客户姓名" in (await clerk.says("新增客户") or "")
    assert "手机号" in (await clerk.says("李四") or "")
    # The clerk turns to something else: the unfinished customer is dropped and the command answered.
    reply = await clerk.says("今日预约")
    assert reply is not None and reply.startswith("刚才的新增客户还没保存，已放弃。\n"), reply
    assert "预约" in reply.split("\n", 1)[1]
    assert await Customer.all().count() == 0
    assert not (await DialogSession.get(openid=clerk.openid)).dialog
