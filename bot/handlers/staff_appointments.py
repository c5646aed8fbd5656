"""Appointments for staff: 今日预约, 明日预约, 预约 <day>, 代客预约, 到店, 完成, 未到."""

from __future__ import annotations

from bot.handlers.commands import Command

COMMANDS: tuple[Command, ...] = ()
