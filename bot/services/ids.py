"""Short ids people read and type: customers C1024, tasks T12 (appointments have their own references)."""

from __future__ import annotations

import re
import unicodedata

_ID = re.compile(r"^#?([a-z]?)(\d{1,9})$")


def customer_code(customer_id: int) -> str:
    return f"C{customer_id}"


def task_code(task_id: int) -> str:
    return f"T{task_id}"


def parse_code(text: str, letter: str) -> int | None:
    """The id in "C1024", "c1024", "#1024" or "1024" (for `letter` "C"); None for anything else."""
    normal = unicodedata.normalize("NFKC", text).strip().lower()
    m = _ID.match(normal)
    if m is None or m.group(1) not in ("", letter.lower()):
        return None
    return int(m.group(2))


def parse_customer_code(text: str) -> int | None:
    return parse_code(text, "C")


def parse_task_code(text: str) -> int | None:
    return parse_code(text, "T")
