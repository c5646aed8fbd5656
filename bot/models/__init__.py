"""Tortoise models: the data 4S Desk keeps, with the indexes its lookups need."""

from bot.models.dialog import DialogSession
from bot.models.wechat import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    PagedReply,
    ProcessedMessage,
    TokenCache,
)

__all__ = [
    "DialogSession",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "PagedReply",
    "ProcessedMessage",
    "TokenCache",
]
