"""`python -m bot menu sync | show`: the customer and staff menus in WeChat, and the staff tag on staff."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import aiohttp

from bot import db, replies
from bot.models import Staff
from bot.services import menus, staff
from bot.settings import Settings
from bot.wechat.api import WeChatClient
from bot.wechat.errors import WeChatAPIError
from bot.wechat.tokens import token_store_for

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bot menu`."""
    p = argparse.ArgumentParser(prog="python -m bot menu", description="WeChat menus and the staff tag")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("sync", help="create both menus in WeChat, tag bound staff, untag deactivated staff")
    sub.add_parser("show", help="print both menus and who still needs tagging or untagging")
    return p


def main(argv: Sequence[str], settings: Settings) -> int:
    """Run one menu command; returns the process exit code (1 when WeChat refused something)."""
    return asyncio.run(_main(parser().parse_args(argv), settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    await db.migrate(settings)
    await db.connect(settings)
    store = token_store_for(settings.redis_url)
    try:
        async with aiohttp.ClientSession() as session:
            api = WeChatClient(
                session,
                appid=settings.wechat_appid,
                secret=settings.wechat_secret,
                api_base=settings.api_base,
                store=store,
            )
            return await execute(args, api, sys.stdout)
    finally:
        await store.aclose()
        await db.disconnect()


async def execute(args: argparse.Namespace, api: WeChatClient, out: TextIO) -> int:
    """Run parsed `args` with `api`; prints what was done."""
    if args.action == "show":
        await show(out)
        return 0
    return await sync(api, out)


async def show(out: TextIO) -> None:
    """Print both menus as `sync` would create them, and the staff whose tag is not yet in step."""
    print(replies.render("staff.menu_customer"), file=out)
    _print_outline(menus.customer_menu(), out)
    print(replies.render("staff.menu_show_staff", tag=menus.STAFF_TAG), file=out)
    _print_outline(menus.staff_menu(), out)
    print(
        replies.render("staff.menu_pending", tag=_names(await staff.to_tag()), untag=_names(await staff.to_untag())),
        file=out,
    )


async def sync(api: WeChatClient, out: TextIO) -> int:
    """Create the customer menu and the staff menu (replacing earlier staff menus), then bring the staff
    tag in step: active bound staff not yet tagged get it, deactivated staff still tagged lose it.
    Returns 0, or 1 when WeChat refused a call (what failed is printed; rerunning is safe)."""
    try:
        await api.create_menu(menus.customer_menu())
        print(replies.render("staff.menu_customer"), file=out)
        _print_outline(menus.customer_menu(), out)
        tag_id = await api.tag_id(menus.STAFF_TAG)
        current = await api.get_menu() or {}
        old = [str(m.get("menuid")) for m in current.get("conditionalmenu", []) if _for_tag(m, tag_id)]
        # The new staff menu goes in before the old ones go, so staff never see the customer menu meanwhile.
        await api.create_conditional_menu(menus.staff_menu(), tag_id)
        for menuid in old:
            await api.delete_conditional_menu(menuid)
        print(replies.render("staff.menu_staff", tag=menus.STAFF_TAG, tag_id=tag_id), file=out)
        _print_outline(menus.staff_menu(), out)
        if old:
            print(replies.render("staff.menu_removed", count=len(old)), file=out)
    except WeChatAPIError as exc:
        print(replies.render("staff.menu_api_failed", error=exc), file=out)
        return 1
    tagged, failed = await _retag(api, tag_id, await staff.to_tag(), add=True)
    untagged, failed_untag = await _retag(api, tag_id, await staff.to_untag(), add=False)
    failed += failed_untag
    if tagged:
        print(replies.render("staff.menu_tagged", count=len(tagged), names=_names(tagged)), file=out)
    if untagged:
        print(replies.render("staff.menu_untagged", count=len(untagged), names=_names(untagged)), file=out)
    if failed:
        print(replies.render("staff.menu_tag_failed", names=_names(failed)), file=out)
        return 1
    if not tagged and not untagged:
        print(replies.render("staff.menu_tags_current"), file=out)
    return 0


def _for_tag(menu: dict[str, Any], tag_id: int) -> bool:
    rule = menu.get("matchrule") or {}
    return str(rule.get("tag_id", "")) == str(tag_id)


async def _retag(api: WeChatClient, tag_id: int, members: list[Staff], *, add: bool) -> tuple[list[Staff], list[Staff]]:
    """Tag (or untag) `members`: all at once, and one by one if WeChat refuses the batch (an unfollowed
    openid fails the whole batch). Returns (done, failed); `done` is recorded on the staff rows."""
    if not members:
        return [], []
    call = api.tag_users if add else api.untag_users
    done: list[Staff] = []
    failed: list[Staff] = []
    try:
        await call(tag_id, [m.openid for m in members if m.openid])
        done = members
    except WeChatAPIError as exc:
        log.warning("batch %s refused (%s); trying one by one", "tagging" if add else "untagging", exc)
        for member in members:
            try:
                await call(tag_id, [member.openid or ""])
                done.append(member)
            except WeChatAPIError:
                failed.append(member)
    for member in done:
        await staff.mark_tagged(member.id, add)
    return done, failed


def _names(members: Sequence[Staff]) -> str:
    return "、".join(m.name for m in members) or replies.render("staff.menu_none")


def _print_outline(menu: dict[str, Any], out: TextIO) -> None:
    for line in menus.outline(menu):
        print(f"  {line}", file=out)
