"""报表 for managers: the numbers of a day, week and month as they read them in the chat."""

from __future__ import annotations

from typing import Any

import pytest

from tests.personas import People
from tests.services.test_reports import seed

LEGEND = (
    "说明：到店率＝已到店或已完成 ÷ 期内已到预约时间且未取消的预约；"
    "逾期＝目前已过截止仍未完成＋期内过了截止才完成的任务；"
    "流失＝上次到店满12个月、其间没有再到店或预约的客户（期内新标记的）。"
)


async def test_report_for_today_by_default(people: People) -> None:
    boss = await people.manager("店长")
    await seed()
    assert await boss.says("报表") == (
        "报表 今天（11月28日）\n"
        "预约：新增 4 个（客户自约 2，店员代约 2）\n"
        "到店：完成 1 个；到店率 50%（1/2）；未到 1 个\n"
        "跟进：5 次，联系上 2 位客户\n"
        "任务：完成 1 个，逾期 1 个\n"
        "流失：1 位客户（满12个月未回店）\n"
        "—— 各店员 ——\n"
        "张三：代约 1 · 跟进 3（联系上 1 人）· 任务完成 0 · 逾期 1\n"
        "李四：代约 1 · 跟进 1（联系上 1 人）· 任务完成 1 · 逾期 0\n"
        "孙七（已停用）：代约 0 · 跟进 1（联系上 1 人）· 任务完成 0 · 逾期 0\n" + LEGEND
    )


async def test_report_for_the_week_and_the_month(people: People) -> None:
    boss = await people.manager("店长")
    await seed()
    week = await boss.says("报表 本周")
    assert week is not None and week.startswith(
        "报表 本周（11月23日—11月29日）\n"
        "预约：新增 7 个（客户自约 4，店员代约 3）\n"
        "到店：完成 2 个；到店率 75%（3/4）；未到 1 个\n"
        "跟进：6 次，联系上 3 位客户\n"
        "任务：完成 2 个，逾期 2 个\n"
        "流失：2 位客户（满12个月未回店）\n"
    )
    assert "李四：代约 1 · 跟进 2（联系上 2 人）· 任务完成 2 · 逾期 1" in week
    assert await boss.says("周报") == week
    month = await boss.says("报表 本月")
    assert month is not None and month.startswith(
        "报表 本月（11月）\n"
        "预约：新增 8 个（客户自约 5，店员代约 3）\n"
        "到店：完成 3 个；到店率 67%（4/6）；未到 2 个\n"
        "跟进：7 次，联系上 3 位客户\n"
        "任务：完成 3 个，逾期 2 个\n"
        "流失：2 位客户（满12个月未回店）\n"
    )
    assert "张三：代约 2 · 跟进 4（联系上 2 人）· 任务完成 1 · 逾期 1" in month


async def test_an_empty_day(people: People) -> None:
    boss = await people.manager("店长")
    reply = await boss.says("报表 今天")
    assert reply is not None and "到店率 —（0/0）" in reply and "（还没有店员）" in reply


async def test_many_clerks_are_paged(people: People) -> None:
    boss = await people.manager("店长")
    for n in range(7):
        await people.clerk(f"顾问{n + 1}")
    first = await boss.says("报表")
    assert first is not None and "顾问5" in first and "顾问6" not in first and "第1/2页" in first
    rest = await boss.says("下一页")
    assert rest is not None and "顾问7" in rest and rest.endswith(LEGEND)


async def test_an_unknown_period_explains_the_choices(people: People) -> None:
    boss = await people.manager("店长")
    assert await boss.says("报表 去年") == "请这样查：报表 今天、报表 本周 或 报表 本月（也可查 昨天、上周、上月）。"


@pytest.mark.parametrize("command", ["报表", "报表 本周", "周报", "月报"])
async def test_clerks_and_customers_are_refused(people: People, wechat: Any, command: str) -> None:
    clerk = await people.clerk("张三")
    refusal = "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。"
    assert await clerk.says(command) == refusal
    assert await wechat.user("o_customer").says(command) == refusal
