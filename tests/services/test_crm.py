"""Customer records for staff: the next-maintenance rule, the readers of typed values, adding and editing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.models import Customer, FollowUpMethod, MileageReading, OwnerChange, Vehicle
from bot.services import crm
from bot.services.crm import MaintenanceDue, next_maintenance
from tests.services.conftest import NOW, TZ, add_staff

TODAY = NOW.date()


# --- the next-maintenance rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purchase", "last_service", "readings", "due"),
    [
        # Nothing known: no date.
        (None, None, [], None),
        # First service three months after purchase (month ends clamp).
        (date(2026, 10, 1), None, [], MaintenanceDue(date(2027, 1, 1))),
        (date(2026, 11, 30), None, [], MaintenanceDue(date(2027, 2, 28))),
        # After a service, five months later when the distance rate is unknown.
        (None, date(2026, 9, 29), [], MaintenanceDue(date(2027, 2, 28))),
        (None, date(2026, 9, 29), [(date(2026, 9, 29), 20000)], MaintenanceDue(date(2027, 2, 28))),
        # A slow driver (10 km a day): five months come before 5,000 km.
        (
            None,
            date(2026, 6, 1),
            [(date(2026, 1, 1), 10000), (date(2026, 6, 1), 11510)],
            MaintenanceDue(date(2026, 11, 1), km=16510),
        ),
        # A fast driver (100 km a day): 5,000 km in 50 days.
        (
            None,
            date(2026, 10, 1),
            [(date(2026, 7, 3), 1000), (date(2026, 10, 1), 9900)],
            MaintenanceDue(date(2026, 11, 20), by_km=True, km=14900),
        ),
        # One reading: the rate from the purchase (a new car starts at 0 km), 40 km a day, 125 days to go.
        (
            date(2025, 10, 1),
            date(2026, 10, 1),
            [(date(2026, 10, 1), 14600)],
            MaintenanceDue(date(2027, 2, 3), by_km=True, km=19600),
        ),
    ],
)
def test_next_maintenance(
    purchase: date | None, last_service: date | None, readings: list[tuple[date, int]], due: MaintenanceDue | None
) -> None:
    assert next_maintenance(purchase, last_service, readings) == due


def test_a_reading_after_the_service_moves_the_kilometre_date() -> None:
    readings = [(date(2026, 9, 1), 20000), (date(2026, 11, 1), 23000)]  # 50 km a day since the service
    due = next_maintenance(None, date(2026, 9, 1), readings)
    assert due == MaintenanceDue(date(2026, 12, 11), by_km=True, km=25000)


# --- readers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "km"),
    [("3万公里", 30000), ("3.5万", 35000), ("30000", 30000), ("30,000km", 30000), ("1200 公里", 1200), ("三万", None)],
)
def test_read_mileage(text: str, km: int | None) -> None:
    assert crm.read_mileage(text) == km


@pytest.mark.parametrize(
    ("text", "vin"),
    [
        ("LFV2A21K6A3045678", "LFV2A21K6A3045678"),
        ("lfv2a21k6a3045678", "LFV2A21K6A3045678"),
        ("LFV2A 21K6A 3045678", "LFV2A21K6A3045678"),
        ("LFV2A21K6A304567", None),  # 16 characters
        ("LFV2A21K6A304567O", None),  # O is never used
        ("LFV2A21K6A304567Q", None),
        ("IFV2A21K6A3045678", None),
    ],
)
def test_read_vin(text: str, vin: str | None) -> None:
    assert crm.read_vin(text) == vin


def test_vin_check_digit() -> None:
    assert crm.vin_check_digit_ok("1M8GDM9AXKP042788")
    assert not crm.vin_check_digit_ok("1M8GDM9A1KP042788")


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024年3月15日", date(2024, 3, 15)),
        ("2024-03-15", date(2024, 3, 15)),
        ("2024年3月", date(2024, 3, 1)),
        ("23年5月", date(2023, 5, 1)),
        ("3月5日", date(2026, 3, 5)),  # the last 3月5日, not next year's
        ("昨天", date(2026, 11, 27)),
        ("2027年1月1日", None),  # in the future
        ("不记得了", None),
    ],
)
def test_read_purchase_date(text: str, day: date | None) -> None:
    assert crm.read_purchase_date(text, TODAY, NOW) == day


@pytest.mark.parametrize(
    ("text", "method", "reached", "result", "next_text"),
    [
        ("打电话沟通保养，结果：已约周一 下次 下周五", FollowUpMethod.PHONE, True, "已约周一", "下周五"),
        ("电话没接", FollowUpMethod.PHONE, False, "未接通", ""),
        ("电话关机 下次跟进 明天", FollowUpMethod.PHONE, False, "未接通", "明天"),
        ("微信发了保养优惠，客户说考虑一下", FollowUpMethod.WECHAT, True, "考虑中", ""),
        ("到店面谈，满意", FollowUpMethod.VISIT, True, "满意", ""),
        ("寄了保养手册", FollowUpMethod.OTHER, True, "", ""),
    ],
)
def test_read_follow_up(text: str, method: FollowUpMethod, reached: bool, result: str, next_text: str) -> None:
    note = crm.read_follow_up(text)
    assert (note.method, note.reached, note.result, note.next_text) == (method, reached, result, next_text)


def test_next_follow_up_date_only_means_ten_in_the_morning() -> None:
    assert crm.read_next_at("下周五", NOW, TZ) == datetime(2026, 12, 4, 10, tzinfo=TZ).astimezone(UTC)
    assert crm.read_next_at("明天下午3点", NOW, TZ) == datetime(2026, 11, 29, 15, tzinfo=TZ).astimezone(UTC)
    assert crm.read_next_at("改天", NOW, TZ) is None
    with pytest.raises(crm.PastFollowUpDate):
        crm.read_next_at("昨天", NOW, TZ)


# --- adding and editing ------------------------------------------------------------------------------------


async def test_create_customer_writes_everything_and_refuses_duplicates(database: str) -> None:
    clerk = await add_staff("张三")
    data = crm.NewCustomer("李四", "13800001111", "粤A12345", "凯美瑞", "LFV2A21K6A3045678", date(2024, 3, 15), 30000)
    customer, vehicle = await crm.create_customer(data, owner_id=clerk.id, by_staff_id=clerk.id, now=NOW)
    assert customer.mobile_rev == "11110000831" and vehicle.plate_rev == "54321A粤"
    assert await MileageReading.filter(vehicle_id=vehicle.id, km=30000).count() == 1
    assert await OwnerChange.filter(customer_id=customer.id, reason="新增客户", to_staff_id=clerk.id).count() == 1
    for changed in (
        crm.NewCustomer("王五", "13800001111", "粤B00001"),
        crm.NewCustomer("王五", "13900001111", "粤A12345"),
        crm.NewCustomer("王五", "13900001111", "粤B00001", vin="LFV2A21K6A3045678"),
    ):
        with pytest.raises(crm.Duplicate) as found:
            await crm.create_customer(changed, owner_id=None, by_staff_id=None, now=NOW)
        assert found.value.customer.id == customer.id and found.value.owner_name == "张三"
    assert await Customer.all().count() == 1 and await Vehicle.all().count() == 1


async def test_vehicle_fields_of_a_customer_with_two_cars_name_the_plate(database: str) -> None:
    customer = await Customer.create(name="李四", mobile="13800001111", created_at=NOW)
    await Vehicle.create(customer=customer, plate="粤A12345", created_at=NOW)
    await Vehicle.create(customer=customer, plate="粤B54321", created_at=NOW)
    with pytest.raises(crm.BadValue) as bad:
        await crm.edit_customer(customer, "model", "凯美瑞", now=NOW, tz=TZ)
    assert bad.value.key == "customers.edit_which_vehicle"
    edited = await crm.edit_customer(customer, "model", "粤B54321 凯美瑞", now=NOW, tz=TZ)
    assert edited.plate == "粤B54321" and (await Vehicle.get(plate="粤B54321")).model == "凯美瑞"
    edited = await crm.edit_customer(customer, "plate", "粤A12345 粤C11111", now=NOW, tz=TZ)
    assert edited.shown == "粤C11111" and (await Vehicle.get(plate="粤C11111")).plate_rev == "11111C粤"


async def test_a_customer_without_a_car_gets_one_from_a_plate_edit(database: str) -> None:
    customer = await Customer.create(name="李四", mobile="13800001111", created_at=NOW)
    await crm.edit_customer(customer, "plate", "粤A12345", now=NOW, tz=TZ)
    assert (await Vehicle.get(customer_id=customer.id)).plate_rev == "54321A粤"


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("张三", "张三"),
        (" 张 三 ", "张三"),
        ("欧阳 娜娜", "欧阳娜娜"),
        ("Li  Ming", "Li Ming"),
        ("王先生。", "王先生"),
        ("李", "李"),
        ("😀", None),
        ("？？", None),
        ("张三3", None),
        ("", None),
        ("张" * 33, None),
    ],
)
def test_read_name(typed: str, name: str | None) -> None:
    assert crm.read_name(typed) == name


@pytest.mark.parametrize(
    ("message", "name"),
    [
        ("我叫张三，明天下午3点保养", "张三"),
        ("姓名：李四 13800138000", "李四"),
        ("称呼：赵六。", "赵六"),
        ("名字是王五", "王五"),
        ("我叫欧阳娜娜", "欧阳娜娜"),
        ("张先生 13800138000 粤A12345 明天下午3点保养", "张先生"),
        ("明天下午3点 粤A12345 王女士", "王女士"),
        # Chinese has no spaces: where the name ends is not guessed.
        ("我叫张三明天下午三点保养", None),
        ("张先生的车粤A12345", None),
        # No marker, no name: a bare word could be anything.
        ("张三 13800138000", None),
        ("我是车主", None),
        ("我姓张", None),
        ("先生", None),
    ],
)
def test_marked_name(message: str, name: str | None) -> None:
    assert crm.marked_name(message) == name
