"""Menus: `menu sync` creates both menus in the WeChat emulator and keeps the staff tag in step; clicks route."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.handlers import router
from bot.handlers.staff import CLICK_KEYS
from bot.models import Staff
from bot.services import menu_cli, menus
from bot.settings import Settings
from bot.wechat.api import WeChatClient
from bot.wechat.sandbox import SandboxState
from bot.wechat.tokens import DatabaseTokenStore
from tests.personas import People


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[WeChatClient]:
    async with aiohttp.ClientSession() as session:
        yield WeChatClient(
            session,
            appid=settings.wechat_appid,
            secret=settings.wechat_secret,
            api_base=settings.api_base,
            store=DatabaseTokenStore(),
        )


async def _menu(api: WeChatClient, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await menu_cli.execute(menu_cli.parser().parse_args(argv), api, out)
    return code, out.getvalue()


def _tag(sandbox: SandboxState) -> int:
    return next(tag_id for tag_id, name in sandbox.tags.items() if name == menus.STAFF_TAG)


async def test_sync_creates_both_menus_and_tags_the_staff(
    api: WeChatClient, people: People, sandbox: SandboxState
) -> None:
    boss = await people.manager("王店长")
    clerk = await people.clerk("张三")
    gone = await people.clerk("赵六")
    await Staff.filter(id=gone.staff.id).update(active=False, tagged=True)
    leaver = sandbox.user(gone.openid)
    assert leaver is not None
    leaver.tags.add(sandbox.create_tag({"tag": {"name": menus.STAFF_TAG}})["tag"]["id"])

    code, out = await _menu(api, "sync")
    assert code == 0, out
    assert sandbox.menu == menus.customer_menu()
    tag_id = _tag(sandbox)
    [staff_menu] = sandbox.conditional_menus.values()
    assert staff_menu["button"] == menus.staff_menu()["button"]
    assert staff_menu["matchrule"] == {"tag_id": str(tag_id)}
    for member in (boss, clerk):
        user = sandbox.user(member.openid)
        assert user is not None and tag_id in user.tags
    left = sandbox.user(gone.openid)
    assert left is not None and tag_id not in left.tags
    assert "客户菜单已更新：\n  预约保养 → BOOK" in out
    assert f"员工菜单已更新（只对标签“门店员工”可见，标签 id {tag_id}）" in out
    assert "已为 2 位员工加上员工标签：王店长、张三" in out
    assert "已为 1 位停用员工去掉员工标签：赵六" in out
    assert {s.name: s.tagged for s in await Staff.all()} == {"王店长": True, "张三": True, "赵六": False}

    # A second run replaces the staff menu instead of adding another, and has nobody left to tag.
    code, out = await _menu(api, "sync")
    assert code == 0 and len(sandbox.conditional_menus) == 1
    assert "已删除旧的员工菜单 1 个。" in out and "员工标签已是最新，无需调整。" in out


async def test_sync_reports_wechat_failures_and_a_rerun_finishes(
    api: WeChatClient, people: People, sandbox: SandboxState
) -> None:
    await people.clerk("张三")
    sandbox.inject("/cgi-bin/menu/create", 40016)
    code, out = await _menu(api, "sync")
    assert code == 1 and "微信接口调用失败" in out and sandbox.menu is None
    sandbox.inject("/cgi-bin/tags/members/batchtagging", 45009, times=2)
    code, out = await _menu(api, "sync")
    assert code == 1 and "以下员工的标签未能更新，请稍后再运行 menu sync：张三" in out
    assert not (await Staff.get(name="张三")).tagged
    code, out = await _menu(api, "sync")
    assert code == 0 and "已为 1 位员工加上员工标签：张三" in out


async def test_show_prints_the_menus_and_pending_tags(api: WeChatClient, people: People) -> None:
    await people.clerk("张三")
    code, out = await _menu(api, "show")
    assert code == 0
    assert "员工菜单（只对标签“门店员工”可见）：\n  预约 / 今日预约 → STAFF_TODAY" in out
    assert "待加标签：张三；待去标签：无" in out


def test_every_menu_click_reaches_a_command() -> None:
    keys = [
        line.rsplit(" → ", 1)[1] for line in menus.outline(menus.customer_menu()) + menus.outline(menus.staff_menu())
    ]
    assert set(CLICK_KEYS) <= set(router.CLICK_KEYS)
    for key in keys:
        assert router.CLICK_KEYS[key] in router.TABLE.by_name, key


async def test_staff_menu_clicks_answer_by_role(people: People) -> None:
    clerk = await people.clerk("张三")
    help_text = await clerk.event("CLICK", menus.STAFF_HELP)
    assert help_text is not None and help_text.startswith("您好，顾问！")
    assert await clerk.event("CLICK", menus.STAFF_REPORT) == "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。"
    boss = await people.manager("王店长")
    report = await boss.event("CLICK", menus.STAFF_REPORT)
    assert report is not None and "仅限" not in report
