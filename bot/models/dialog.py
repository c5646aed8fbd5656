"""The conversation state of one WeChat user: which dialog they are in, its step and filled slots."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class DialogSession(Model):
    """One row per openid. `version` makes saves compare-and-set across worker processes."""

    openid = fields.CharField(max_length=64, primary_key=True)
    dialog = fields.CharField(max_length=32, default="")  # "" when the user is not in a dialog
    step = fields.CharField(max_length=32, default="")
    data: dict[str, Any] = fields.JSONField(default=dict)
    misses = fields.IntField(default=0)
    version = fields.IntField(default=0)
    expires_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "dialog_session"
