"""Finds and masks mainland Chinese mobile numbers."""

import re
from typing import Final

from bot.nlu.text import normalize

# The look-behind keeps a mobile from being read out of a longer run of digits (order numbers, IDs).
MOBILE_RE: Final = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(?P<head>1[3-9]\d)[\s-]?(?P<mid>\d{4})[\s-]?(?P<tail>\d{4})(?!\d)"
)


# A number read out digit by digit (voice input, or typed so): 幺 is how 1 is said in phone numbers.
_SPOKEN_DIGITS: Final = str.maketrans("〇零幺一二两三四五六七八九", "0011223456789")
_SPOKEN_RUN: Final = re.compile(r"[〇零幺一二两三四五六七八九][〇零幺一二两三四五六七八九\s,，、-]{10,}")
_NOT_DIGIT: Final = re.compile(r"\D")


def _digits_spoken(text: str) -> str:
    """`text` with a number said digit by digit (一三八，零零一三…, as voice input writes it) as bare digits."""
    return _SPOKEN_RUN.sub(lambda run: _NOT_DIGIT.sub("", run[0].translate(_SPOKEN_DIGITS)), text)


def parse_mobile(text: str) -> str | None:
    """First mainland mobile number in `text` as 11 bare digits, or None."""
    match = MOBILE_RE.search(_digits_spoken(normalize(text)))
    if match is None:
        return None
    return match["head"] + match["mid"] + match["tail"]


def mask_mobile(text: str) -> str:
    """A mobile number with its middle four digits hidden (138****5678); other text is returned as is."""
    mobile = parse_mobile(text)
    if mobile is None:
        return text
    return f"{mobile[:3]}****{mobile[7:]}"
