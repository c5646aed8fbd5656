"""Routing: which handler answers a message or event, and what it replies."""

from bot.handlers.router import HandlerResult, Turn, dispatch

__all__ = ["HandlerResult", "Turn", "dispatch"]
