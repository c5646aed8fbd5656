"""Models of the WeChat protocol edge: processed messages (retry dedupe), the token cache, the outbox."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ProcessedMessage(Model):
    """One inbound message or event, kept a day so WeChat's retries get the first reply, not a rerun."""

    # "m:<MsgId>" for messages, "e:<FromUserName>:<CreateTime>:<Event>" for events.
    key = fields.CharField(max_length=160, primary_key=True)
    received_at = fields.DatetimeField(db_index=True)
    # The reply's plaintext XML once the first attempt finished; NULL while it is still running.
    reply = fields.TextField(null=True)
    done = fields.BooleanField(default=False)

    class Meta:
        table = "processed_message"


class TokenCache(Model):
    """The shared access token per AppID, and the lease that lets one process at a time refresh it."""

    appid = fields.CharField(max_length=64, primary_key=True)
    access_token = fields.TextField(default="")
    expires_at = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "token_cache"


class OutboxKind(StrEnum):
    TEMPLATE = "template"
    TEXT = "text"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"


class OutboxMessage(Model):
    """A message to push to one user, written in the transaction that caused it and sent after commit."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(OutboxKind, max_length=16)
    openid = fields.CharField(max_length=64, db_index=True)
    payload: dict[str, Any] = fields.JSONField()
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A dispatcher owns a row until this time; a crashed dispatcher's rows are picked up after it.
    claimed_until = fields.DatetimeField(null=True)
    client_msg_id = fields.CharField(max_length=64, unique=True)
    # Optional idempotency key for producers (a reminder rule, a late webhook reply).
    dedupe_key = fields.CharField(max_length=160, unique=True, null=True)
    # What the message is about: a template kind ("appointment_reminder") or "reply"; for metrics and ops.
    purpose = fields.CharField(max_length=32, null=True, db_index=True)
    error_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    wechat_msgid = fields.BigIntField(null=True, db_index=True)
    delivery_status = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        indexes = (("status", "next_attempt_at"),)


class PagedReply(Model):
    """The pages of a long reply a user has not read yet ("回复 下一页")."""

    openid = fields.CharField(max_length=64, primary_key=True)
    pages: list[str] = fields.JSONField()
    total = fields.IntField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "paged_reply"


class Follower(Model):
    """A WeChat user as the account sees them: when they last wrote to us (WeChat lets us answer with
    customer-service messages for 48 hours after that) and whether they want reminders."""

    openid = fields.CharField(max_length=64, primary_key=True)
    last_interaction_at = fields.DatetimeField(null=True)
    following = fields.BooleanField(default=True)
    unsubscribed_at = fields.DatetimeField(null=True)
    # "退订提醒": no reminders; confirmations of the user's own actions still arrive.
    reminders_off = fields.BooleanField(default=False)
    reminders_changed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "follower"
