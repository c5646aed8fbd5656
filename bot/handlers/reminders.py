"""Customers choose their reminders: 退订提醒 and 开启提醒."""

from __future__ import annotations

from bot.handlers.commands import Command

COMMANDS: tuple[Command, ...] = ()
