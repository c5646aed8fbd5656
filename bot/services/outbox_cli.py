"""`python -m bot outbox`: pending, sent and failed messages, the last errors; retry failed rows; show one."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from bot import db
from bot.models import OutboxMessage, OutboxStatus
from bot.services import outbox
from bot.settings import Settings

STATUS_NAMES = {
    OutboxStatus.PENDING: "待发送",
    OutboxStatus.SENT: "已发送",
    OutboxStatus.FAILED: "失败",
    OutboxStatus.UNDELIVERABLE: "无法送达",
}
# What an operator needs to know about the errcodes the outbox meets; -1 covers timeouts and 5xx too.
REASONS = {
    -1: "超时、5xx 或微信系统繁忙",
    40003: "openid 无效（不是本公众号的用户）",
    40037: "模板 id 无效",
    43004: "用户未关注公众号",
    43101: "用户拒收模板消息",
    45009: "今日接口额度已用完",
    45015: "超出48小时客服消息窗口",
    45047: "客服消息条数超限",
    47003: "模板字段不合要求",
}


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bot outbox`."""
    p = argparse.ArgumentParser(prog="python -m bot outbox", description="outbound messages: status, retry, show")
    sub = p.add_subparsers(dest="action")
    sub.add_parser("status", help="counts by status and purpose, the oldest due row, the last 10 errors (default)")
    retry = sub.add_parser("retry", help="put a failed row back to pending: retry <id> | retry --all-failed")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int)
    which.add_argument("--all-failed", action="store_true")
    show = sub.add_parser("show", help="everything about one row")
    show.add_argument("id", type=int)
    return p


def main(argv: Sequence[str], settings: Settings) -> int:
    """Run one outbox command against the configured database; returns the process exit code."""
    return asyncio.run(_main(parser().parse_args(argv), settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    # A fresh machine has no tables yet: migrate first, as every tool does.
    await db.migrate(settings)
    await db.connect(settings)
    try:
        # The command line is the edge of the system: the one place that reads the clock.
        return await execute(args, datetime.now(UTC), settings.tz, sys.stdout)
    finally:
        await db.disconnect()


async def execute(args: argparse.Namespace, now: datetime, tz: tzinfo, out: TextIO) -> int:
    """Carry out parsed `args` and print the result; an unknown row prints why and returns 2."""
    if args.action == "retry":
        count = await outbox.retry(now, None if args.all_failed else args.id)
        if not count and not args.all_failed:
            print(f"没有可重试的消息 #{args.id}（不存在，或不是失败/无法送达状态）。", file=out)
            return 2
        print(f"已放回待发送：{count} 条。", file=out)
        return 0
    if args.action == "show":
        row = await OutboxMessage.get_or_none(id=args.id)
        if row is None:
            print(f"没有消息 #{args.id}。", file=out)
            return 2
        _show(row, tz, out)
        return 0
    await _status(now, tz, out)
    return 0


async def _status(now: datetime, tz: tzinfo, out: TextIO) -> None:
    summary = await outbox.summary(now)
    totals: dict[str, int] = defaultdict(int)
    by_purpose: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (status, purpose), n in summary.counts.items():
        totals[status] += n
        by_purpose[purpose][status] += n
    print("  ".join(f"{STATUS_NAMES[s]} {s}: {totals.get(s.value, 0)}" for s in OutboxStatus), file=out)
    if summary.oldest_due is None:
        print("没有到期未发的消息。", file=out)
    else:
        minutes = int((now - summary.oldest_due).total_seconds() // 60)
        print(f"最早到期未发：{minutes} 分钟前（{_local(summary.oldest_due, tz)}）", file=out)
    if by_purpose:
        print("按用途：", file=out)
        width = max(len(p) for p in by_purpose)
        for purpose in sorted(by_purpose):
            counts = "  ".join(f"{s.value} {by_purpose[purpose].get(s.value, 0)}" for s in OutboxStatus)
            print(f"  {purpose:<{width}}  {counts}", file=out)
    if not summary.errors:
        print("最近没有错误。", file=out)
        return
    print("最近的错误：", file=out)
    for row in summary.errors:
        print(f"  {_error_line(row)}", file=out)


def _error_line(row: OutboxMessage) -> str:
    code = "-" if row.error_code is None else str(row.error_code)
    reason = REASONS.get(row.error_code, "") if row.error_code is not None else ""
    parts = [f"#{row.id}", row.status.value, row.purpose or "-", f"错误码 {code}"]
    if reason:
        parts.append(reason)
    return "  ".join(parts) + f"：{row.last_error}"


def _local(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _show(row: OutboxMessage, tz: tzinfo, out: TextIO) -> None:
    lines = [
        f"消息 #{row.id}  {row.kind.value}  {row.purpose or '-'}  {STATUS_NAMES[row.status]} {row.status.value}",
        f"接收人 openid：{row.openid}",
        f"尝试次数：{row.attempts}  下次尝试：{_local(row.next_attempt_at, tz)}",
        f"创建：{_local(row.created_at, tz)}  发送：{_local(row.sent_at, tz) if row.sent_at else '-'}",
        f"client_msg_id：{row.client_msg_id}  微信 msgid：{row.wechat_msgid or '-'}",
        f"送达回执：{row.delivery_status or '-'}",
    ]
    if row.dedupe_key:
        lines.append(f"去重键：{row.dedupe_key}")
    if row.last_error:
        lines.append(f"最后错误：{_error_line(row)}")
    lines.append("内容：" + json.dumps(row.payload, ensure_ascii=False, sort_keys=True))
    print("\n".join(lines), file=out)
