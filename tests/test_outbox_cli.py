"""`python -m bot outbox`: counts by status and purpose, the oldest due row, the last errors, retry and show."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import OutboxMessage, OutboxStatus
from bot.services import outbox, outbox_cli

NOW = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


async def run(*argv: str, now: datetime = NOW) -> tuple[int, str]:
    out = io.StringIO()
    code = await outbox_cli.execute(outbox_cli.parser().parse_args(argv), now, TZ, out)
    return code, out.getvalue()


async def fill() -> dict[str, OutboxMessage]:
    """Rows in every state: two pending (one due 12 minutes ago), one sent, two failed, one undeliverable."""
    rows = {}
    rows["due"] = await outbox.enqueue_text("o_a", "您好", now=NOW - timedelta(minutes=12), purpose="reply")
    rows["later"] = await outbox.enqueue_template(
        "o_b", "TPL_APPT_REMINDER", {}, now=NOW + timedelta(hours=8), purpose="appointment_reminder"
    )
    for name, status, code, error in (
        ("sent", OutboxStatus.SENT, None, None),
        ("gone", OutboxStatus.FAILED, 43004, "WeChat errcode 43004: require subscribe"),
        ("refused", OutboxStatus.FAILED, 43101, "WeChat errcode 43101: user refuse to accept the msg"),
        ("no_template", OutboxStatus.UNDELIVERABLE, None, "没有配置模板，且用户48小时内未互动"),
    ):
        row = await outbox.enqueue_template("o_c", "TPL_APPT_REMINDER", {}, now=NOW, purpose="appointment_reminder")
        await OutboxMessage.filter(id=row.id).update(status=status, error_code=code, last_error=error, attempts=1)
        rows[name] = row
    return rows


async def test_status_shows_counts_by_purpose_the_oldest_due_row_and_the_last_errors(database: str) -> None:
    rows = await fill()
    code, text = await run()
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "待发送 pending: 2  已发送 sent: 1  失败 failed: 2  无法送达 undeliverable: 1"
    assert lines[1] == "最早到期未发：12 分钟前（2026-11-28 10:18:00）"
    assert "  appointment_reminder  pending 1  sent 1  failed 2  undeliverable 1" in lines
    assert "  reply                 pending 1  sent 0  failed 0  undeliverable 0" in lines
    errors = lines[lines.index("最近的错误：") + 1 :]
    assert errors == [
        f"  #{rows['no_template'].id}  undeliverable  appointment_reminder  错误码 -："
        "没有配置模板，且用户48小时内未互动",
        f"  #{rows['refused'].id}  failed  appointment_reminder  错误码 43101  用户拒收模板消息："
        "WeChat errcode 43101: user refuse to accept the msg",
        f"  #{rows['gone'].id}  failed  appointment_reminder  错误码 43004  用户未关注公众号："
        "WeChat errcode 43004: require subscribe",
    ]


async def test_status_of_an_empty_outbox(database: str) -> None:
    assert await run("status") == (
        0,
        "待发送 pending: 0  已发送 sent: 0  失败 failed: 0  无法送达 undeliverable: 0\n"
        "没有到期未发的消息。\n最近没有错误。\n",
    )


async def test_retry_one_row_puts_it_back_to_pending_due_now(database: str) -> None:
    rows = await fill()
    assert await run("retry", str(rows["no_template"].id)) == (0, "已放回待发送：1 条。\n")
    row = await OutboxMessage.get(id=rows["no_template"].id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0 and row.next_attempt_at == NOW
    assert row.client_msg_id == rows["no_template"].client_msg_id  # WeChat drops a repeat of a delivered one
    code, text = await run("retry", str(rows["sent"].id))
    assert code == 2 and "不是失败/无法送达状态" in text


async def test_retry_all_failed_requeues_only_failed_rows(database: str) -> None:
    rows = await fill()
    assert await run("retry", "--all-failed") == (0, "已放回待发送：2 条。\n")
    statuses = {name: (await OutboxMessage.get(id=row.id)).status for name, row in rows.items()}
    assert statuses["gone"] == statuses["refused"] == OutboxStatus.PENDING
    assert statuses["no_template"] == OutboxStatus.UNDELIVERABLE and statuses["sent"] == OutboxStatus.SENT


async def test_show_prints_one_row(database: str) -> None:
    rows = await fill()
    code, text = await run("show", str(rows["gone"].id))
    assert code == 0
    assert text.startswith(
        f"消息 #{rows['gone'].id}  template  appointment_reminder  失败 failed\n接收人 openid：o_c\n"
    )
    assert f"client_msg_id：{rows['gone'].client_msg_id}  微信 msgid：-" in text
    assert "最后错误：" in text and "用户未关注公众号" in text
    assert '内容：{"data": {}, "template_id": "TPL_APPT_REMINDER", "url": null}' in text
    assert await run("show", "999999") == (2, "没有消息 #999999。\n")
