"""Every sentence a user reads, in one place: keys map to concise zh-CN text with named {params}.

The texts are split by area (one module each) and merged here; a key defined twice is a bug and fails import.
"""

from __future__ import annotations

from typing import Any

from bot.replies import core, customers, notify, reminders, reports, staff, tasks, visits

MEDIA_KINDS: dict[str, str] = {
    "image": "图片",
    "video": "视频",
    "shortvideo": "小视频",
    "link": "链接",
    "file": "文件",
}


def _merge(*parts: dict[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        twice = merged.keys() & part.keys()
        if twice:
            raise ValueError(f"reply keys defined twice: {sorted(twice)}")
        merged.update(part)
    return merged


REPLIES: dict[str, str] = _merge(
    core.REPLIES,
    staff.REPLIES,
    customers.REPLIES,
    visits.REPLIES,
    tasks.REPLIES,
    reports.REPLIES,
    reminders.REPLIES,
    notify.REPLIES,
)


def render(key: str, /, **params: Any) -> str:
    """The text for `key` with its params filled in; a missing key or param is a bug and raises."""
    return REPLIES[key].format(**params)
