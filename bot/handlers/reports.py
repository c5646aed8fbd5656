"""Reports for managers: 报表 [今天|本周|本月]."""

from __future__ import annotations

from bot.handlers.commands import Command

COMMANDS: tuple[Command, ...] = ()
