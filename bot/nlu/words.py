"""Yes/no replies and list picks ("第二个", "选2")."""

import re
from typing import Final

from bot.nlu.text import CN_NUMERAL_CHARS, cn_to_int, normalize

# Trailing punctuation, emphasis and mood particles do not change a short answer's meaning.
_TRAILING: Final = re.compile(r"(?:[\s,.!?~;:。，！？～、…啊呀吧哈啦哦喔嘛呢]|谢谢|谢了|多谢|thanks|thx)+$")
# Doubled affirmatives (嗯嗯嗯, 对对对, 好好好) are as common as the single word.
_REPEATED_YES: Final = re.compile(r"(?:嗯|恩|对|好|行|是的?)+")
_YES: Final = frozenset(
    {
        "是",
        "是的",
        "好",
        "好的",
        "好滴",
        "好嘞",
        "好哒",
        "好呀",
        "确认",
        "确定",
        "对",
        "对的",
        "对对",
        "没错",
        "可以",
        "可以的",
        "行",
        "行的",
        "嗯",
        "嗯嗯",
        "恩",
        "恩恩",
        "ok",
        "okay",
        "ok的",
        "yes",
        "y",
        "没问题",
        "👌",
        "👍",
        "🆗",
    }
)
_NO: Final = frozenset(
    {
        "不",
        "不是",
        "否",
        "算了",
        "不用",
        "不用了",
        "不要",
        "不要了",
        "不行",
        "不了",
        "不对",
        "不需要",
        "不可以",
        "no",
        "n",
        "nope",
    }
)
_PICK: Final = re.compile(
    rf"(?:我)?(?:选|选择|要)?第?(?P<num>\d+|[{CN_NUMERAL_CHARS}]+)(?:个|号|项|条|种|位)?(?:吧|的)?"
)


def _clean(text: str) -> str:
    return _TRAILING.sub("", normalize(text).lower())


def is_yes(text: str) -> bool:
    """Whether a short reply means yes (好的, 可以, 确认, ok, 👌 …)."""
    cleaned = _clean(text)
    return cleaned in _YES or _REPEATED_YES.fullmatch(cleaned) is not None


def is_no(text: str) -> bool:
    """Whether a short reply means no (不用, 不行, 算了, no …); 取消 is a command, not a no."""
    return _clean(text) in _NO


def parse_pick(text: str, count: int) -> int | None:
    """1-based index picked from a list of `count` items ("2", "第二个", "选2", "2号"), or None."""
    match = _PICK.fullmatch(_clean(text))
    if match is None:
        return None
    digits = match["num"]
    value = int(digits) if digits.isdigit() else cn_to_int(digits)
    if value is None or not 1 <= value <= count:
        return None
    return value
