"""Finds and masks mainland Chinese mobile numbers."""

import re
from typing import Final

from bot.nlu.text import normalize

# The look-behind keeps a mobile from being read out of a longer run of digits (order numbers, IDs).
MOBILE_RE: Final = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(?P<head>1[3-9]\d)[\s-]?(?P<mid>\d{4})[\s-]?(?P<tail>\d{4})(?!\d)"
)


def parse_mobile(text: str) -> str | None:
    """First mainland mobile number in `text` as 11 bare digits, or None."""
    match = MOBILE_RE.search(normalize(text))
    if match is None:
        return None
    return match["head"] + match["mid"] + match["tail"]


def mask_mobile(text: str) -> str:
    """A mobile number with its middle four digits hidden (138****5678); other text is returned as is."""
    mobile = parse_mobile(text)
    if mobile is None:
        return text
    return f"{mobile[:3]}****{mobile[7:]}"
