"""Finds and normalises Chinese licence plates in free text."""

import re
from typing import Final

from bot.nlu.text import normalize

PROVINCES: Final = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
# Serial characters exclude I and O, which are too easily confused with 1 and 0 to be issued.
_SERIAL = "[A-HJ-NP-Z0-9]"
_SEP = r"[\s·•・.\-]*"
# New-energy shapes come first so an 8-character plate is not cut down to its 7-character prefix; their
# D/F is often typed apart from the rest (沪AD 12345, 沪A·D·12345).
_SEP_RE: Final = re.compile(_SEP)
PLATE_RE: Final = re.compile(
    rf"(?P<province>[{PROVINCES}]){_SEP}(?P<city>[A-Z]){_SEP}"
    rf"(?P<serial>[DF]{_SEP}{_SERIAL}\d{{4}}|\d{{5}}[DF]|{_SERIAL}{{4}}[A-HJ-NP-Z0-9学警港澳挂领])"
    r"(?![A-Z0-9])",
    re.IGNORECASE,
)


def parse_plate(text: str) -> str | None:
    """First licence plate in `text`, upper-cased without separators (粤 a·12345 -> 粤A12345)."""
    match = PLATE_RE.search(normalize(text))
    if match is None:
        return None
    return (match["province"] + match["city"] + _SEP_RE.sub("", match["serial"])).upper()


def is_plate(text: str) -> bool:
    """Whether `text` is exactly one licence plate (separators and case tolerated)."""
    return PLATE_RE.fullmatch(normalize(text)) is not None
