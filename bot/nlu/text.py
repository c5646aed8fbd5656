"""Text clean-up shared by the parsers: width, spacing, traditional characters and Chinese numerals."""

import re
import unicodedata
from typing import Final

# Only the characters the parsers look at (dates, services, yes/no, plates) need folding; a full
# traditional-to-simplified table would be a dependency for no gain. Each traditional character is
# followed by its simplified form.
_TRAD_SIMP: Final = (
    "點点號号週周禮礼後后這这個个時时鐘钟兩两來来過过會会嗎吗"
    "對对確确認认沒没問问題题養养車车檢检測测維维噴喷鈑钣輪轮換换試试"
    "駕驾劃划蠟蜡內内飾饰潔洁審审補补機机濾滤異异響响壞坏體体選选擇择"
    "聖圣誕诞節节慶庆勞劳動动兒儿黃黄頭头預预約约幫帮請请們们裡里裏里"
    "國国廣广東东滬沪貴贵遼辽魯鲁蘇苏閩闽寧宁陝陕雲云贛赣晉晋瓊琼學学"
    "領领掛挂錯错說说還还與与間间淩凌幾几麼么為为讓让開开門门線线樓楼"
    "碼码現现馬马給给邊边歡欢謝谢別别較较氣气電电話话單单發发價价錢钱"
    "貼贴鍍镀驗验險险夠够閒闲閑闲煩烦務务場场廠厂狀状態态誤误須须隻只"
    "歲岁舊旧實实際际應应該该寫写聽听見见帶带備备處处燈灯熱热陣阵離离"
    "鬧闹萬万統统樣样數数頂顶長长傳传剮剐輛辆於于準准將将從从滿满裝装"
)
_TRAD_TO_SIMP: Final = str.maketrans(_TRAD_SIMP[0::2], _TRAD_SIMP[1::2])
_SPACES: Final = re.compile(r"\s+")

_CN_DIGITS: Final[dict[str, int]] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "俩": 2,
    "仨": 3,
}
_CN_UNITS: Final[dict[str, int]] = {"十": 10, "百": 100}
_CN_TENS: Final[dict[str, int]] = {"廿": 20, "卅": 30}
CN_NUMERAL_CHARS: Final = "".join(_CN_DIGITS) + "".join(_CN_UNITS) + "".join(_CN_TENS)


def normalize(text: str) -> str:
    """Fold width (NFKC), the traditional characters the parsers read, and runs of whitespace."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRAD_TO_SIMP)
    return _SPACES.sub(" ", folded).strip()


def cn_to_int(numeral: str) -> int | None:
    """Value of a Chinese numeral such as 十一, 二十八, 廿八, 两, 一百零五 or 二〇二六 (digit by digit).

    Returns None for anything that is not a well-formed numeral.
    """
    if not numeral or any(c not in CN_NUMERAL_CHARS for c in numeral):
        return None
    if not any(c in _CN_UNITS or c in _CN_TENS for c in numeral):
        return int("".join(str(_CN_DIGITS[c]) for c in numeral))
    total = 0
    pending: int | None = None
    last_unit = 1000
    for char in numeral:
        if char in _CN_DIGITS:
            if pending is not None:
                return None
            # 零 only bridges a skipped place (一百零五); it carries no value of its own.
            pending = None if _CN_DIGITS[char] == 0 else _CN_DIGITS[char]
        elif char in _CN_TENS:
            if pending is not None or total:
                return None
            total, last_unit = _CN_TENS[char], 10
        else:
            unit = _CN_UNITS[char]
            if unit >= last_unit:
                return None
            total += (1 if pending is None else pending) * unit
            pending, last_unit = None, unit
    return total + (pending or 0)
