"""Every reply key the code uses exists, and every template renders with its named parameters."""

import re
import string
from pathlib import Path

from bot.replies import REPLIES, render

USES = re.compile(r"""(?:replies\.render|say)\(\s*(?:f?)["']([a-z_]+\.[a-z_]+|[a-z_]+)["']""")


def test_every_key_used_in_the_code_exists() -> None:
    used = set()
    for path in Path("bot").rglob("*.py"):
        used |= set(USES.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern found no reply keys: it no longer matches the code"
    assert sorted(used - REPLIES.keys()) == []


def test_every_template_renders() -> None:
    for key, template in REPLIES.items():
        params = {name: "X" for _, name, _, _ in string.Formatter().parse(template) if name}
        assert render(key, **params), key
