"""Binding staff accounts: the first manager from the command line, invitations, QR scans, codes, lockout."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bot.models import BindingAttempt, BindingCode, Staff
from bot.services import menus, staff_cli
from bot.settings import Settings
from bot.wechat.sandbox import SandboxState
from tests.conftest import Clock
from tests.personas import People
from tests.wechat_helper import WeChatTester


def _code(text: str | None) -> str:
    assert text is not None
    found = re.search(r"绑定码：([A-Z0-9]{8})", text)
    assert found, text
    return found.group(1)


def _ticket(text: str | None) -> str:
    assert text is not None
    found = re.search(r"绑定二维码：(\S+)", text)
    assert found, text
    return parse_qs(urlsplit(found.group(1)).query)["ticket"][0]


def _staff_tag(sandbox: SandboxState) -> int:
    return next(tag_id for tag_id, name in sandbox.tags.items() if name == menus.STAFF_TAG)


async def _cli(settings: Settings, clock: Clock, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await staff_cli.execute(staff_cli.parser().parse_args(argv), clock.now, settings.tz, out)
    return code, out.getvalue()


async def test_first_manager_from_the_command_line_binds_by_text(
    wechat: WeChatTester, settings: Settings, clock: Clock, sandbox: SandboxState
) -> None:
    status, out = await _cli(
        settings,
        clock,
        "add",
        "--role",
        "manager",
        "--name",
        "王店长",
        "--mobile",
        "13900000001",
        "--employee-no",
        "E001",
    )
    assert status == 0
    assert "已添加店长王店长（13900000001，工号 E001）" in out
    assert "11月29日（周日）10:30前有效" in out and "发送“绑定 " in out
    code = _code(out)

    boss = wechat.user("o_boss")
    assert await boss.says(f"绑定 {code[:4].lower()} {code[4:]}") == (
        f"绑定成功！王店长，您现在是{settings.store_name}的店长。回复“帮助”查看员工功能。"
    )
    row = await Staff.get(name="王店长")
    assert row.openid == "o_boss" and row.bound_at is not None and row.tagged
    user = sandbox.user("o_boss")
    assert user is not None and _staff_tag(sandbox) in user.tags
    help_text = await boss.says("帮助")
    assert help_text is not None and "邀请店员" in help_text and "停用店员" in help_text
    assert await boss.says(f"绑定 {code}") == "您的微信已绑定为店长王店长，无需再次绑定。"

    status, out = await _cli(settings, clock, "list")
    assert "1. 王店长 · 店长 · 工号 E001 · 13900000001 · 已绑定 · 客户 0 位" in out


async def test_cli_refuses_bad_input_and_issues_fresh_codes(settings: Settings, clock: Clock) -> None:
    assert await _cli(settings, clock, "list") == (
        0,
        "还没有员工。先添加店长：python -m bot staff add --role manager --name 姓名 --mobile 手机号\n",
    )
    status, out = await _cli(settings, clock, "add", "--role", "clerk", "--name", "张三", "--mobile", "12345")
    assert status == 2 and "手机号格式不正确" in out
    status, out = await _cli(settings, clock, "add", "--role", "clerk", "--name", "张三", "--mobile", "13800001111")
    first = _code(out)
    status, out = await _cli(settings, clock, "code", "张三")
    second = _code(out)
    assert status == 0 and second != first
    assert await BindingCode.filter(code=first).count() == 0  # the older unused code no longer works
    status, out = await _cli(settings, clock, "code", "李四")
    assert status == 2 and "没有找到员工“李四”" in out


async def test_manager_invites_and_the_clerk_binds_by_scanning(
    people: People, wechat: WeChatTester, sandbox: SandboxState
) -> None:
    boss = await people.manager("王店长")
    reply = await boss.says("邀请店员 张三 13800001111")
    assert reply is not None and reply.startswith("已为顾问张三（13800001111）生成绑定码：")
    assert "11月29日（周日）10:30前有效，只能使用一次。" in reply
    code = _code(reply)
    assert sandbox.scene_for_ticket(_ticket(reply)) == f"bind:{code}"

    zhang = wechat.user("o_zhang")
    reply = await zhang.event("subscribe", f"qrscene_bind:{code}")
    assert reply is not None and reply.startswith("绑定成功！张三，您现在是")
    member = await Staff.get(name="张三")
    assert member.openid == "o_zhang" and member.active and member.tagged
    help_text = await zhang.says("帮助")
    assert help_text is not None and help_text.startswith("您好，顾问！") and "邀请店员" not in help_text
    reply = await zhang.says("我的任务")
    assert reply is not None and "仅限" not in reply

    # The used code is refused to anyone else.
    other = wechat.user("o_other")
    assert await other.says(f"绑定 {code}") == ("这个绑定码已经用过了，每个绑定码只能用一次。请联系店长重新获取。")


async def test_an_invited_manager_binds_with_a_scan_of_a_following_user(people: People, wechat: WeChatTester) -> None:
    boss = await people.manager("王店长")
    code = _code(await boss.says("邀请店员 李店长 13800002222 店长"))
    li = wechat.user("o_li")
    reply = await li.event("SCAN", f"bind:{code}")
    assert reply is not None and "您现在是" in reply and "店长" in reply
    assert (await Staff.get(openid="o_li")).role == "manager"
    reply = await li.says("店员")
    assert reply is not None and reply.startswith("员工共 2 位：")


async def test_reinviting_reuses_the_unbound_record_and_only_the_newest_code_works(
    people: People, wechat: WeChatTester
) -> None:
    boss = await people.manager("王店长")
    old = _code(await boss.says("邀请店员 张三 13800001111"))
    new = _code(await boss.says("邀请店员 张三 138 0000 1111"))
    assert await Staff.filter(mobile="13800001111").count() == 1
    zhang = wechat.user("o_zhang")
    assert await zhang.says(f"绑定 {old}") == "绑定码不正确，请核对后重试（还可以再试 4 次）。"
    assert (await zhang.says(f"绑定 {new}") or "").startswith("绑定成功")
    assert await boss.says("邀请店员 张三 13800001111") == "张三（13800001111）已经是在职员工，无需邀请。"


async def test_invitation_guidance(people: People) -> None:
    boss = await people.manager("王店长")
    usage = "请按格式发送：邀请店员 姓名 手机号，例如“邀请店员 张三 13800001111”；邀请店长请在末尾加“店长”。"
    assert await boss.says("邀请店员") == usage
    assert await boss.says("邀请店员 张三") == usage
    assert await boss.says("邀请店员 13800001111") == usage


async def test_a_code_expires_after_24_hours(people: People, wechat: WeChatTester, clock: Clock) -> None:
    boss = await people.manager("王店长")
    code = _code(await boss.says("邀请店员 张三 13800001111"))
    clock.advance(hours=25)
    zhang = wechat.user("o_zhang")
    assert await zhang.says(f"绑定 {code}") == "这个绑定码已过期，请联系店长重新获取。"
    assert (await Staff.get(name="张三")).openid is None


async def test_five_wrong_codes_lock_binding_for_an_hour(people: People, wechat: WeChatTester, clock: Clock) -> None:
    boss = await people.manager("王店长")
    code = _code(await boss.says("邀请店员 张三 13800001111"))
    guesser = wechat.user("o_guess")
    for left in (4, 3, 2, 1):
        assert await guesser.says("绑定 AAAAAAAA") == f"绑定码不正确，请核对后重试（还可以再试 {left} 次）。"
    locked = "绑定码输错次数过多，已暂停绑定，请于 11月28日（周六）11:30 后再试。"
    assert await guesser.says("绑定 BBBBBBBB") == locked
    # Even the right code waits out the hour, by text or by scan.
    assert await guesser.says(f"绑定 {code}") == locked
    assert await guesser.event("SCAN", f"bind:{code}") == locked
    assert (await Staff.get(name="张三")).openid is None
    clock.advance(minutes=61)
    assert (await guesser.says(f"绑定 {code}") or "").startswith("绑定成功")
    assert await BindingAttempt.filter(openid="o_guess").count() == 0


async def test_without_wechat_the_invitation_still_gives_the_code(
    people: People, wechat: WeChatTester, sandbox: SandboxState
) -> None:
    boss = await people.manager("王店长")
    sandbox.inject("/cgi-bin/qrcode/create", 45009)
    reply = await boss.says("邀请店员 张三 13800001111")
    assert reply is not None and "绑定二维码暂时生成失败，请张三关注公众号后发送“绑定 " in reply
    code = _code(reply)
    sandbox.inject("/cgi-bin/tags/members/batchtagging", 45009)
    zhang = wechat.user("o_zhang")
    assert (await zhang.says(f"绑定 {code}") or "").startswith("绑定成功")
    member = await Staff.get(name="张三")
    assert member.openid == "o_zhang" and not member.tagged  # menu sync tags them later


async def test_a_customer_cannot_use_binding_to_become_staff_without_a_code(wechat: WeChatTester) -> None:
    customer = wechat.user("o_cust")
    assert await customer.says("绑定") == "请发送“绑定 绑定码”，例如“绑定 ABCD2345”。绑定码由店长提供。"
    assert await customer.says("邀请店员 张三 13800001111") == ("该功能仅限店长使用。回复“帮助”查看您可以使用的功能。")


def test_the_command_line_works_on_a_fresh_machine(tmp_path: Path) -> None:
    """`python -m bot staff add` applies the migrations itself, then prints the first manager's code."""
    env = {**os.environ, "BOT_DATABASE_URL": f"sqlite://{tmp_path / 'fresh.sqlite3'}"}
    env.pop("WECHAT_SECRET", None)
    argv = [
        sys.executable,
        "-m",
        "bot",
        "staff",
        "add",
        "--role",
        "manager",
        "--name",
        "王店长",
        "--mobile",
        "13900000001",
    ]
    added = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "已添加店长王店长（13900000001，工号 无）" in added.stdout
    _code(added.stdout)
    listed = subprocess.run([*argv[:4], "list"], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "1. 王店长 · 店长 · 工号 无 · 13900000001 · 未绑定 · 客户 0 位" in listed.stdout
