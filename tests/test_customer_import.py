"""Customer import and export: good files, every kind of bad row, encodings, duplicates, reruns, round trips."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from tortoise import Tortoise
from tortoise.connection import connections

from bot import db
from bot.models import Customer, CustomerSource, MileageReading, OwnerChange, Staff, StaffRole, Vehicle
from bot.models.booking import reverse
from bot.services import customers_cli
from bot.settings import Settings

TZ = ZoneInfo("Asia/Shanghai")
# Saturday 28 November 2026, 10:30 store time, as in every other test.
NOW = datetime(2026, 11, 28, 10, 30, tzinfo=TZ)
HEADER = ["姓名", "手机", "车牌", "车型", "VIN", "购车日期", "里程", "负责顾问"]
VIN_A = "LSVAB1234C5678901"
VIN_B = "LFV2A21K8G3012345"


async def run(*argv: str) -> tuple[int, str, str]:
    """`python -m bot customers <argv>` against the test database at NOW: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = await customers_cli.execute(customers_cli.parser().parse_args(argv), NOW.astimezone(UTC), TZ, out, err)
    return code, out.getvalue(), err.getvalue()


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def read_rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


async def clerk(name: str, employee_no: str | None = None, *, active: bool = True) -> Staff:
    return await Staff.create(
        name=name,
        mobile="13900000000",
        employee_no=employee_no,
        role=StaffRole.CLERK,
        active=active,
        created_at=NOW.astimezone(UTC),
    )


async def customer(name: str, mobile: str, plate: str | None = None, **car: Any) -> Customer:
    record = await Customer.create(
        name=name, mobile=mobile, owner_id=car.pop("owner_id", None), created_at=NOW.astimezone(UTC)
    )
    if plate:
        await Vehicle.create(
            customer=record, plate=plate, plate_rev=reverse(plate), created_at=record.created_at, **car
        )
    return record


async def snapshot() -> dict[str, Any]:
    """Everything an import could touch: row counts, and each customer's and vehicle's stored values."""
    return {
        "counts": [await m.all().count() for m in (Customer, Vehicle, OwnerChange, MileageReading)],
        "customers": await Customer.all().order_by("id").values_list("id", "name", "mobile", "owner_id", "updated_at"),
        "vehicles": await Vehicle.all().order_by("id").values_list("id", "plate", "model", "vin", "mileage"),
    }


async def test_a_good_file_creates_customers_cars_owner_log_and_readings(database: str, tmp_path: Path) -> None:
    zhang = await clerk("张三")
    li = await clerk("李娜", "E007")
    source = write_csv(
        tmp_path / "客户.csv",
        [
            [*HEADER, "备注"],
            ["王五", "138 0000 1111", "粤A·12345", "卡罗拉", VIN_A, "2024-03-01", "3.2万", "张三", "老客户"],
            ["王五", "13800001111", "粤B54321", "凯美瑞", "", "2024/3/1", "8000公里", "", ""],
            ["赵六", "+86 139-0000-2222", "", "", "", "", "", "E007", ""],
        ],
    )
    code, out, err = await run("import", str(source))
    assert code == 0 and err == ""
    assert "共 3 行数据" in out and "未使用的列：备注" in out
    assert "新建 3 行（新客户 2 位，新车辆 2 辆）；更新 0 行；无变化 0 行；拒绝 0 行" in out
    assert "没有被拒绝的行" in out
    assert not (tmp_path / "客户.rejects.csv").exists()

    wang = await Customer.get(mobile="13800001111")
    assert (wang.name, wang.source, wang.mobile_rev, wang.owner_id) == (
        "王五",
        CustomerSource.IMPORT,
        "11110000831",
        zhang.id,
    )
    cars = await Vehicle.filter(customer_id=wang.id).order_by("plate")
    assert [(v.plate, v.plate_rev, v.model, v.vin, v.purchase_date, v.mileage) for v in cars] == [
        ("粤A12345", "54321A粤", "卡罗拉", VIN_A, date(2024, 3, 1), 32000),
        ("粤B54321", "12345B粤", "凯美瑞", None, date(2024, 3, 1), 8000),
    ]
    readings = await MileageReading.all().order_by("km").values_list("km", "source")
    assert readings == [(8000, "import"), (32000, "import")]
    zhao = await Customer.get(mobile="13900002222")
    assert zhao.owner_id == li.id and await Vehicle.filter(customer_id=zhao.id).count() == 0
    log = await OwnerChange.all().order_by("id").values_list("customer_id", "from_staff_id", "to_staff_id", "reason")
    assert log == [(wang.id, None, zhang.id, "导入"), (zhao.id, None, li.id, "导入")]


async def test_every_kind_of_bad_row_is_reported_and_the_rest_imported(database: str, tmp_path: Path) -> None:
    await clerk("张三")
    await clerk("刘洋", "E1")
    await clerk("刘洋", "E2")
    await clerk("离职", active=False)
    other = await customer("老客户", "13700007777", "粤C77777", vin=VIN_B)
    await customer("另一位", "13700008888")
    rows = [
        HEADER,
        ["好人", "13800000001", "粤A00001", "", "", "", "", "张三"],  # 2: imported
        ["坏手机", "138001", "粤A00002", "", "", "", "", ""],
        ["坏车牌", "13800000003", "粤A1", "", "", "", "", ""],
        ["坏VIN", "13800000004", "粤A00004", "", "LSVAB1234C567890I", "", "", ""],
        ["坏日期", "13800000005", "粤A00005", "", "", "2024-13-01", "", ""],
        ["未来日期", "13800000006", "粤A00006", "", "", "2027-01-01", "", ""],
        ["坏里程", "13800000007", "粤A00007", "", "", "", "很多", ""],
        ["没这人", "13800000008", "粤A00008", "", "", "", "", "孙悟空"],
        ["已停用", "13800000009", "粤A00009", "", "", "", "", "离职"],
        ["重名", "13800000010", "粤A00010", "", "", "", "", "刘洋"],
        ["另一位", "13700008888", "粤C77777", "", "", "", "", ""],
        ["别人VIN", "13800000012", "粤A00012", "", VIN_B, "", "", ""],
        ["重复车牌", "13800000013", "粤A00001", "", "", "", "", ""],
        ["好人", "13800000001", "粤A00015", "", "", "", "", ""],  # 15: a second car of row 2's customer
        ["改名", "13800000001", "粤A00016", "", "", "", "", ""],
        ["好人", "13800000001", "", "", "", "", "", ""],
        ["", "13800000018", "粤A00018", "", "", "", "", ""],
        ["没车牌", "13800000019", "", "轩逸", "", "", "", ""],
        ["两处错", "12345", "京", "", "", "", "", ""],
        ["", "", "", "", "", "", "", ""],  # 21: a blank line, not a record
    ]
    source = write_csv(tmp_path / "bad.csv", rows)
    code, out, _ = await run("import", str(source), "--rejects", str(tmp_path / "r.csv"))
    assert code == 0
    assert "共 19 行数据" in out
    assert "新建 2 行（新客户 1 位，新车辆 2 辆）" in out and "拒绝 17 行" in out
    assert "完成：17 行被拒绝、未导入，其余行已处理。" in out
    assert "  第 3 行：手机号无效：138001" in out and "……另有 7 行" in out
    report = read_rejects(tmp_path / "r.csv")
    assert report[0] == ["行号", "原因", *HEADER]
    reasons = {int(r[0]): r[1] for r in report[1:]}
    assert reasons == {
        3: "手机号无效：138001",
        4: "车牌无效：粤A1",
        5: "VIN 无效：LSVAB1234C567890I（应为 17 位字母或数字，不含 I、O、Q）",
        6: "购车日期无效：2024-13-01",
        7: "购车日期无效：2027-01-01（不在 1950 年到今天之间）",
        8: "里程无效：很多",
        9: "负责顾问不存在或已停用：孙悟空",
        10: "负责顾问不存在或已停用：离职",
        11: "负责顾问重名：刘洋（有 2 位同名员工，请填工号）",
        12: f"车牌已登记在其他客户名下：粤C77777（C{other.id}）",
        13: "VIN 已登记在其他车辆上：LFV2A21K8G3012345（车牌 粤C77777）",
        14: "与前面的行重复：车牌 粤A00001 已在第 2 行",
        16: "与前面的行矛盾：与第 2 行是同一客户，但姓名不同（好人）",
        17: "与前面的行重复：与第 2 行是同一客户，且没有新的车辆",
        18: "姓名为空",
        19: "有车辆信息但没有车牌",
        20: "手机号无效：12345；车牌无效：京",
    }
    assert report[1][2:] == ["坏手机", "138001", "粤A00002", "", "", "", "", ""]
    good = await Customer.get(mobile="13800000001")
    assert sorted(await Vehicle.filter(customer_id=good.id).values_list("plate", flat=True)) == ["粤A00001", "粤A00015"]
    assert await Customer.all().count() == 3 and await Vehicle.all().count() == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
async def test_csv_saved_by_excel_in_any_encoding(database: str, tmp_path: Path, encoding: str) -> None:
    source = write_csv(
        tmp_path / "gbk.csv",
        [
            ["客户姓名", "联系电话", "车牌号", "车架号", "购买日期", "里程(km)"],
            ["欧阳娜娜", "13800001111", "粤A12345", VIN_A, "2024年3月1日", "12,345"],
        ],
        encoding,
    )
    code, out, _ = await run("import", str(source))
    assert code == 0 and "新建 1 行" in out
    car = await Vehicle.get(plate="粤A12345").prefetch_related("customer")
    assert (car.customer.name, car.vin, car.purchase_date, car.mileage) == ("欧阳娜娜", VIN_A, date(2024, 3, 1), 12345)


async def test_xlsx_with_excel_dates_and_numbers(database: str, tmp_path: Path) -> None:
    source = write_xlsx(
        tmp_path / "cars.xlsx",
        [
            HEADER,
            ["甲", 13800000001, "粤A00001", "", "", datetime(2023, 5, 20), 32000.0, None],
            ["乙", 13800000002, "粤A00002", "", "", "2024/3/1", "3.5万公里", None],
            ["丙", "13800000003", "粤A00003", "", "", 45352, None, None],
            ["丁", "13800000004", "粤A00004", "", "", "20240301", "", None],
        ],
    )
    code, out, _ = await run("import", str(source))
    assert code == 0 and "新建 4 行" in out
    cars = await Vehicle.all().order_by("plate").values_list("purchase_date", "mileage")
    assert cars == [
        (date(2023, 5, 20), 32000),
        (date(2024, 3, 1), 35000),
        (date(2024, 3, 1), None),
        (date(2024, 3, 1), None),
    ]
    assert sorted(await Customer.all().values_list("mobile", flat=True)) == [f"1380000000{n}" for n in range(1, 5)]


async def test_duplicates_are_left_alone_unless_updating(database: str, tmp_path: Path) -> None:
    old, new = await clerk("老顾问"), await clerk("新顾问")
    known = await customer("王五", "13800001111", "粤A12345", owner_id=old.id, model="卡罗拉", mileage=10000)
    moved = await customer("赵六", "13700002222", "粤B22222")
    source = write_csv(
        tmp_path / "dup.csv",
        [
            HEADER,
            ["王五五", "13800001111", "粤A12345", "卡罗拉双擎", "", "", "20000", "新顾问"],
            ["赵六", "13900003333", "粤B22222", "", "", "", "", ""],  # the same car under a new mobile
            ["王五五", "13800001111", "粤A99999", "", "", "", "", ""],  # a second car for 王五
        ],
    )
    before = await snapshot()
    code, out, _ = await run("import", str(source))
    assert code == 0
    assert "新建 0 行" in out and "跳过 3 行（客户已存在且内容不同，加 --on-duplicate update 可更新）" in out
    assert await snapshot() == before

    code, out, _ = await run("import", str(source), "--on-duplicate", "update")
    assert code == 0 and "更新 3 行" in out and "新建 0 行（新客户 0 位，新车辆 1 辆）" in out
    await known.refresh_from_db()
    assert (known.name, known.owner_id, known.updated_at) == ("王五五", new.id, NOW.astimezone(UTC))
    car = await Vehicle.get(plate="粤A12345")
    assert (car.model, car.mileage, car.mileage_at) == ("卡罗拉双擎", 20000, NOW.astimezone(UTC))
    assert await Vehicle.filter(customer_id=known.id).count() == 2
    assert await MileageReading.filter(vehicle_id=car.id).values_list("km", "source") == [(20000, "import")]
    log = await OwnerChange.all().values_list("customer_id", "from_staff_id", "to_staff_id", "by_staff_id", "reason")
    assert log == [(known.id, old.id, new.id, None, "导入")]
    await moved.refresh_from_db()
    assert (moved.mobile, moved.mobile_rev) == ("13900003333", "33330000931")


async def test_a_lower_mileage_than_recorded_is_refused_when_updating(database: str, tmp_path: Path) -> None:
    await customer("王五", "13800001111", "粤A12345", mileage=50000)
    source = write_csv(tmp_path / "km.csv", [HEADER, ["王五", "13800001111", "粤A12345", "", "", "", "40000", ""]])
    code, out, _ = await run("import", str(source), "--on-duplicate", "update")
    assert code == 0 and "第 2 行：里程低于系统记录：40000 公里，系统中为 50000 公里" in out
    assert (await Vehicle.get(plate="粤A12345")).mileage == 50000


@pytest.mark.parametrize("mode", ["skip", "update"])
async def test_rerunning_a_file_changes_nothing(database: str, tmp_path: Path, mode: str) -> None:
    await clerk("张三")
    rows = [HEADER] + [
        [f"客户{n}", f"1380000{n:04d}", f"粤A{n:05d}", "朗逸", "", "2022-01-15", 1000 * n, "张三"] for n in range(1, 8)
    ]
    rows.append(["客户1", "13800000001", "粤B00001", "", "", "", "", "张三"])
    rows.append(["坏", "1", "", "", "", "", "", ""])
    source = write_xlsx(tmp_path / "again.xlsx", rows)
    code, out, _ = await run("import", str(source), "--on-duplicate", mode)
    assert code == 0 and "新建 8 行（新客户 7 位，新车辆 8 辆）" in out and "拒绝 1 行" in out
    first = await snapshot()
    code, out, _ = await run("import", str(source), "--on-duplicate", mode)
    assert code == 0
    assert "新建 0 行（新客户 0 位，新车辆 0 辆）；更新 0 行；无变化 8 行；拒绝 1 行" in out
    assert await snapshot() == first


async def test_export_then_import_is_a_no_op(database: str, tmp_path: Path) -> None:
    zhang = await clerk("张三")
    await clerk("同名", "E1")
    twin = await clerk("同名", "E2")
    gone = await clerk("离职", active=False)
    a = await customer("甲", "13800000001", "粤A00001", owner_id=zhang.id, model="卡罗拉", vin=VIN_A, mileage=12000)
    await Vehicle.create(
        customer=a, plate="粤A00002", plate_rev="20000A粤", purchase_date=date(2021, 6, 30), created_at=a.created_at
    )
    await customer("乙", "13800000002", owner_id=twin.id)
    await customer("丙", "13800000003", "粤D12345D", owner_id=gone.id)
    target = tmp_path / "export.xlsx"
    code, out, _ = await run("export", str(target))
    assert code == 0 and f"已导出 3 位客户、4 行到 {target}" in out
    sheet = load_workbook(target, read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows == [
        HEADER,
        ["甲", "13800000001", "粤A00001", "卡罗拉", VIN_A, None, 12000, "张三"],
        ["甲", "13800000001", "粤A00002", None, None, datetime(2021, 6, 30), None, "张三"],
        ["乙", "13800000002", None, None, None, None, None, "E2"],
        ["丙", "13800000003", "粤D12345D", None, None, None, None, None],
    ]
    before = await snapshot()
    code, out, _ = await run("import", str(target), "--on-duplicate", "update")
    assert code == 0 and "无变化 4 行；拒绝 0 行" in out
    assert await snapshot() == before


async def test_a_missing_required_column_stops_before_writing(database: str, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "nomobile.csv", [["姓名", "车牌"], ["王五", "粤A12345"]])
    code, out, err = await run("import", str(source))
    assert code == 2 and out == ""
    assert err.startswith("无法导入：缺少必需的列：手机（可写作：手机、手机号、手机号码、移动电话、电话）")
    assert "文件第一行的列名是：姓名、车牌" in err
    assert await Customer.all().count() == 0 and not (tmp_path / "nomobile.rejects.csv").exists()


async def test_unusable_inputs_exit_2(database: str, tmp_path: Path) -> None:
    assert (await run("import", str(tmp_path / "none.xlsx")))[2].startswith("无法导入：找不到文件")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf")
    assert "另存为” .xlsx" in (await run("import", str(tmp_path / "old.xls")))[2]
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    code, _, err = await run("import", str(tmp_path / "broken.xlsx"))
    assert code == 2 and "无法读取 Excel 文件" in err
    (tmp_path / "empty.csv").write_bytes(b"")
    assert (await run("import", str(tmp_path / "empty.csv")))[:3:2] == (2, "无法导入：empty.csv 是空的\n")
    assert (await run("export", str(tmp_path / "out.csv")))[0] == 2


async def _wipe(url: str) -> None:
    await db.connect(Settings(database_url=url))
    try:
        conn = connections.get("default")
        for model in Tortoise.apps["models"].values():
            if model._meta.db_table != "aerich":
                await conn.execute_script(f'DELETE FROM "{model._meta.db_table}"')
    finally:
        await db.disconnect()


def test_the_command_line_imports_and_exports(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_wipe(database_url))
    settings = Settings(database_url=database_url)
    source = write_csv(
        tmp_path / "in.csv", [HEADER, ["王五", "13800001111", "粤A12345", "", "", "", "", ""], ["坏", "1"]]
    )
    assert customers_cli.main(["import", str(source)], settings) == 0
    out = capsys.readouterr().out
    assert "新建 1 行" in out and "拒绝 1 行" in out and f"已写入 {tmp_path / 'in.rejects.csv'}" in out
    assert read_rejects(tmp_path / "in.rejects.csv")[1][:2] == ["3", "手机号无效：1"]
    assert customers_cli.main(["export", str(tmp_path / "out.xlsx")], settings) == 0
    assert "已导出 1 位客户、1 行" in capsys.readouterr().out
    assert customers_cli.main(["import", str(tmp_path / "out.xlsx")], settings) == 0
    assert "无变化 1 行；拒绝 0 行" in capsys.readouterr().out
    assert not (tmp_path / "out.rejects.csv").exists()


def test_the_command_line_migrates_a_fresh_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=f"sqlite://{tmp_path / 'fresh.sqlite3'}")
    source = write_csv(tmp_path / "in.csv", [HEADER, ["王五", "13800001111", "", "", "", "", "", ""]])
    assert customers_cli.main(["import", str(source)], settings) == 0
    assert "新建 1 行（新客户 1 位，新车辆 0 辆）" in capsys.readouterr().out
