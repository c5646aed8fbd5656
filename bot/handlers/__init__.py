"""Routing: which handler answers a message or event, and what it replies."""

from bot.handlers.router import dispatch
from bot.handlers.turn import HandlerResult, Turn

__all__ = ["HandlerResult", "Turn", "dispatch"]
