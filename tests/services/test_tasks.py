"""Tasks service: reading assignments out of text, linking customers, completing, revoking, statistics."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import Customer, OutboxMessage, Staff, StaffRole, Task, TaskKind, TaskStatus, Vehicle
from bot.services import tasks

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 10, 30, tzinfo=TZ)  # Saturday


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "names", "rest"),
    [
        ("@张三 周五前 回访客户王五", ["张三"], "周五前 回访客户王五"),
        ("@张三 @李四 准备物料", ["张三", "李四"], "准备物料"),
        ("@张三@李四 准备物料", ["张三", "李四"], "准备物料"),
        ("@张三周五前回访客户", ["张三"], "周五前回访客户"),
        ("＠张三 回访", ["张三"], "回访"),
        ("回访客户 @张三", ["张三"], "回访客户"),
        ("@张三 @张三 回访", ["张三"], "回访"),
        ("@赵六 回访", ["赵六"], "回访"),
        ("@张三丰 回访", ["张三丰"], "回访"),
        ("回访客户王五", [], "回访客户王五"),
    ],
)
def test_split_mentions(text: str, names: list[str], rest: str) -> None:
    assert tasks.split_mentions(text, ["张三", "李四", "张三丰"]) == (names, rest)


@pytest.mark.parametrize(
    ("text", "due", "rest"),
    [
        ("周五前 回访客户王五 保养报价", date(2026, 12, 4), "回访客户王五 保养报价"),
        ("周五前回访客户王五", date(2026, 12, 4), "回访客户王五"),
        ("回访客户李雷周五前", date(2026, 12, 4), "回访客户李雷"),
        ("回访客户王五 截止周五", date(2026, 12, 4), "回访客户王五"),
        ("明天上午10点 回访客户", at(11, 29, 10), "回访客户"),
        ("明天 下午3点 回访客户", at(11, 29, 15), "回访客户"),
        ("12月3号前 交保险单", date(2026, 12, 3), "交保险单"),
        ("整理档案 下周三之前", date(2026, 12, 2), "整理档案"),
        ("准备周末活动物料", None, "准备周末活动物料"),
        ("明天下午3点前 准备周末活动物料", at(11, 29, 15), "准备周末活动物料"),
        ("回访客户 13800001111", None, "回访客户 13800001111"),
        ("回访 粤A12345 车主", None, "回访 粤A12345 车主"),
        ("", None, ""),
    ],
)
def test_split_deadline(text: str, due: date | None, rest: str) -> None:
    assert tasks.split_deadline(text, NOW) == (due, rest)


def test_a_date_alone_is_due_at_the_end_of_the_working_day() -> None:
    assert tasks.due_from(date(2026, 12, 4), TZ) == at(12, 4, 18)
    assert tasks.due_from(at(12, 4, 9, 30), TZ) == at(12, 4, 9, 30)


async def make_customer(name: str, mobile: str, plate: str | None = None) -> Customer:
    person = await Customer.create(name=name, mobile=mobile, created_at=NOW)
    if plate:
        await Vehicle.create(customer=person, plate=plate, created_at=NOW)
    return person


async def test_find_customer_by_code_mobile_plate_and_name(database: str) -> None:
    wang = await make_customer("王五", "13800001111", "粤A12345")
    other_wang = await make_customer("王五", "13800002222")
    li = await make_customer("李雷", "13800003333", "粤B33333")
    wang_yi = await make_customer("王五一", "13800004444")

    assert await tasks.find_customer(f"回访 C{li.id}") == tasks.CustomerLink(li, 1)
    assert await tasks.find_customer("回访 13800001111 报价") == tasks.CustomerLink(wang, 1)
    assert await tasks.find_customer("粤B33333 保险到期") == tasks.CustomerLink(li, 1)
    assert await tasks.find_customer("回访客户李雷") == tasks.CustomerLink(li, 1)
    # Two customers called 王五: not linked, and the count says why.
    assert await tasks.find_customer("回访客户王五") == tasks.CustomerLink(None, 2)
    # "王五一" is the longer name, not 王五 as well.
    assert await tasks.find_customer("回访王五一") == tasks.CustomerLink(wang_yi, 1)
    assert await tasks.find_customer("整理展厅") == tasks.CustomerLink(None, 0)
    # A mobile nobody has falls back to the name.
    assert await tasks.find_customer("回访李雷 13900000000") == tasks.CustomerLink(li, 1)
    del other_wang


async def staff(name: str, *, openid: str | None = None, role: StaffRole = StaffRole.CLERK) -> Staff:
    return await Staff.create(name=name, mobile="13900000000", role=role, openid=openid, created_at=NOW)


async def test_assign_skips_staff_deactivated_since_they_were_named(database: str) -> None:
    boss = await staff("王店长", role=StaffRole.MANAGER)
    zhang, li = await staff("张三", openid="o_zhang"), await staff("李四")
    await Staff.filter(id=li.id).update(active=False)
    done = await tasks.assign(
        "回访", [zhang.id, li.id, zhang.id], NOW, tz=TZ, due_at=None, created_by_id=boss.id, customer_id=None
    )
    assert [a.assignee.id for a in done] == [zhang.id]
    assert await Task.all().count() == 1
    # Only the bound clerk gets the template.
    assert await OutboxMessage.filter(openid="o_zhang").count() == 1


async def test_system_tasks_are_created_once_per_dedupe_key(database: str) -> None:
    zhang = await staff("张三", openid="o_zhang")
    first = await tasks.create("回访未到客户", zhang, NOW, tz=TZ, kind=TaskKind.NO_SHOW, dedupe_key="noshow:1")
    again = await tasks.create("回访未到客户", zhang, NOW, tz=TZ, kind=TaskKind.NO_SHOW, dedupe_key="noshow:1")
    assert first is not None and again is None
    assert await Task.all().count() == 1 and await OutboxMessage.all().count() == 1


async def test_completing_or_revoking_twice_takes_effect_once(database: str) -> None:
    zhang = await staff("张三")
    task = await tasks.create("回访", zhang, NOW, tz=TZ)
    assert task is not None
    results = await asyncio.gather(tasks.complete(task.id, NOW, "好了"), tasks.complete(task.id, NOW, "也好了"))
    assert sorted(results) == [False, True]
    assert not await tasks.revoke(task.id, NOW)
    row = await Task.get(id=task.id)
    assert row.status == TaskStatus.DONE and row.revoked_at is None


async def test_open_tasks_overdue_first_then_by_deadline_then_without(database: str) -> None:
    zhang = await staff("张三")
    made = {}
    for title, due in (("none", None), ("late", at(11, 26, 18)), ("soon", at(11, 28, 18)), ("later", at(12, 3, 18))):
        made[title] = await tasks.create(title, zhang, NOW, tz=TZ, due_at=due)
    revoked = await tasks.create("revoked", zhang, NOW, tz=TZ, due_at=at(11, 20, 18))
    assert revoked is not None
    await tasks.revoke(revoked.id, NOW)
    assert [t.title for t in await tasks.open_tasks(zhang.id)] == ["late", "soon", "later", "none"]


async def test_stats_without_deadlines_have_no_on_time_rate(database: str) -> None:
    zhang = await staff("张三")
    await staff("王店长", role=StaffRole.MANAGER)
    task = await tasks.create("回访", zhang, NOW, tz=TZ)
    assert task is not None
    await tasks.complete(task.id, NOW)
    [row] = await tasks.stats(at(11, 23, 0), at(11, 30, 0), NOW)
    assert (row.name, row.open, row.done, row.overdue, row.on_time_rate) == ("张三", 0, 1, 0, None)
    # A task done at its deadline is on time.
    timed = await tasks.create("准时", zhang, NOW, tz=TZ, due_at=at(11, 28, 12))
    assert timed is not None
    await tasks.complete(timed.id, at(11, 28, 12))
    [row] = await tasks.stats(at(11, 23, 0), at(11, 30, 0), NOW.astimezone(UTC))
    assert (row.done, row.done_with_due, row.done_on_time, row.on_time_rate) == (2, 1, 1, 1.0)


async def test_create_many_writes_each_key_once_with_its_notice(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.services import outbox

    monkeypatch.setattr(outbox, "INSERT_CHUNK", 2)  # several statements, a repeated key across and within them
    bound = await Staff.create(name="张三", mobile="13900000001", role=StaffRole.CLERK, openid="o_zs", created_at=NOW)
    unbound = await Staff.create(name="李四", mobile="13900000002", role=StaffRole.CLERK, created_at=NOW)
    customer = await Customer.create(name="王五", mobile="13800000005", created_at=NOW)
    assert await tasks.create(
        "已有的任务", bound, NOW, tz=TZ, dedupe_key="k:taken", kind=TaskKind.MAINTENANCE
    )  # one notice
    wanted = [
        tasks.NewTask("回访一", bound, due_at=at(11, 29, 18), customer=customer, dedupe_key="k:1"),
        tasks.NewTask("已有的任务", bound, dedupe_key="k:taken"),
        tasks.NewTask("回访二", unbound, dedupe_key="k:2"),
        tasks.NewTask("回访一（重复）", bound, dedupe_key="k:1"),
        tasks.NewTask("回访三", bound, kind=TaskKind.MAINTENANCE, dedupe_key="k:3"),
    ]
    created = await tasks.create_many(wanted, NOW, tz=TZ)
    assert [t.title for t in created] == ["回访一", "回访二", "回访三"]
    assert all(t.id for t in created)
    rows = {t.dedupe_key: t for t in await Task.all()}
    assert sorted(rows) == ["k:1", "k:2", "k:3", "k:taken"]
    assert rows["k:1"].customer_id == customer.id and rows["k:1"].due_at == at(11, 29, 18)
    assert rows["k:3"].kind == TaskKind.MAINTENANCE and rows["k:2"].assignee_id == unbound.id
    # The bound assignee is told of each new task once; the one without WeChat gets nothing.
    notices = await OutboxMessage.filter(purpose="task_assigned").order_by("id")
    assert [n.openid for n in notices] == ["o_zs"] * 3
    assert [n.payload["values"]["task"] for n in notices] == ["已有的任务", "回访一", "回访三"]
    assert notices[1].payload["values"]["due"] == "11月29日 18:00"
    assert notices[1].payload["values"]["customer"] == "王五"
    # Run again: nothing new.
    assert await tasks.create_many(wanted, NOW, tz=TZ) == []
    assert await Task.all().count() == 4 and await OutboxMessage.filter(purpose="task_assigned").count() == 3


async def test_create_many_refuses_tasks_without_a_key(database: str) -> None:
    member = await Staff.create(name="张三", mobile="13900000001", role=StaffRole.CLERK, created_at=NOW)
    with pytest.raises(ValueError, match="dedupe_key"):
        await tasks.create_many([tasks.NewTask("回访", member)], NOW, tz=TZ)
    assert not await Task.exists()
