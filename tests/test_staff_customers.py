"""Clerks and managers find, read, edit and follow up customers by chatting: transcripts through the webhook."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.models import (
    Appointment,
    AppointmentStatus,
    Customer,
    FollowUp,
    MileageReading,
    OwnerChange,
    Staff,
    Vehicle,
)
from tests.conftest import SATURDAY_MORNING
from tests.personas import People

TZ = SATURDAY_MORNING.tzinfo


# --- 查客户 ----------------------------------------------------------------------------------------------


async def test_search_by_mobile_suffix_masks_numbers_the_clerk_does_not_own(people: People) -> None:
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    boss = await people.manager("王店长")
    await people.customer("赵六", "13800005678", "粤A12345", owner=zhang.staff, model="凯美瑞")
    owner_view = await zhang.says("查客户 尾号5678")
    assert owner_view is not None
    assert "找到 1 位客户" in owner_view and "13800005678" in owner_view
    assert "赵六" in owner_view and "粤A12345 凯美瑞" in owner_view and "负责：张三" in owner_view
    other_view = await li.says("查客户 尾号5678")
    assert other_view is not None and "138****5678" in other_view and "13800005678" not in other_view
    assert "13800005678" in (await boss.says("查客户 尾号5678") or "")


async def test_search_by_mobile_prefix_plate_tail_full_plate_and_name(people: People) -> None:
    clerk = await people.clerk("张三")
    await people.customer("赵六", "13800005678", "粤A12345", owner=clerk.staff)
    await people.customer("赵小七", "13900001111", "粤BD12399", owner=clerk.staff)
    await people.customer("钱八", "15000002222", "京C8888Z", owner=clerk.staff)
    by_prefix = await clerk.says("查客户 138")
    assert by_prefix is not None and "赵六" in by_prefix and "赵小七" not in by_prefix
    by_tail = await clerk.says("查客户 12345")  # 12… is no mobile start: a plate's last digits
    assert by_tail is not None and "赵六" in by_tail and "钱八" not in by_tail
    by_letters = await clerk.says("查客户 888Z")
    assert by_letters is not None and "钱八" in by_letters
    by_plate = await clerk.says("查客户 粤B·D12399")
    assert by_plate is not None and "找到 1 位客户" in by_plate and "赵小七" in by_plate
    by_name = await clerk.says("找客户 赵")
    assert by_name is not None and "找到 2 位客户" in by_name and "赵六" in by_name and "赵小七" in by_name
    assert "钱八" in (await clerk.says("搜客户 钱八") or "")


async def test_a_short_mobile_start_that_finds_nobody_is_tried_as_plate_digits(people: People) -> None:
    clerk = await people.clerk("张三")
    await people.customer("孙九", "15000003333", "粤A13579", owner=clerk.staff)
    assert "孙九" in (await clerk.says("查客户 13579") or "")


async def test_empty_and_too_short_queries_get_examples(people: People) -> None:
    clerk = await people.clerk("张三")
    for text in ("查客户", "查客户 12", "查客户 abc!!"):
        reply = await clerk.says(text)
        assert reply is not None and "尾号5678" in reply and "至少 3 位" in reply, text
    assert "没有找到" in (await clerk.says("查客户 尾号0000") or "")


async def test_twelve_matches_are_three_pages_of_five(people: People) -> None:
    clerk = await people.clerk("张三")
    for i in range(12):
        await people.customer(
            f"周{'一二三四五六七八九十甲乙'[i]}", f"1370000{i:04d}", f"粤A5{i:04d}", owner=clerk.staff
        )
    first = await clerk.says("查客户 周")
    assert first is not None and "找到 12 位客户" in first and "第1/3页" in first and first.count("\nC") == 5
    second = await clerk.says("下一页")
    assert second is not None and second.count("C") == 5 and "第2/3页" in second
    third = await clerk.says("下一页")
    assert third is not None and third.count("周") == 2
    assert "没有更多" in (await clerk.says("下一页") or "")


async def test_more_than_fifty_matches_ask_for_more(people: People) -> None:
    clerk = await people.clerk("张三")
    now = SATURDAY_MORNING.astimezone(UTC)
    await Customer.bulk_create(
        [
            Customer(name=f"吴{i}", mobile=f"1360000{i:04d}", mobile_rev=f"1360000{i:04d}"[::-1], created_at=now)
            for i in range(55)
        ]
    )
    reply = await clerk.says("查客户 136")
    assert reply is not None and "超过 50 位" in reply and "第1/10页" in reply


async def test_customers_and_deactivated_staff_are_refused(people: People) -> None:
    clerk = await people.clerk("张三")
    await Staff.filter(id=clerk.staff.id).update(active=False)
    from bot.services import roles

    roles.invalidate()
    assert "仅限" in (await clerk.says("查客户 138") or "")
    stranger = people.wechat.user("o_car_owner")
    assert "仅限" in (await stranger.says("客户 C1") or "")


# --- 客户 <id> -------------------------------------------------------------------------------------------


async def test_profile_shows_cars_visits_appointments_follow_ups_owners_and_next_maintenance(people: People) -> None:
    clerk = await people.clerk("张三")
    other = await people.clerk("李四")
    boss = await people.manager("王店长")
    customer = await people.customer("赵六", "13800005678", "粤A12345", owner=clerk.staff, model="凯美瑞")
    vehicle = await Vehicle.get(plate="粤A12345")
    vehicle.vin, vehicle.purchase_date = "LFV2A21K6A3045678", date(2025, 6, 1)
    await vehicle.save()
    utc = SATURDAY_MORNING.astimezone(UTC)
    visit = utc - timedelta(days=60)
    for n, (start, status) in enumerate(
        [(visit, AppointmentStatus.COMPLETED), (utc + timedelta(days=2), AppointmentStatus.BOOKED)]
    ):
        await Appointment.create(
            reference=f"A10{n}",
            customer=customer,
            vehicle=vehicle,
            service="maintenance",
            start_at=start,
            end_at=start + timedelta(hours=1),
            status=status,
            mileage=20000 if status is AppointmentStatus.COMPLETED else None,
            created_at=utc,
            updated_at=utc,
        )
    await MileageReading.create(vehicle=vehicle, km=20000, at=visit, source="visit")
    await FollowUp.create(
        customer=customer,
        staff_id=clerk.staff.id,
        method="phone",
        content="电话提醒保养",
        result="已预约",
        created_at=utc,
    )
    await OwnerChange.create(customer=customer, to_staff_id=clerk.staff.id, reason="新增客户", at=utc)
    code = f"C{customer.id}"
    reply = await clerk.says(f"客户 {code}")
    assert reply is not None
    assert f"{code} 赵六 13800005678" in reply and "负责顾问：张三" in reply
    assert "粤A12345 凯美瑞" in reply and "LFV2A21K6A3045678" in reply and "购车 2025年6月1日" in reply
    assert "最近到店" in reply and "20000 公里" in reply
    assert "即将到店" in reply and "A101（已预约）" in reply and "11月30日" in reply
    assert "电话提醒保养" in reply and "已预约" in reply
    assert "负责人变更" in reply and "无 → 张三（新增客户）" in reply
    # 20,000 km in the 485 days since purchase is ~41 km a day: 25,000 km comes ~121 days after the visit on
    # 9月29日, before the five months (2027年2月28日) are up.
    assert "下次保养：2027年1月28日前后（约 25000 公里）" in reply
    assert "138****5678" in (await other.says(f"客户 {code}") or "")
    assert "13800005678" in (await boss.says(f"客户 {code}") or "")


async def test_profile_of_unknown_id_and_without_id(people: People) -> None:
    clerk = await people.clerk("张三")
    assert "没有编号为 C999" in (await clerk.says("客户 C999") or "")
    assert "例如“客户 C1024”" in (await clerk.says("客户") or "")


# --- 修改客户 --------------------------------------------------------------------------------------------


async def test_owner_edits_fields_and_bad_values_get_clear_answers(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("赵六", "13800005678", "粤A12345", owner=clerk.staff)
    code = f"C{customer.id}"
    assert "手机号改为 13900001234" in (await clerk.says(f"修改客户 {code} 手机 13900001234") or "")
    assert (await Customer.get(id=customer.id)).mobile_rev == "43210000931"
    assert "手机号不对" in (await clerk.says(f"修改客户 {code} 手机 1390000") or "")
    assert "粤A12345 车型改为 凯美瑞 2022款" in (await clerk.says(f"修改客户 {code} 车型 凯美瑞 2022款") or "")
    assert "VIN 应为 17 位" in (await clerk.says(f"修改客户 {code} VIN LFV2A21K6A304567O") or "")
    assert "车牌改为 粤B54321" in (await clerk.says(f"修改客户 {code} 车牌 粤B54321") or "")
    assert (await Vehicle.get(customer_id=customer.id)).plate_rev == "12345B粤"
    assert "里程改为 30000 公里" in (await clerk.says(f"修改客户 {code} 里程 3万公里") or "")
    assert await MileageReading.filter(km=30000).count() == 1
    assert "2024年3月15日" in (await clerk.says(f"修改客户 {code} 购车日期 2024年3月15日") or "")
    assert "备注改为 喜欢周末来" in (await clerk.says(f"修改客户 {code} 备注 喜欢周末来") or "")
    assert "姓名改为 赵六六" in (await clerk.says(f"修改客户 {code} 姓名 赵六六") or "")
    assert "可改：姓名" in (await clerk.says(f"修改客户 {code} 生日 1月1日") or "")


async def test_edits_refuse_duplicates_and_non_owners(people: People) -> None:
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    boss = await people.manager("王店长")
    mine = await people.customer("赵六", "13800005678", "粤A12345", owner=zhang.staff)
    theirs = await people.customer("钱八", "15000002222", "京C88888", owner=li.staff)
    reply = await zhang.says(f"修改客户 C{mine.id} 手机 15000002222")
    assert reply is not None and f"C{theirs.id} 钱八" in reply and "负责：李四" in reply and "未修改" in reply
    assert "已登记在客户" in (await zhang.says(f"修改客户 C{mine.id} 车牌 京C88888") or "")
    assert "该客户由 李四 负责" in (await zhang.says(f"修改客户 C{theirs.id} 车型 宝马") or "")
    assert "车型改为 宝马" in (await boss.says(f"修改客户 C{theirs.id} 车型 宝马") or "")


# --- 跟进 ------------------------------------------------------------------------------------------------


async def test_follow_up_with_next_date_in_words(people: People) -> None:
    clerk = await people.clerk("张三")
    customer = await people.customer("赵六", "13800005678", "粤A12345", owner=clerk.staff)
    reply = await clerk.says(f"跟进 C{customer.id} 打电话沟通保养，结果：已约周一 下次 下周五")
    assert reply is not None and "电话" in reply and "已约周一" in reply and "12月4日（周五）10:00" in reply
    [row] = await FollowUp.all()
    assert row.method == "phone" and row.reached and row.staff_id == clerk.staff.id
    assert row.next_at == datetime(2026, 12, 4, 10, tzinfo=TZ)
    reply = await clerk.says(f"跟进 C{customer.id} 电话未接 下次 明天下午3点")
    assert reply is not None and "未接通" in reply and "11月29日（周日）15:00" in reply
    assert await FollowUp.filter(reached=False, result="未接通").count() == 1
    assert "微信" in (await clerk.says(f"跟进 C{customer.id} 微信发了保养优惠") or "")
    assert await FollowUp.filter(method="wechat").count() == 1
    assert "没看懂“下次”" in (await clerk.says(f"跟进 C{customer.id} 到店看车 下次 改天") or "")
    assert "应在现在之后" in (await clerk.says(f"跟进 C{customer.id} 到店看车 下次 昨天") or "")
    assert await FollowUp.all().count() == 3
    assert "例如“跟进 C1024" in (await clerk.says("跟进 C1") or "")


async def test_follow_up_by_another_clerk_is_refused_but_a_manager_may(people: People) -> None:
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    boss = await people.manager("王店长")
    customer = await people.customer("赵六", "13800005678", "粤A12345", owner=zhang.staff)
    assert "该客户由 张三 负责" in (await li.says(f"跟进 C{customer.id} 电话回访") or "")
    assert "已记录" in (await boss.says(f"跟进 C{customer.id} 到店面谈，满意") or "")
    [row] = await FollowUp.all()
    assert row.method == "visit" and row.result == "满意" and row.staff_id == boss.staff.id


async def test_cancel_with_no_dialog_open_tells_staff_nothing_is_open(people: People) -> None:
    clerk = await people.clerk("张三")
    assert (await clerk.says("取消") or "").startswith("现在没有进行中的操作")
