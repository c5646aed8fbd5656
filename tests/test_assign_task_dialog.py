"""The 派任务 dialog, step by step: transcripts through the real webhook."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import DialogSession, Task
from tests.conftest import Clock
from tests.personas import People, StaffUser
from tests.wechat_helper import eventually

TZ = ZoneInfo("Asia/Shanghai")
ASK_ASSIGNEES = "派给谁？请回复店员姓名，多人用空格隔开，例如“张三 李四”。"
ASK_TITLE = "任务内容是什么？例如“回访客户王五 保养报价”（写上客户姓名、手机号或车牌可关联客户）。"
ASK_DUE = "截止时间？例如“周五前”“明天下午3点”；不限时间请回复“无”。"
CANCELLED = "好的，已取消，没有派出任务。"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
async def boss(people: People) -> StaffUser:
    manager = await people.manager("王店长")
    await people.clerk("张三")
    await people.clerk("李四")
    return manager


async def session_of(user: StaffUser) -> str:
    row = await DialogSession.get_or_none(openid=user.openid)
    return row.dialog if row else ""


async def test_step_by_step_happy_path(people: People, boss: StaffUser) -> None:
    customer = await people.customer("王五", "13800001111", "粤A12345")
    assert await boss.says("派任务") == ASK_ASSIGNEES
    assert await boss.says("张三、李四") == ASK_TITLE
    assert await boss.says("回访客户王五 保养报价") == ASK_DUE
    confirm = await boss.says("周五")
    assert confirm == (
        "请确认任务：\n派给：张三、李四\n内容：回访客户王五 保养报价\n截止：12月4日（周五）18:00\n"
        f"关联客户：王五 C{customer.id}\n"
        "回复“确认”派出；要修改可回复“改店员”“改内容”“改截止”，或“取消”。"
    )
    assert await Task.all().count() == 0  # nothing is assigned before the confirmation

    done = await boss.says("确认")

    rows = await Task.all().order_by("id").prefetch_related("assignee")
    assert [t.assignee.name for t in rows] == ["张三", "李四"]
    assert all(t.due_at == at(12, 4, 18) and t.customer_id == customer.id for t in rows)
    assert done == (
        "已派出 2 个任务：回访客户王五 保养报价\n"
        f"T{rows[0].id} 张三，12月4日（周五）截止\nT{rows[1].id} 李四，12月4日（周五）截止\n"
        f"关联客户：王五 C{customer.id}"
    )
    assert await session_of(boss) == ""
    zhang, li = rows[0].assignee.openid, rows[1].assignee.openid
    assert zhang and li
    await eventually(lambda: len(boss.wechat.sandbox.inbox(zhang)) == 1 and len(boss.wechat.sandbox.inbox(li)) == 1)


async def test_content_with_a_deadline_skips_the_deadline_question(boss: StaffUser) -> None:
    await boss.says("派任务")
    await boss.says("@张三")
    confirm = await boss.says("整理展厅 明天下午3点前")
    assert confirm is not None and "内容：整理展厅\n截止：11月29日（周日）15:00" in confirm
    assert (await boss.says("好的") or "").startswith("已派出 1 个任务：整理展厅")
    [task] = await Task.all()
    assert task.due_at == at(11, 29, 15)


async def test_no_deadline_and_a_past_deadline(boss: StaffUser) -> None:
    await boss.says("派任务")
    await boss.says("张三")
    await boss.says("整理档案")
    assert await boss.says("昨天") == "截止时间 11月27日（周五）18:00 已经过了，请换一个以后的时间。"
    confirm = await boss.says("无")
    assert confirm is not None and "截止：无截止时间" in confirm
    done = await boss.says("确认")
    assert done is not None and "张三，无截止时间" in done
    [task] = await Task.all()
    assert task.due_at is None and task.title == "整理档案"


async def test_unknown_name_in_the_dialog_lists_staff_and_asks_again(boss: StaffUser) -> None:
    await boss.says("派任务")
    assert await boss.says("赵六") == "没有找到在职店员“赵六”。在职店员有：王店长、张三、李四"
    assert await boss.says("张三") == ASK_TITLE


async def test_namesakes_in_the_dialog(people: People, boss: StaffUser) -> None:
    await people.clerk("张三", mobile="13955556666")
    await boss.says("派任务")
    which = await boss.says("张三")
    assert which is not None and which.startswith("有 2 位店员叫“张三”，请回复序号选择：\n1. 张三（139")
    assert "2. 张三（139****6666）" in which
    assert await boss.says("第二个") == ASK_TITLE


async def test_edit_one_slot_at_the_confirmation(boss: StaffUser) -> None:
    await boss.says("派任务")
    await boss.says("张三")
    await boss.says("回访客户")
    await boss.says("周五")
    changed = await boss.says("改截止 明天上午10点")
    assert changed is not None and "截止：11月29日（周日）10:00" in changed
    # A new time alone at the confirmation changes the deadline too.
    again = await boss.says("下周一")
    assert again is not None and "截止：11月30日（周一）18:00" in again
    assert await boss.says("改店员") == ASK_ASSIGNEES
    moved = await boss.says("李四")
    assert moved is not None and "派给：李四" in moved
    assert await boss.says("改内容") == ASK_TITLE
    retitled = await boss.says("回访客户王五")
    assert retitled is not None and "内容：回访客户王五" in retitled
    assert await boss.says("不对") == "要修改什么？回复“改店员”“改内容”或“改截止”，或回复“取消”放弃。"
    assert await boss.says("随便说点什么") == "请回复“确认”派出，或“改店员”“改内容”“改截止”修改，“取消”放弃。"
    await boss.says("确认")
    [task] = await Task.all().prefetch_related("assignee")
    assert (task.assignee.name, task.title, task.due_at) == ("李四", "回访客户王五", at(11, 30, 18))


@pytest.mark.parametrize("answers", [[], ["张三"], ["张三", "回访客户"], ["张三", "回访客户", "周五"]])
async def test_cancel_at_every_step(boss: StaffUser, answers: list[str]) -> None:
    await boss.says("派任务")
    for answer in answers:
        await boss.says(answer)
    assert await boss.says("取消") == CANCELLED
    assert await session_of(boss) == ""
    assert await Task.all().count() == 0


@pytest.mark.parametrize(
    ("answers", "back_to"),
    [
        (["张三"], ASK_ASSIGNEES),
        (["张三", "回访客户"], ASK_TITLE),
    ],
)
async def test_back_goes_to_the_previous_question(boss: StaffUser, answers: list[str], back_to: str) -> None:
    await boss.says("派任务")
    for answer in answers:
        await boss.says(answer)
    assert await boss.says("返回") == back_to


async def test_back_at_the_confirmation_asks_the_deadline_again(boss: StaffUser) -> None:
    for said in ("派任务", "张三", "回访客户", "周五"):
        await boss.says(said)
    assert await boss.says("返回") == ASK_DUE


async def test_back_restart_and_help_at_the_first_step(boss: StaffUser) -> None:
    await boss.says("派任务")
    assert await boss.says("返回") == f"已经是第一步了。\n{ASK_ASSIGNEES}"
    await boss.says("张三")
    assert await boss.says("重新开始") == f"好的，我们重新开始。\n{ASK_ASSIGNEES}"
    assert await boss.says("帮助") == (
        f"您正在派任务。可随时回复：取消（放弃）、返回（上一步）、重新开始。\n{ASK_ASSIGNEES}"
    )


async def test_three_misses_offer_a_way_out(boss: StaffUser) -> None:
    await boss.says("派任务")
    await boss.says("张三")
    await boss.says("回访客户")
    first = await boss.says("等等再说吧")
    assert first is not None and first.startswith("没看懂这个时间")
    await boss.says("随便")
    third = await boss.says("嗯？")
    assert third is not None and "取消" in third
    assert await Task.all().count() == 0


async def test_the_dialog_expires(boss: StaffUser, clock: Clock) -> None:
    await boss.says("派任务")
    await boss.says("张三")
    clock.advance(minutes=31)
    reply = await boss.says("回访客户")
    assert reply is not None and "已自动取消" in reply
    assert await Task.all().count() == 0


async def test_a_clerk_cannot_start_the_dialog(people: People) -> None:
    clerk = await people.clerk("赵六")
    assert await clerk.says("派任务") == "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。"
    assert await session_of(clerk) == ""
