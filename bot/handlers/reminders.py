"""Customers choose their reminders: 退订提醒 and 开启提醒."""

from __future__ import annotations

from bot import replies
from bot.handlers.commands import Command
from bot.handlers.turn import HandlerResult, Turn
from bot.services import followers
from bot.services.roles import CUSTOMERS


async def turn_off(turn: Turn, arg: str) -> HandlerResult:
    """退订提醒: no more reminders; confirmations of the customer's own bookings still arrive."""
    changed = await followers.set_reminders(turn.msg.openid, on=False, now=turn.now)
    return HandlerResult("reminders_off", replies.render("reminders.off" if changed else "reminders.already_off"))


async def turn_on(turn: Turn, arg: str) -> HandlerResult:
    """开启提醒: reminders again."""
    changed = await followers.set_reminders(turn.msg.openid, on=True, now=turn.now)
    return HandlerResult("reminders_on", replies.render("reminders.on" if changed else "reminders.already_on"))


COMMANDS: tuple[Command, ...] = (
    Command(
        "reminders_off", ("退订提醒", "取消提醒", "关闭提醒"), turn_off, CUSTOMERS, "reminders.help_off", writes=True
    ),
    Command("reminders_on", ("开启提醒", "打开提醒"), turn_on, CUSTOMERS, "reminders.help_on", writes=True),
)
