"""Deactivating staff and moving customers between them, by chat, with the owner audit log."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.handlers.staff import owner_history_lines
from bot.models import Customer, OwnerChange, Staff, Task
from bot.services import ownership, tasks
from bot.settings import Settings
from bot.wechat.sandbox import SandboxState
from tests.personas import People
from tests.wechat_helper import WeChatTester, eventually

MANAGERS_ONLY = "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。"


async def test_deactivating_a_clerk_with_customers_needs_a_successor(people: People) -> None:
    boss = await people.manager("王店长")
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    mine = [await people.customer(f"客户{n}", f"1380000000{n}", owner=zhang.staff) for n in range(3)]

    assert await boss.says("停用店员 张三") == (
        "张三 名下还有 3 位客户，请指定接手人，例如“停用店员 张三 交接给 李四”，或“停用店员 张三 平均分配”。"
    )
    assert (await Staff.get(id=zhang.staff.id)).active
    assert await boss.says("停用店员 张三 交接给 李四") == (
        "已停用顾问张三，TA 的微信已恢复为普通客户身份。名下 3 位客户已交接给 李四。"
    )
    member = await Staff.get(id=zhang.staff.id)
    assert not member.active and member.deactivated_at is not None
    assert {c.owner_id for c in await Customer.filter(id__in=[c.id for c in mine])} == {li.staff.id}
    changes = await OwnerChange.filter(customer_id=mine[0].id)
    assert [(c.from_staff_id, c.to_staff_id, c.by_staff_id, c.reason) for c in changes] == [
        (zhang.staff.id, li.staff.id, boss.staff.id, "handover")
    ]

    # The deactivated clerk is a customer again: staff commands refused, the customer's help shown.
    assert await zhang.says("我的任务") == "该功能仅限门店员工使用。回复“帮助”查看您可以使用的功能。"
    help_text = await zhang.says("帮助")
    assert help_text is not None and help_text.startswith("您可以回复：") and "预约" in help_text


async def test_spreading_customers_round_robin_over_the_other_clerks(people: People) -> None:
    boss = await people.manager("王店长")
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    zhao = await people.clerk("赵六")
    owned = [await people.customer(f"客户{n}", f"1380000000{n}", owner=zhang.staff) for n in range(5)]
    assert await boss.says("停用店员 张三 平均分配") == (
        "已停用顾问张三，TA 的微信已恢复为普通客户身份。名下 5 位客户已平均分配给：李四 3 位，赵六 2 位。"
    )
    owners = [(await Customer.get(id=c.id)).owner_id for c in owned]
    assert owners == [li.staff.id, zhao.staff.id, li.staff.id, zhao.staff.id, li.staff.id]
    assert await OwnerChange.filter(reason="spread", by_staff_id=boss.staff.id).count() == 5


async def test_deactivation_refusals_and_a_clerk_without_customers(people: People) -> None:
    boss = await people.manager("王店长")
    zhang = await people.clerk("张三")
    await people.customer("客户", "13800000001", owner=zhang.staff)
    assert await boss.says("停用店员 王店长") == "不能停用自己的账号。如需交接，请让其他店长操作。"
    assert await boss.says("停用店员 张三 平均分配") == "没有其他在职顾问可以接手，请指定接手人，或先邀请新顾问。"
    assert await boss.says("停用店员 张三 交接给 张三") == "接手人不能是被停用的员工本人。"
    assert await boss.says("停用店员 钱七") == "没有找到员工“钱七”。回复“店员”查看全部员工。"
    li = await people.clerk("李四")
    assert await boss.says("停用店员 李四") == "已停用顾问李四，TA 的微信已恢复为普通客户身份。"
    assert await li.says("停用店员 张三") == MANAGERS_ONLY


async def test_ambiguous_names_ask_which(people: People) -> None:
    boss = await people.manager("王店长")
    first = await people.clerk("张三", mobile="13811112222")
    second = await people.clerk("张三", mobile="13833334444")
    await Staff.filter(id=second.staff.id).update(employee_no="E007")
    assert await boss.says("停用店员 张三") == (
        "有 2 位员工叫“张三”，请改用工号或手机号指明：\n· 张三 138****2222 工号 无\n· 张三 138****4444 工号 E007"
    )
    reply = await boss.says("停用店员 E007")
    assert reply is not None and reply.startswith("已停用顾问张三")
    assert (await Staff.get(id=second.staff.id)).active is False
    assert (await Staff.get(id=first.staff.id)).active is True


async def test_deactivation_removes_the_staff_tag(people: People, wechat: WeChatTester, sandbox: SandboxState) -> None:
    boss = await people.manager("王店长")
    code_reply = await boss.says("邀请店员 张三 13800001111")
    assert code_reply is not None
    code = code_reply.split("绑定码：")[1][:8]
    zhang = wechat.user("o_zhang")
    await zhang.says(f"绑定 {code}")
    user = sandbox.user("o_zhang")
    assert user is not None and user.tags
    await boss.says("停用店员 张三")
    assert not user.tags
    assert not (await Staff.get(openid="o_zhang")).tagged
    # Back again later: only a new code works, and it makes them staff again.
    code_reply = await boss.says("邀请店员 张三 13800001111")
    assert code_reply is not None and "绑定码：" in code_reply
    assert (await Staff.filter(mobile="13800001111").count()) == 1
    assert await zhang.says("我的任务") == "该功能仅限门店员工使用。回复“帮助”查看您可以使用的功能。"
    await zhang.says("绑定 " + code_reply.split("绑定码：")[1][:8])
    assert (await Staff.get(openid="o_zhang")).active
    assert "仅限" not in (await zhang.says("我的任务") or "仅限")


async def test_transferring_one_customer_and_all_customers(people: People, settings: Settings) -> None:
    boss = await people.manager("王店长")
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    one = await people.customer("王五", "13800001111", owner=zhang.staff)
    two = await people.customer("赵六", "13800002222", owner=zhang.staff)
    assert await boss.says(f"转移客户 C{one.id} 李四") == f"已将客户 C{one.id} 王五 从 张三 转给 李四。"
    assert await boss.says(f"转移客户 {one.id} 给 李四") == f"客户 C{one.id} 王五 本来就由 李四 负责。"
    assert await boss.says("转移客户 C999999 李四") == "没有找到客户 C999999。"
    assert await boss.says("转移客户 王五") == "请按格式发送：转移客户 客户编号 员工姓名，例如“转移客户 C1024 李四”。"
    assert await boss.says("转移全部客户 张三 李四") == "已将 张三 名下的 1 位客户全部转给 李四。"
    assert await boss.says("转移全部客户 张三 给 李四") == "张三 名下没有客户。"
    assert await boss.says("转移全部客户 李四 李四") == "原负责人和接手人是同一位员工，无需转移。"
    assert await boss.says("转移全部客户 李四") == (
        "请按格式发送：转移全部客户 原负责人 接手人，例如“转移全部客户 张三 李四”。"
    )
    assert (await Customer.get(id=two.id)).owner_id == li.staff.id
    history = await ownership.history(one.id)
    assert [(e.from_name, e.to_name, e.by_name, e.reason) for e in history] == [("张三", "李四", "王店长", "transfer")]
    assert owner_history_lines(history, settings.tz) == ["2026-11-28 10:30 张三 → 李四（转移，王店长操作）"]


async def test_the_staff_list_pages(people: People) -> None:
    boss = await people.manager("王店长")
    clerks = [await people.clerk(f"顾问{n}") for n in range(6)]
    await people.customer("王五", "13800001111", owner=clerks[0].staff)
    reply = await boss.says("店员")
    assert reply is not None and reply.startswith("员工共 7 位：\n1. 王店长 · 店长 · 工号 无 · ")
    assert "2. 顾问0 · 顾问 · 工号 无 · 13900000002 · 已绑定 · 客户 1 位" in reply
    assert "下一页" in reply and "顾问5" not in reply
    more = await boss.says("下一页")
    assert more is not None and "7. 顾问5" in more


@pytest.mark.parametrize(
    "text",
    [
        "邀请店员 张三 13800001111",
        "停用店员 李四",
        "店员",
        "员工",
        "店员列表",
        "转移客户 C1 李四",
        "转移全部客户 李四 王店长",
    ],
)
async def test_manager_commands_are_refused_to_clerks_and_customers(
    people: People, wechat: WeChatTester, text: str
) -> None:
    await people.manager("王店长")
    clerk = await people.clerk("李四")
    customer = wechat.user("o_customer")
    assert await clerk.says(text) == MANAGERS_ONLY
    assert await customer.says(text) == MANAGERS_ONLY
    assert await Staff.filter(active=True).count() == 2
    assert await OwnerChange.all().count() == 0


async def test_a_leavers_open_tasks_follow_their_customers_or_go_to_the_manager(people: People) -> None:
    boss = await people.manager("王店长")
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    zhao = await people.clerk("赵六")
    his = await people.customer("客户甲", "13800000001", owner=zhang.staff)
    zhaos = await people.customer("客户乙", "13800000002", owner=zhao.staff)
    now, tz = people.now, ZoneInfo("Asia/Shanghai")
    about_his = await tasks.create("回访客户甲", zhang.staff, now, tz=tz, customer=his)
    about_zhaos = await tasks.create("帮赵六回访客户乙", zhang.staff, now, tz=tz, customer=zhaos)
    general = await tasks.create("整理展厅", zhang.staff, now, tz=tz)
    finished = await tasks.create("早已完成", zhang.staff, now, tz=tz)
    assert about_his and about_zhaos and general and finished
    await tasks.complete(finished.id, now)
    reply = await boss.says("停用店员 张三 平均分配")
    # 客户甲 went to 李四 (the first other clerk), and its task with it; 客户乙's task to 赵六, who owns 客户乙;
    # the task about no customer to the manager, who can hand it on. The finished task stays where it was.
    assert reply is not None and reply.endswith("未完成任务 3 个已转交：李四 1 个，赵六 1 个，王店长 1 个。"), reply
    assignees = {t.title: t.assignee_id for t in await Task.all()}
    assert assignees == {
        "回访客户甲": li.staff.id,
        "帮赵六回访客户乙": zhao.staff.id,
        "整理展厅": boss.staff.id,
        "早已完成": zhang.staff.id,
    }
    assert "1 个" in (await li.says("我的任务") or "") and "回访客户甲" in (await li.says("我的任务") or "")
    # The clerks who got a task are told; the manager sees it in the reply.
    await eventually(lambda: all(any("张三 已停用" in str(m.payload) for m in u.inbox()) for u in (li, zhao)))
    assert not any("张三 已停用" in str(m.payload) for m in boss.inbox())


async def test_a_successor_takes_the_leavers_tasks_about_no_customer(people: People) -> None:
    boss = await people.manager("王店长")
    zhang = await people.clerk("张三")
    li = await people.clerk("李四")
    await tasks.create("整理展厅", zhang.staff, people.now, tz=ZoneInfo("Asia/Shanghai"))
    reply = await boss.says("停用店员 张三 交接给 李四")
    assert reply == "已停用顾问张三，TA 的微信已恢复为普通客户身份。未完成任务 1 个已转交：李四 1 个。"
    assert [t.assignee_id for t in await Task.all()] == [li.staff.id]
