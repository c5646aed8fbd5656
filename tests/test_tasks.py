"""Managers assign tasks by chat and staff work through them: transcripts through the real webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.models import Staff, StaffRole, Task, TaskStatus
from bot.services import roles, tasks
from tests.conftest import Clock
from tests.personas import People, StaffUser
from tests.wechat_helper import eventually

TZ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def templates(user: StaffUser) -> list[dict[str, Any]]:
    return [d.payload for d in user.inbox() if d.kind == "template"]


def texts(user: StaffUser) -> list[str]:
    return [d.payload["text"]["content"] for d in user.inbox() if d.kind == "text"]


async def give(
    assignee: StaffUser, title: str, now: datetime, *, due: datetime | None = None, by: StaffUser | None = None
) -> Task:
    """A task made through the service, as 派任务 or a system sweep would make it."""
    task = await tasks.create(title, assignee.staff, now, tz=TZ, due_at=due, created_by=by.staff if by else None)
    assert task is not None
    return task


# --- 派任务 in one line -----------------------------------------------------------------------------------


async def test_one_liner_assigns_a_task_with_deadline_and_linked_customer(people: People) -> None:
    boss = await people.manager("王店长")
    clerk = await people.clerk("张三")
    customer = await people.customer("王五", "13800001111", "粤A12345", owner=clerk.staff)

    reply = await boss.says("派任务 @张三 周五前 回访客户王五 保养报价")

    [task] = await Task.all()
    assert reply == (
        f"已派出 1 个任务：回访客户王五 保养报价\nT{task.id} 张三，12月4日（周五）截止\n关联客户：王五 C{customer.id}"
    )
    assert task.title == "回访客户王五 保养报价" and task.status == TaskStatus.OPEN
    assert task.assignee_id == clerk.staff.id and task.created_by_id == boss.staff.id
    assert task.customer_id == customer.id and task.due_at == at(12, 4, 18)
    # The clerk is told at once, by the new-task template through the outbox.
    await eventually(lambda: len(templates(clerk)) == 1)
    assert templates(clerk)[0]["data"] == {
        "thing1": {"value": "回访客户王五 保养报价"},
        "time2": {"value": "12月4日 18:00"},
        "thing3": {"value": "王五"},
        "thing4": {"value": "王店长"},
    }


async def test_two_assignees_get_one_task_each(people: People) -> None:
    boss = await people.manager("王店长")
    zhang, li = await people.clerk("张三"), await people.clerk("李四")

    reply = await boss.says("派任务 @张三 @李四 明天下午3点前 准备周末活动物料")

    rows = await Task.all().order_by("id")
    assert [t.assignee_id for t in rows] == [zhang.staff.id, li.staff.id]
    assert {t.title for t in rows} == {"准备周末活动物料"}
    assert all(t.due_at == at(11, 29, 15) and t.customer_id is None for t in rows)
    assert reply is not None and reply.startswith("已派出 2 个任务：准备周末活动物料")
    assert f"T{rows[0].id} 张三，明天 15:00 截止" in reply and f"T{rows[1].id} 李四，明天 15:00 截止" in reply
    await eventually(lambda: len(templates(zhang)) == 1 and len(templates(li)) == 1)


async def test_namesakes_are_told_apart_and_picked_by_number(people: People) -> None:
    boss = await people.manager("王店长")
    first = await people.clerk("张三", mobile="13911112222")
    second = await people.clerk("张三", mobile="13933334444")
    await Staff.filter(id=first.staff.id).update(employee_no="A001")
    li = await people.clerk("李四")

    reply = await boss.says("派任务 @张三 @李四 周五前 回访客户 保养报价")
    assert reply == "有 2 位店员叫“张三”，请回复序号选择：\n1. 张三（工号 A001）\n2. 张三（139****4444）"
    assert await Task.all().count() == 0

    confirm = await boss.says("2")
    assert confirm is not None and confirm.startswith("请确认任务：\n派给：李四、张三（139****4444）\n")
    assert "内容：回访客户 保养报价\n截止：12月4日（周五）18:00" in confirm

    done = await boss.says("确认")
    assert done is not None and done.startswith("已派出 2 个任务")
    assert sorted(t.assignee_id for t in await Task.all()) == sorted([second.staff.id, li.staff.id])
    await eventually(lambda: len(templates(second)) == 1)
    assert templates(first) == []


async def test_a_wrong_pick_asks_again(people: People) -> None:
    boss = await people.manager("王店长")
    await people.clerk("张三")
    await people.clerk("张三")
    assert "请回复序号" in (await boss.says("派任务 @张三 回访客户") or "")
    again = await boss.says("3")
    assert again is not None and again.startswith("有 2 位店员叫“张三”")
    assert await Task.all().count() == 0


async def test_unknown_name_says_so_and_lists_active_staff(people: People) -> None:
    boss = await people.manager("王店长")
    await people.clerk("张三")
    gone = await people.clerk("赵六")
    await Staff.filter(id=gone.staff.id).update(active=False)

    reply = await boss.says("派任务 @赵六 回访客户王五")

    assert reply == "没有找到在职店员“赵六”。在职店员有：王店长、张三"
    assert await Task.all().count() == 0


@pytest.mark.parametrize(
    ("typed", "title", "due", "words"),
    [
        ("派任务 @张三 明天上午10点 回访客户", "回访客户", at(11, 29, 10), "明天 10:00 截止"),
        ("派任务 @张三 12月3日前 交保险单", "交保险单", at(12, 3, 18), "12月3日（周四）截止"),
        ("派任务 @张三 今天 下午5点 整理展厅", "整理展厅", at(11, 28, 17), "今天 17:00 截止"),
        ("派任务 @张三周五前回访客户", "回访客户", at(12, 4, 18), "12月4日（周五）截止"),
        ("派任务 @张三 整理档案 下周三之前", "整理档案", at(12, 2, 18), "12月2日（周三）截止"),
        ("派任务 @张三 整理档案", "整理档案", None, "无截止时间"),
    ],
)
async def test_deadline_words_are_read_and_taken_out_of_the_title(
    people: People, typed: str, title: str, due: datetime | None, words: str
) -> None:
    boss = await people.manager("王店长")
    await people.clerk("张三")
    reply = await boss.says(typed)
    [task] = await Task.all()
    assert (task.title, task.due_at) == (title, due)
    assert reply is not None and f"T{task.id} 张三，{words}" in reply


async def test_a_deadline_in_the_past_is_refused(people: People) -> None:
    boss = await people.manager("王店长")
    await people.clerk("张三")
    assert (
        await boss.says("派任务 @张三 昨天 回访客户") == "截止时间 11月27日（周五）18:00 已经过了，请换一个以后的时间。"
    )
    assert await boss.says("派任务 @张三 今天上午9点 回访客户") == (
        "截止时间 11月28日（周六）09:00 已经过了，请换一个以后的时间。"
    )
    assert await Task.all().count() == 0


async def test_customer_linked_by_mobile_or_plate_but_not_when_two_match(people: People) -> None:
    boss = await people.manager("王店长")
    await people.clerk("张三")
    wang = await people.customer("王五", "13800001111", "粤A12345")
    await people.customer("王五", "13800002222", "粤B22222")
    lee = await people.customer("李雷", "13800003333", "粤C33333")

    by_mobile = await boss.says("派任务 @张三 回访 13800001111 报价")
    by_plate = await boss.says("派任务 @张三 粤C33333 保险到期提醒")
    by_name = await boss.says("派任务 @张三 回访客户王五")

    rows = await Task.all().order_by("id")
    assert [t.customer_id for t in rows] == [wang.id, lee.id, None]
    assert by_mobile is not None and f"关联客户：王五 C{wang.id}" in by_mobile
    assert by_plate is not None and f"关联客户：李雷 C{lee.id}" in by_plate
    assert by_name is not None and "文中的客户有 2 位匹配，未关联" in by_name


async def test_one_liner_without_a_name_or_content_explains_the_form(people: People) -> None:
    boss = await people.manager("王店长")
    await people.clerk("张三")
    assert (await boss.says("派任务 回访客户王五") or "").startswith("请这样派任务：派任务 @张三 周五前")
    assert (await boss.says("派任务 @张三 周五前") or "").startswith("请写上任务内容")
    assert await Task.all().count() == 0


async def test_an_assignee_who_never_bound_wechat_is_pointed_out(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    await Staff.create(name="孙七", mobile="13900009999", role=StaffRole.CLERK, active=True, created_at=clock.now)
    reply = await boss.says("派任务 @孙七 回访客户")
    assert reply is not None and "孙七 还没有绑定微信，收不到任务通知" in reply
    assert await Task.filter(title="回访客户").count() == 1


# --- 我的任务 -------------------------------------------------------------------------------------------


async def test_my_tasks_overdue_first_then_by_deadline_in_words(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    clerk = await people.clerk("张三")
    other = await people.clerk("李四")
    customer = await people.customer("王五", "13800001111", "粤A12345")
    now = clock.now
    none = await give(clerk, "整理档案", now)
    later = await give(clerk, "交保险单", now, due=at(12, 3, 18))
    tomorrow = await give(clerk, "准备物料", now, due=at(11, 29, 10))
    late = await give(clerk, "回访老客户", now - timedelta(days=3), due=at(11, 26, 18))
    today = await tasks.create("回访王五", clerk.staff, now, tz=TZ, due_at=at(11, 28, 18), customer=customer)
    assert today is not None
    await give(other, "别人的任务", now)
    done = await give(clerk, "做完的", now)
    await Task.filter(id=done.id).update(status=TaskStatus.DONE, done_at=now.astimezone(UTC))
    del boss

    reply = await clerk.says("我的任务")

    assert reply == (
        "您有 5 个未完成任务（1 个已逾期）：\n"
        f"T{late.id} 回访老客户\n　已逾期 2 天\n"
        f"T{today.id} 回访王五\n　今天 18:00 截止 · 客户 王五 C{customer.id}\n"
        f"T{tomorrow.id} 准备物料\n　明天 10:00 截止\n"
        f"T{later.id} 交保险单\n　12月3日（周四）截止\n"
        f"T{none.id} 整理档案\n　无截止时间\n"
        f"做完后回复“完成任务 编号 备注”，例如“完成任务 T{late.id} 已回访”。"
    )

    clock.advance(hours=8, minutes=15)  # 18:45: today's task is now overdue too
    evening = await clerk.says("我的任务")
    assert evening is not None and evening.startswith("您有 5 个未完成任务（2 个已逾期）")
    assert f"T{today.id} 回访王五\n　已逾期 45 分钟" in evening
    assert f"T{tomorrow.id} 准备物料\n　明天 10:00 截止" in evening
    clock.advance(hours=2)  # 20:45
    assert f"T{today.id} 回访王五\n　已逾期 2 小时" in (await clerk.says("我的任务") or "")


async def test_my_tasks_are_paged(people: People, clock: Clock) -> None:
    clerk = await people.clerk("张三")
    for n in range(7):
        await give(clerk, f"任务{n + 1}", clock.now, due=at(12, 1 + n, 18))
    first = await clerk.says("我的任务")
    assert first is not None and first.startswith("您有 7 个未完成任务：")
    assert "任务5" in first and "任务6" not in first and "（第1/2页，回复“下一页”继续）" in first
    rest = await clerk.says("下一页")
    assert rest is not None and "任务6" in rest and "任务7" in rest and "做完后回复" in rest


async def test_no_open_tasks(people: People) -> None:
    clerk = await people.clerk("张三")
    assert await clerk.says("我的任务") == "您目前没有未完成的任务。"


# --- 完成任务 -------------------------------------------------------------------------------------------


async def test_assignee_completes_with_a_note_and_the_manager_is_told(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    clerk = await people.clerk("张三")
    task = await give(clerk, "回访客户王五", clock.now, due=at(11, 28, 18), by=boss)
    await give(clerk, "整理档案", clock.now)
    clock.advance(hours=1)

    reply = await clerk.says(f"完成任务 T{task.id} 已回访，客户下周到店")

    # Command arguments arrive NFKC-normalised (full-width punctuation as half-width).
    assert reply == (
        f"已完成任务 T{task.id}：回访客户王五\n备注：已回访,客户下周到店\n您还有 1 个未完成任务，回复“我的任务”查看。"
    )
    await task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_at == clock.now and task.note == "已回访,客户下周到店"
    await eventually(lambda: len(texts(boss)) == 1)
    assert texts(boss) == [f"张三完成了任务 T{task.id}：回访客户王五\n备注：已回访,客户下周到店"]
    # Completing it again changes nothing and says when it was done.
    again = await clerk.says(f"完成任务 t{task.id}")
    assert again == f"任务 T{task.id} 已于 11月28日（周六）11:30 完成，无需再次完成。"
    assert "回访客户王五" not in (await clerk.says("我的任务") or "")


async def test_a_clerk_cannot_complete_someone_elses_task_but_a_manager_can(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    zhang, li = await people.clerk("张三"), await people.clerk("李四")
    task = await give(zhang, "回访客户", clock.now, by=boss)

    refused = await li.says(f"完成任务 T{task.id}")
    assert refused == f"任务 T{task.id} 是派给张三的，只有张三本人或店长可以完成。"
    assert (await Task.get(id=task.id)).status == TaskStatus.OPEN

    done = await boss.says(f"完成任务 T{task.id}")
    assert done == f"已完成任务 T{task.id}：回访客户"
    await task.refresh_from_db()
    assert task.status == TaskStatus.DONE


async def test_finish_needs_a_task_that_exists(people: People) -> None:
    clerk = await people.clerk("张三")
    assert await clerk.says("完成任务") == "请带上任务编号，例如“完成任务 T12”。回复“我的任务”可查看编号。"
    assert await clerk.says("完成任务 T999") == "没有找到任务 T999，请核对编号（回复“我的任务”可查看）。"


# --- 撤销任务 -------------------------------------------------------------------------------------------


async def test_manager_revokes_and_the_assignee_is_told(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    clerk = await people.clerk("张三")
    task = await give(clerk, "回访客户王五", clock.now, by=boss)

    assert await clerk.says(f"撤销任务 T{task.id}") == "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。"
    assert (await Task.get(id=task.id)).status == TaskStatus.OPEN

    reply = await boss.says(f"撤销任务 T{task.id}")
    assert reply == f"已撤销任务 T{task.id}：回访客户王五（张三）。已通知张三。"
    await task.refresh_from_db()
    assert task.status == TaskStatus.REVOKED and task.revoked_at == clock.now
    await eventually(lambda: len(texts(clerk)) == 1)
    assert texts(clerk) == [f"任务 T{task.id} 已被王店长撤销：回访客户王五。无需再处理。"]
    assert await clerk.says("我的任务") == "您目前没有未完成的任务。"
    assert await boss.says("任务") == "全店目前没有未完成的任务。"
    assert await boss.says(f"撤销任务 T{task.id}") == f"任务 T{task.id} 已被撤销，无需处理。"
    assert await clerk.says(f"完成任务 T{task.id}") == f"任务 T{task.id} 已被撤销，无需处理。"


# --- 任务 T12 and the managers' 任务 ---------------------------------------------------------------------


async def test_details_for_assignee_creator_and_managers_only(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    zhang, li = await people.clerk("张三"), await people.clerk("李四")
    customer = await people.customer("王五", "13800001111", owner=li.staff)
    task = await tasks.create(
        "回访客户王五", zhang.staff, clock.now, tz=TZ, due_at=at(11, 27, 18), created_by=boss.staff, customer=customer
    )
    assert task is not None

    mine = await zhang.says(f"任务 T{task.id}")
    assert mine == (
        f"任务 T{task.id}（未完成）\n内容：回访客户王五\n负责：张三\n派发：王店长，11月28日（周六）10:30\n"
        f"截止：11月27日（周五）18:00，已逾期 1 天\n客户：王五 C{customer.id} 138****1111"
    )
    # The owner clerk and managers see the full number.
    full = await boss.says(f"任务 T{task.id}")
    assert full is not None and f"客户：王五 C{customer.id} 13800001111" in full
    assert await li.says(f"任务 T{task.id}") == f"任务 T{task.id} 不是派给您的，无法查看。"


async def test_managers_see_all_open_tasks_grouped_by_clerk(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    zhang, li = await people.clerk("张三"), await people.clerk("李四")
    l1 = await give(li, "整理档案", clock.now)
    z1 = await give(zhang, "回访客户", clock.now, due=at(11, 29, 10))
    z2 = await give(zhang, "交保险单", clock.now, due=at(11, 27, 18))

    reply = await boss.says("任务")

    assert reply == (
        "全店未完成任务 3 个，逾期 1 个，按店员：\n"
        "【张三】2 个，逾期 1 个\n"
        f"T{z2.id} 交保险单\n　已逾期 1 天\n"
        f"T{z1.id} 回访客户\n　明天 10:00 截止\n"
        "【李四】1 个\n"
        f"T{l1.id} 整理档案\n　无截止时间"
    )
    # A clerk's bare 任务 is their own list.
    own = await li.says("任务")
    assert own is not None and own.startswith("您有 1 个未完成任务") and "交保险单" not in own


# --- 任务统计 -------------------------------------------------------------------------------------------


async def test_task_stats_per_clerk_for_the_week_and_the_month(people: People, clock: Clock) -> None:
    boss = await people.manager("王店长")
    zhang, li = await people.clerk("张三"), await people.clerk("李四")
    now = clock.now

    async def closed(who: StaffUser, due: datetime | None, done: datetime) -> None:
        task = await give(who, "已完成的", done - timedelta(days=1), due=due)
        await Task.filter(id=task.id).update(status=TaskStatus.DONE, done_at=done.astimezone(UTC))

    # 张三: two open (one overdue); this week one done on time and one late; earlier this month one on time.
    await give(zhang, "未完成", now, due=at(11, 30, 18))
    await give(zhang, "逾期未完成", now, due=at(11, 27, 18))
    await closed(zhang, at(11, 25, 18), at(11, 25, 9))
    await closed(zhang, at(11, 24, 18), at(11, 26, 9))
    await closed(zhang, at(11, 10, 18), at(11, 10, 9))
    # 李四: one done this week without a deadline; one done last month (counted nowhere).
    await closed(li, None, at(11, 27, 9))
    await closed(li, at(10, 30, 18), at(10, 31, 9))

    week = await boss.says("任务统计")
    assert week == (
        "任务统计 本周（11月23日—11月29日）：\n"
        "张三：未完成 2 · 完成 2 · 逾期 2 · 按时率 50%\n"
        "李四：未完成 0 · 完成 1 · 逾期 0 · 按时率 —\n"
        "说明：未完成＝目前未完成；完成＝期内完成；逾期＝目前已过截止仍未完成＋期内过了截止才完成；"
        "按时率＝期内完成且有截止时间的任务中，按时完成的比例。"
    )
    month = await boss.says("任务统计 本月")
    assert month is not None and month.startswith("任务统计 本月（11月）：")
    assert "张三：未完成 2 · 完成 3 · 逾期 2 · 按时率 67%" in month
    assert "李四：未完成 0 · 完成 1 · 逾期 0 · 按时率 —" in month
    assert await boss.says("任务统计 明年") == "请这样查：任务统计 本周，或 任务统计 本月。"


# --- who may use what ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["派任务 @张三 回访", "任务统计", "撤销任务 T1", "报表", "派任务"])
async def test_clerks_and_customers_are_refused_manager_commands(people: People, wechat: Any, command: str) -> None:
    clerk = await people.clerk("张三")
    customer = wechat.user("o_customer")
    refusal = "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。"
    assert await clerk.says(command) == refusal
    assert await customer.says(command) == refusal
    assert await Task.all().count() == 0


@pytest.mark.parametrize("command", ["我的任务", "完成任务 T1", "任务 T1"])
async def test_customers_are_refused_staff_commands(wechat: Any, database: str, command: str) -> None:
    customer = wechat.user("o_customer")
    assert await customer.says(command) == "该功能仅限门店员工使用。回复“帮助”查看您可以使用的功能。"


async def test_deactivated_staff_are_refused(people: People, clock: Clock) -> None:
    clerk = await people.clerk("张三")
    await give(clerk, "回访客户", clock.now)
    await Staff.filter(id=clerk.staff.id).update(active=False, deactivated_at=clock.now.astimezone(UTC))
    roles.invalidate()
    assert await clerk.says("我的任务") == "该功能仅限门店员工使用。回复“帮助”查看您可以使用的功能。"


async def test_help_lists_task_commands_per_role(people: People) -> None:
    boss = await people.manager("王店长")
    clerk = await people.clerk("张三")
    await boss.says("帮助")
    manager_pages = (await boss.says("帮助") or "") + (await boss.says("下一页") or "")
    clerk_help = (await clerk.says("帮助") or "") + (await clerk.says("下一页") or "")
    for line in ("· 派任务", "· 任务统计", "· 撤销任务", "· 报表", "· 我的任务", "· 完成任务"):
        assert line in manager_pages
    assert "· 我的任务" in clerk_help and "· 完成任务" in clerk_help and "· 任务 ——" in clerk_help
    assert "· 派任务" not in clerk_help and "· 报表" not in clerk_help
