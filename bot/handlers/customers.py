"""Customers for staff: 查客户, 客户, 新增客户, 修改客户, 跟进, 转移客户, 转移全部客户."""

from __future__ import annotations

from bot.handlers.commands import Command

COMMANDS: tuple[Command, ...] = ()
