"""Tasks: 派任务, 我的任务, 完成任务, 任务, 任务统计, 撤销任务."""

from __future__ import annotations

from bot.handlers.commands import Command

COMMANDS: tuple[Command, ...] = ()
