"""Staff accounts: 绑定, 邀请店员, 停用店员, 店员 (list), and the bind:<code> QR scene."""

from __future__ import annotations

from bot.handlers.commands import Command
from bot.handlers.turn import SceneHandler

COMMANDS: tuple[Command, ...] = ()

# Menu CLICK keys of the staff menu -> command names.
CLICK_KEYS: dict[str, str] = {}

# QR scene prefixes -> handlers ("bind" handles "bind:<code>").
SCENES: dict[str, SceneHandler] = {}
