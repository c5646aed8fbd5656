"""Reads the appointment time in a customer's message: Chinese first, English through dateparser."""

import calendar
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import dateparser

from bot.nlu.phone import MOBILE_RE
from bot.nlu.plate import PLATE_RE
from bot.nlu.text import CN_NUMERAL_CHARS, cn_to_int, normalize

When = datetime | date

# ---------------------------------------------------------------------------------------------------------
# Chinese numerals to digits
# ---------------------------------------------------------------------------------------------------------

# Words whose numeral is not a number of days or hours; turning them into digits would make "快一点"
# read as 1 o'clock or "一时半会" as 1:30. The look-behind keeps 周一下午 and 星期一早上 convertible.
_NUMERAL_KEEP = (
    r"(?<![周期拜第初])一(?:下|起|直|定|般|样|些|切|共|致|会|时|早)"
    r"|一点点|一点儿|有一点|一大早|万一|统一|唯一|过两天|这两天|前两天|那两天"
    rf"|(?<=[快早晚慢好多少稍差大小高低宜贵近远长短])一点(?![半钟整过刻{CN_NUMERAL_CHARS}\d])"
)
_NUMERAL_RE: Final = re.compile(rf"(?P<keep>{_NUMERAL_KEEP})|(?P<run>[{CN_NUMERAL_CHARS}]+)")


def _numeral_to_digits(match: re.Match[str]) -> str:
    run = match["run"]
    if run is None:
        return match.group()
    if match.string[match.start() - 1 : match.start()] in {"周", "期", "拜"}:
        # Only the first numeral is the weekday: 礼拜六三点 and 周六12点 must not become 周63点 or 周612点.
        rest = _NUMERAL_RE.match(match.string, match.start() + 1)
        kept = rest is not None and rest["keep"] is not None
        return f"{_run_to_digits(run[0])} {run[1:] if kept else _run_to_digits(run[1:])}"
    return _run_to_digits(run)


def _run_to_digits(run: str) -> str:
    value = cn_to_int(run)
    if value is None and len(run) >= 2:
        # "十一二点", "三四天": two neighbouring numbers mean "about"; the first one is the reading.
        value = cn_to_int(run[:-1])
    elif value is not None and len(run) == 2 and run[0] in "一二两三四五六七八" and run[1] in "二两三四五六七八九":
        first, second = cn_to_int(run[0]), cn_to_int(run[1])
        if first is not None and second == first + 1:
            value = first
    return run if value is None else str(value)


# ---------------------------------------------------------------------------------------------------------
# Token grammar (applied to normalised, lower-cased text with numerals already in digits)
# ---------------------------------------------------------------------------------------------------------

_NUM = r"\d{1,2}"
_WEEK_WORD = r"(?:周|星期|礼拜)"
_RANGE_SEP = r"(?:-|~|〜|—|–|到|至)"
_AMPM = r"(?:am|pm|a\.m\.|p\.m\.)"
# Prefixes of relative weeks and months; 下一周 arrives here as 下1周 after numeral conversion.
_REL_PREFIX = r"(?:下下个?|下1?个?|这1?个?|本|上上个?|上1?个?|今)"

_DAY_PARTS: Final[dict[str, str]] = {
    "凌晨": "early",
    "半夜": "midnight",
    "深夜": "midnight",
    "大清早": "morning",
    "一大早": "morning",
    "清早": "morning",
    "清晨": "morning",
    "一早": "morning",
    "早上": "morning",
    "早晨": "morning",
    "上午": "morning",
    "早": "morning",
    "中午": "noon",
    "正午": "noon",
    "晌午": "noon",
    "午后": "afternoon",
    "下午": "afternoon",
    "傍晚": "dusk",
    "黄昏": "dusk",
    "晚上": "evening",
    "晚间": "evening",
    "夜里": "evening",
    "夜间": "evening",
    "夜晚": "evening",
    "晚": "evening",
}
# Hour at which a day part is over: a day part named without a day means today until then.
_PART_ENDS: Final[dict[str, int]] = {
    "early": 6,
    "morning": 12,
    "noon": 14,
    "afternoon": 18,
    "dusk": 19,
    "evening": 24,
    "midnight": 24,
}
_DAY_WORDS: Final[dict[str, tuple[int, str | None]]] = {
    "大后天": (3, None),
    "大前天": (-3, None),
    "今天": (0, None),
    "今明": (0, None),
    "明后天": (1, None),
    "今日": (0, None),
    "今儿个": (0, None),
    "今儿": (0, None),
    "今个": (0, None),
    "明天": (1, None),
    "明日": (1, None),
    "明儿个": (1, None),
    "明儿": (1, None),
    "后天": (2, None),
    "后儿个": (2, None),
    "后儿": (2, None),
    "昨天": (-1, None),
    "昨日": (-1, None),
    "昨儿": (-1, None),
    "前天": (-2, None),
    "次日": (1, None),
    "第2天": (1, None),
    "今早": (0, "morning"),
    "今晚": (0, "evening"),
    "今夜": (0, "evening"),
    "明早": (1, "morning"),
    "明晨": (1, "morning"),
    "明晚": (1, "evening"),
    "明夜": (1, "evening"),
    "昨晚": (-1, "evening"),
    "昨夜": (-1, "evening"),
    "明": (1, None),
}
_EN_DAY_WORDS_CN: Final[dict[str, tuple[int, str | None]]] = {
    "today": (0, None),
    "tonight": (0, "evening"),
    "tomorrow": (1, None),
    "tmrw": (1, None),
    "tmr": (1, None),
    "yesterday": (-1, None),
}
# Fixed-date holidays only; lunar ones (春节, 中秋) move every year and are left to the dialog.
_HOLIDAYS: Final[dict[str, tuple[int, int]]] = {
    "元旦": (1, 1),
    "情人节": (2, 14),
    "劳动节": (5, 1),
    "儿童节": (6, 1),
    "国庆": (10, 1),
    "平安夜": (12, 24),
    "圣诞": (12, 25),
}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PART_WORDS = "|".join(
    re.escape(w) + (r"(?=\s*\d)" if len(w) == 1 else "") for w in sorted(_DAY_PARTS, key=len, reverse=True)
)
_DAY_WORD_RE = "|".join(
    re.escape(w) + (r"(?=\s*(?:上午|下午|中午|早上|晚上))" if w == "明" else "")
    for w in sorted(_DAY_WORDS, key=len, reverse=True)
)

_TOKEN_PATTERNS: Final = (
    # Greetings and "a bit earlier/later" mention a day part but name no time.
    (
        "ignore",
        r"早上好|早安|上午好|中午好|下午好|晚上好|晚安|早点|晚点|早些|晚些|早一点|晚一点|下午茶"
        r"|周末愉快|周末快乐|圣诞快乐|元旦快乐|新年快乐",
    ),
    (
        "fallback",
        r"如果不行|如果不可以|要是不行|万一不行|实在不行|再不行|不行的话|不可以的话|不方便的话"
        r"|没空的话|没时间的话|不行就|不行再|要不然|要不|不然|否则",
    ),
    (
        "correct",
        r"不对|说错了|搞错了|打错了|写错了|哦不|啊不|噢不|不不|改成|改到|改为|改约|换成|换到|更正"
        r"|我是说|应该是|其实是|算了|那就|最好是|最好|改(?![天日])|(?:^|(?<=[\s,，。.!！?？;；]))还是",
    ),
    (
        "neg",
        r"(?<!行)不行|(?<!可)不可以|(?<!便)不方便|不太方便|不是很方便|不大方便|(?<!有)没空|(?<!有)没有空"
        r"|(?<!有)没时间|(?<!有)没有时间|有事|有点事|很忙|太忙|在忙|要忙|比较忙|有点忙|[来去约到]不了"
        r"|过不去|过不来|赶不上|赶不过来"
        r"|(?<!在)不在|(?<!合)不合适|不太行|(?<!能)不能|不ok|(?<!好)不好(?!意思)|不太好|够呛|除外"
        r"|来不及|没办法|没法|有安排|出差|要上班|得上班|在上班|都上班|太晚|太早",
    ),
    ("notbefore", r"(?<!是)不是|除了|不要|别(?![的人])"),
    # Said after a candidate: the customer's preferred one among several (周四或周五，周五更好).
    ("prefer", r"更好|更方便|更合适|比较好|最好了|优先"),
    ("or", r"或者|或是|或|要么|还是"),
    ("past", r"上次|上回|上1次|前几天|去年的|本来|原来|原先|原本"),
    ("same_time", r"这个时候|这个时间|这个点|同一时间|同样时间"),
    (
        "reltime",
        r"(?:再?过\s*)?(?P<rt_n>\d+(?:\.\d+)?|半)\s*(?P<rt_unit>个半小时|个半钟头|个小时|个钟头|个钟"
        r"|小时|钟头|分钟|刻钟)\s*(?:以后|之后|后|以内|之内|内)"
        r"|再?过\s*(?P<rt_n2>\d+(?:\.\d+)?|半)\s*(?P<rt_unit2>个半小时|个小时|个钟头|小时|钟头|分钟|刻钟)",
    ),
    (
        "vague",
        r"过两天|这两天|前两天|过几天|这几天|过些天|过段时间|过阵子|改天|改日|哪天|近期|近几天|最近几天"
        rf"|{_WEEK_WORD}几|几号|月初|月中|上旬|中旬|下旬|年初|年中|半天后",
    ),
    (
        "relday",
        r"(?P<rd_n>\d+|半)\s*(?P<rd_unit>天|日|周|个星期|星期|个礼拜|礼拜|个半月|个月)"
        r"\s*(?P<rd_dir>以后|之后|后|以前|之前|前|以内|之内|内)"
        r"|(?:再?过)\s*(?P<rd_n2>\d+)\s*(?P<rd_unit2>天|周|个星期|个礼拜|个月)",
    ),
    (
        "span_end",
        rf"(?<![个\d几])(?P<se_pre>{_REL_PREFIX})?(?P<se_unit>{_WEEK_WORD}|月)\s*(?:之前|以前|前|之内|以内|内)",
    ),
    ("year_end", r"(?P<ye_pre>今年|明年|去年|今|明|去|\d{4})?\s*年\s*(?:底|末|之内|以内|内)"),
    ("month_end", rf"(?:(?P<me_pre>{_REL_PREFIX})个?|(?<![\d个])(?P<me_m>{_NUM})\s*)?月\s*(?:底|末)"),
    (
        "weekday",
        rf"(?<!\d)(?P<wd_pre>{_REL_PREFIX})?\s*{_WEEK_WORD}(?:\s*的?\s*{_WEEK_WORD})?"
        r"\s*(?P<wd_day>\d(?!\d)|日|天(?!气)|末)",
    ),
    (
        "monthday",
        rf"(?:(?P<md_y>\d{{4}}|\d{{2}})\s*年\s*|(?P<md_yw>今年|明年|去年|后年)\s*)?(?<![\d个])"
        rf"(?P<md_m>{_NUM})\s*月\s*(?:份\s*)?(?:的\s*)?(?P<md_d>{_NUM})(?!\d|\s*[点时:])\s*[日号]?"
        rf"|(?P<md_rel>{_REL_PREFIX})个?月\s*(?:的\s*)?(?P<md_rd>{_NUM})\s*[日号]",
    ),
    ("vague_span", rf"{_REL_PREFIX}个?(?:{_WEEK_WORD}|月)|今年|明年|去年|(?<![\d个])(?P<vm_m>{_NUM})\s*月份?"),
    ("iso", r"(?<![\d.:/-])(?P<iso_y>\d{4})\s*[-/.]\s*(?P<iso_m>\d{1,2})\s*[-/.]\s*(?P<iso_d>\d{1,2})(?!\d)"),
    (
        "range_clock",
        rf"(?<![\d:.])(?P<rc_h>{_NUM})(?::(?P<rc_m>\d{{2}}))?\s*{_RANGE_SEP}\s*{_NUM}(?::\d{{2}})?"
        r"\s*(?:点|时)",
    ),
    (
        "numdate",
        rf"(?<![\d.:/-])(?P<nd_m>{_NUM})(?P<nd_sep>[-/.])(?P<nd_d>{_NUM})(?:\s*[日号])?"
        r"(?![\d.:/%a-z]|\s*(?:[点时万千百元块个天周月年分小米升公]))",
    ),
    ("holiday", rf"(?P<hd>{_alternation(_HOLIDAYS)})节?"),
    ("dayword", rf"(?P<dw>{_DAY_WORD_RE})"),
    # English day words inside Chinese text ("tomorrow 下午3点"); all-English text goes to dateparser.
    ("dayword_en", r"(?<![a-z])(?P<dwe>today|tonight|tomorrow|tmrw|tmr|yesterday)(?![a-z])"),
    (
        "clock_cn",
        rf"(?<![\d第.])(?P<ck_h>{_NUM})\s*(?:点钟?|时)\s*(?:(?P<ck_half>半)|(?P<ck_q>[13])\s*刻"
        rf"|过?\s*(?P<ck_m>{_NUM})(?![\d号日天个月周])\s*分?(?!钟)|整|多)?",
    ),
    ("clock_colon", rf"(?<![\d:])(?P<cc_h>{_NUM}):(?P<cc_m>\d{{2}})(?::\d{{2}})?(?!\d)\s*(?P<cc_ap>{_AMPM})?"),
    ("clock_ap", rf"(?<![\d:.])(?P<ca_h>{_NUM})\s*(?P<ca_ap>{_AMPM})(?![a-z])"),
    (
        "dom",
        r"(?<![\d第路街道巷弄区栋楼村号月.])(?P<dom_d>\d{1,2})\s*[号日]"
        r"(?![线楼门口位库厅台桌码车院栋单室店机人子技])",
    ),
    ("daypart", rf"(?P<dp>{_PART_WORDS})(?:\s*(?P<dp_h>{_NUM})(?![\d号日月天周个小分点时:.年~〜\-到至]|\s*{_AMPM}))?"),
    ("range", _RANGE_SEP),
)
_TOKEN_RE: Final = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _TOKEN_PATTERNS))

# Plates, phones and other long codes carry digits that must never be read as a day or an hour.
_LONG_CODE_RE: Final = re.compile(r"\d{5,}|[a-z0-9]{10,}", re.IGNORECASE)
_CLAUSE_BREAK: Final = re.compile(r"[,，。.!！?？;；]")
_CJK: Final = re.compile(r"[\u4e00-\u9fff]")

# ---------------------------------------------------------------------------------------------------------
# Tokens and groups
# ---------------------------------------------------------------------------------------------------------

# Each data token fills slots of a candidate time; a token whose slot is taken starts the next candidate.
_SLOTS: Final[dict[str, tuple[str, ...]]] = {
    "day": ("day",),
    "vague": ("day",),
    "part": ("part",),
    "clock": ("clock",),
    "moment": ("day", "part", "clock"),
}


@dataclass(slots=True)
class _Token:
    kind: str
    start: int
    end: int
    day: date | None = None
    part: str | None = None
    hour: int = 0
    minute: int = 0
    # A 24-hour literal (a leading zero as in 09:30) is taken as written, without the business-hours guess.
    literal: bool = False
    ampm: str | None = None
    moment: datetime | None = None
    # A dotted or dashed number right after a day part is a clock time (下午3.30), not a month-day;
    # right after a day (明天8.30, 明天10-11) only when it could not sensibly be a date.
    alt_clock: tuple[int, int] | None = None
    time_like: bool = False


@dataclass(slots=True)
class _Group:
    """One candidate time: the day, day part and clock tokens that belong together, with its markers."""

    end: int
    slots: set[str] = field(default_factory=set)
    day: date | None = None
    vague: bool = False
    part: str | None = None
    clock: _Token | None = None
    moment: datetime | None = None
    negated: bool = False
    fallback: bool = False
    correction: bool = False
    past: bool = False
    after_or: bool = False

    def add(self, token: _Token) -> None:
        self.slots.update(_SLOTS[token.kind])
        self.end = token.end
        if token.kind == "day":
            self.day = token.day
        elif token.kind == "vague":
            self.vague = True
        elif token.kind == "part":
            self.part = token.part
        elif token.kind == "clock":
            self.clock = token
        elif token.kind == "moment":
            self.moment = token.moment

    def fits(self, token: _Token) -> bool:
        return not self.slots.intersection(_SLOTS[token.kind])

    @property
    def specific(self) -> bool:
        return self.day is not None and (self.part is not None or self.clock is not None)


class _Invalid(Exception):
    """A date or time that cannot exist (13月, 25点, 上午15点): the whole message is unusable."""


# ---------------------------------------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------------------------------------


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _Invalid from None


def _month_last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def _add_months(day: date, months: int) -> date:
    year, month = _shift_month(day.year, day.month, months)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _week_monday(today: date, weeks: int) -> date:
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)


def _weekend(today: date, weeks: int) -> date:
    """First day of that weekend not yet over: this weekend on a Sunday is that Sunday."""
    saturday = _week_monday(today, weeks) + timedelta(days=5)
    return today if weeks == 0 and today > saturday else saturday


def _upcoming(today: date, month: int, day: int) -> date:
    """A month-day without a year: this year, unless that month is already over."""
    year = today.year + 1 if month < today.month else today.year
    return _make_date(year, month, day)


def _upcoming_annual(today: date, month: int, day: int) -> date:
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _day_of_month(today: date, day: int) -> date:
    """3号: this month unless past, else the next month that has that day."""
    if not 1 <= day <= 31:
        raise _Invalid
    year, month = today.year, today.month
    if day < today.day:
        year, month = _shift_month(year, month, 1)
    for _ in range(3):
        if day <= calendar.monthrange(year, month)[1]:
            return date(year, month, day)
        year, month = _shift_month(year, month, 1)
    raise _Invalid


def _prefix_offset(prefix: str | None) -> int | None:
    """Calendar-week offset named by a prefix; None for a bare weekday (the next one after today)."""
    if not prefix:
        return None
    core = prefix.replace("个", "").replace("1", "")
    return {"下下": 2, "下": 1, "这": 0, "本": 0, "今": 0, "上上": -2, "上": -1}[core]


def _year_offset(word: str | None) -> int:
    return {"今年": 0, "今": 0, "明年": 1, "明": 1, "后年": 2, "去年": -1, "去": -1}.get(word or "", 0)


# ---------------------------------------------------------------------------------------------------------
# Tokenising
# ---------------------------------------------------------------------------------------------------------


def _prepare(text: str) -> str:
    cleaned = normalize(text)
    cleaned = PLATE_RE.sub(" ", cleaned)
    cleaned = MOBILE_RE.sub(" ", cleaned)
    cleaned = _LONG_CODE_RE.sub(" ", cleaned.lower())
    return _NUMERAL_RE.sub(_numeral_to_digits, cleaned)


def _to_minutes(amount: str, unit: str) -> int:
    value = 0.5 if amount == "半" else float(amount)
    if unit.startswith("个半"):
        value += 0.5
    if "刻" in unit:
        return round(value * 15)
    if "分" in unit:
        return round(value)
    return round(value * 60)


def _token(match: re.Match[str], now: datetime) -> _Token | None:
    kind = match.lastgroup or ""
    today = now.date()
    start, end = match.span()
    if kind in {"ignore", "range", "fallback", "correct", "neg", "prefer", "notbefore", "or", "past"}:
        return None if kind == "ignore" else _Token(kind, start, end)
    if kind in {"vague", "vague_span"}:
        month = match["vm_m"]
        if month is not None and not 1 <= int(month) <= 12:
            raise _Invalid
        return _Token("vague", start, end)
    if kind == "same_time":
        return _Token("clock", start, end, hour=now.hour, minute=now.minute, literal=True)
    if kind == "reltime":
        amount, unit = match["rt_n"] or match["rt_n2"], match["rt_unit"] or match["rt_unit2"]
        moment = now.replace(second=0, microsecond=0) + timedelta(minutes=_to_minutes(amount, unit))
        return _Token("moment", start, end, moment=moment)
    if kind == "relday":
        if match["rd_unit"] == "日" and match["rd_dir"].endswith("前"):
            # 3日前 in a booking is "before the 3rd", as 3号前 would be.
            return _Token("day", start, end, day=_day_of_month(today, int(match["rd_n"])))
        return _Token("day", start, end, day=_relative_day(match, today))
    if kind == "span_end":
        return _Token("day", start, end, day=_span_end(match, today))
    if kind == "year_end":
        prefix = match["ye_pre"]
        year = int(prefix) if prefix and prefix.isdigit() else today.year + _year_offset(prefix)
        return _Token("day", start, end, day=date(year, 12, 31))
    if kind == "month_end":
        if match["me_m"] is not None:
            month = int(match["me_m"])
            if not 1 <= month <= 12:
                raise _Invalid
            first = _upcoming(today, month, 1)
            return _Token("day", start, end, day=_month_last_day(first.year, first.month))
        year, month = _shift_month(today.year, today.month, _prefix_offset(match["me_pre"]) or 0)
        return _Token("day", start, end, day=_month_last_day(year, month))
    if kind == "weekday":
        return _Token("day", start, end, day=_weekday(match["wd_pre"], match["wd_day"], today))
    if kind == "monthday":
        return _Token("day", start, end, day=_month_day(match, today))
    if kind == "iso":
        day = _make_date(int(match["iso_y"]), int(match["iso_m"]), int(match["iso_d"]))
        return _Token("day", start, end, day=day)
    if kind == "numdate":
        return _numeric_date(match, today)
    if kind == "holiday":
        month, day_no = _HOLIDAYS[match["hd"]]
        return _Token("day", start, end, day=_upcoming_annual(today, month, day_no))
    if kind == "dayword":
        offset, part = _DAY_WORDS[match["dw"]]
        return _Token("day", start, end, day=today + timedelta(days=offset), part=part)
    if kind == "dayword_en":
        offset, part = _EN_DAY_WORDS_CN[match["dwe"]]
        return _Token("day", start, end, day=today + timedelta(days=offset), part=part)
    if kind == "dom":
        return _Token("day", start, end, day=_day_of_month(today, int(match["dom_d"])))
    if kind == "range_clock":
        minute = int(match["rc_m"]) if match["rc_m"] else 0
        hour_text = match["rc_h"]
        return _Token("clock", start, end, hour=int(hour_text), minute=minute, literal=_literal(hour_text))
    if kind == "clock_cn":
        minute = 0
        if match["ck_half"]:
            minute = 30
        elif match["ck_q"]:
            minute = 15 * int(match["ck_q"])
        elif match["ck_m"]:
            minute = int(match["ck_m"])
        return _Token("clock", start, end, hour=int(match["ck_h"]), minute=minute)
    if kind == "clock_colon":
        hour_text = match["cc_h"]
        return _Token(
            "clock",
            start,
            end,
            hour=int(hour_text),
            minute=int(match["cc_m"]),
            literal=_literal(hour_text),
            ampm=_ampm(match["cc_ap"]),
        )
    if kind == "clock_ap":
        return _Token("clock", start, end, hour=int(match["ca_h"]), ampm=_ampm(match["ca_ap"]))
    # The only kind left is a day part, possibly followed by a bare hour (下午3).
    part = _DAY_PARTS[match["dp"]]
    token = _Token("part", start, end, part=part)
    if match["dp_h"] is not None:
        token.alt_clock = (int(match["dp_h"]), 0)
    return token


def _literal(hour_text: str) -> bool:
    return len(hour_text) == 2 and hour_text.startswith("0")


def _ampm(text: str | None) -> str | None:
    return None if text is None else text.replace(".", "")


def _relative_day(match: re.Match[str], today: date) -> date:
    amount = match["rd_n"] or match["rd_n2"]
    unit = match["rd_unit"] or match["rd_unit2"]
    direction = match["rd_dir"] or "后"
    sign = -1 if direction.endswith("前") else 1
    if unit.endswith("月"):
        months = 0 if amount == "半" else int(amount)
        extra = 15 if amount == "半" or unit.startswith("个半") else 0
        return _add_months(today, sign * months) + timedelta(days=sign * extra)
    if amount == "半":
        raise _Invalid
    days = int(amount) * (1 if unit in {"天", "日"} else 7)
    return today + timedelta(days=sign * days)


def _span_end(match: re.Match[str], today: date) -> date:
    offset = _prefix_offset(match["se_pre"]) or 0
    unit = match["se_unit"]
    if unit == "月":
        year, month = _shift_month(today.year, today.month, offset)
        return _month_last_day(year, month)
    return _week_monday(today, offset) + timedelta(days=6)


def _weekday(prefix: str | None, day_text: str, today: date) -> date:
    offset = _prefix_offset(prefix)
    if day_text == "末":
        return _weekend(today, offset or 0)
    weekday = 7 if day_text in {"日", "天"} else int(day_text)
    if not 1 <= weekday <= 7:
        raise _Invalid
    if offset is None:
        ahead = (weekday - today.isoweekday() - 1) % 7 + 1
        return today + timedelta(days=ahead)
    return _week_monday(today, offset) + timedelta(days=weekday - 1)


def _month_day(match: re.Match[str], today: date) -> date:
    if match["md_rel"] is not None:
        year, month = _shift_month(today.year, today.month, _prefix_offset(match["md_rel"]) or 0)
        return _make_date(year, month, int(match["md_rd"]))
    month, day = int(match["md_m"]), int(match["md_d"])
    if match["md_y"] is not None:
        year_text = match["md_y"]
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return _make_date(year, month, day)
    if match["md_yw"] is not None:
        return _make_date(today.year + _year_offset(match["md_yw"]), month, day)
    if not 1 <= month <= 12:
        raise _Invalid
    return _upcoming(today, month, day)


def _numeric_date(match: re.Match[str], today: date) -> _Token | None:
    first, second = int(match["nd_m"]), int(match["nd_d"])
    start, end = match.span()
    # After a day part, 3.30 is half past three and 3-4 the start of a range.
    dotted = match["nd_sep"] == "."
    alt = (first, second if dotted else 0) if second < 60 else None
    dashed_range = match["nd_sep"] == "-" and first < second <= 24
    time_like = (len(match["nd_d"]) == 2 and first < 24) if dotted else dashed_range
    try:
        day = _upcoming(today, first, second) if 1 <= first <= 12 else None
    except _Invalid:
        day = None
    if day is None:
        if dotted and time_like and second < 60:
            # 15.30 cannot be a month-day; written with a dot and two-digit minutes it is a clock time.
            return _Token("clock", start, end, hour=first, minute=second)
        if dotted:
            # Dots are also decimals (2.0T, 1.5万); an impossible "date" with one is just a number.
            return None
        raise _Invalid
    return _Token("day", start, end, day=day, alt_clock=alt, time_like=time_like)


def _tokens(text: str, now: datetime) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN_RE.finditer(text):
        token = _token(match, now)
        if token is None:
            continue
        previous = tokens[-1] if tokens else None
        if (
            token.kind == "day"
            and token.alt_clock is not None
            and previous is not None
            and (previous.kind == "part" or (previous.kind == "day" and token.time_like))
            and not text[previous.end : token.start].strip()
        ):
            hour, minute = token.alt_clock
            token = _Token("clock", token.start, token.end, hour=hour, minute=minute)
        tokens.append(token)
        if token.kind == "day" and token.part is not None:
            tokens.append(_Token("part", token.end, token.end, part=token.part))
        elif token.kind == "part" and token.alt_clock is not None:
            hour, minute = token.alt_clock
            tokens.append(_Token("clock", token.end, token.end, hour=hour, minute=minute))
    return tokens


# ---------------------------------------------------------------------------------------------------------
# Grouping tokens into candidate times, and choosing one
# ---------------------------------------------------------------------------------------------------------


def _groups(tokens: list[_Token], text: str) -> list[_Group]:
    groups: list[_Group] = []
    current: _Group | None = None
    in_range = False
    pending: dict[str, int] = {}
    for token in tokens:
        if token.kind not in _SLOTS:
            if token.kind == "range":
                in_range = current is not None
                continue
            in_range = False
            if token.kind in {"neg", "prefer"}:
                if groups and _same_clause(text, groups[-1].end, token.start):
                    if token.kind == "neg":
                        groups[-1].negated = True
                    else:
                        groups[-1].correction = True
                current = None
            elif token.kind in {"notbefore", "past"}:
                pending[token.kind] = token.end
            else:
                pending[token.kind] = token.end
                current = None
            continue
        if in_range and current is not None and not current.fits(token):
            continue
        in_range = False
        if current is not None and current.fits(token) and not pending:
            current.add(token)
            continue
        current = _Group(token.end)
        current.add(token)
        current.fallback = "fallback" in pending
        current.correction = "correct" in pending
        current.after_or = "or" in pending
        current.negated = "notbefore" in pending and token.start - pending["notbefore"] <= 2
        current.past = "past" in pending and _same_clause(text, pending["past"], token.start)
        pending.clear()
        groups.append(current)
    return groups


def _same_clause(text: str, start: int, end: int) -> bool:
    gap = text[start:end]
    return len(gap.strip()) <= 1 or (_CLAUSE_BREAK.search(gap) is None and len(gap) <= 8)


def _hour_of_day(part: str | None, clock: _Token) -> tuple[int, int]:
    """(days to add, hour) for a clock hour read with its day part; raises _Invalid if it cannot be."""
    hour = clock.hour
    if clock.minute > 59 or hour > 23:
        raise _Invalid
    if clock.ampm is not None:
        if hour > 12 and clock.ampm == "am":
            raise _Invalid
        if hour == 12:
            return 0, 0 if clock.ampm == "am" else 12
        return 0, hour + 12 if clock.ampm == "pm" and hour < 12 else hour
    if clock.literal and part is None:
        return 0, hour
    if part is None:
        # Business hours: 1-5 without a day part are afternoon; 6 and 7 stay morning (early drop-off).
        return 0, hour + 12 if 1 <= hour <= 5 else hour
    if part == "early":
        if hour == 12:
            return 0, 0
        if hour <= 7:
            return 0, hour
    elif part == "morning":
        if hour <= 12:
            return 0, hour
    elif part == "noon":
        if 10 <= hour <= 12 or 13 <= hour <= 15:
            return 0, hour
        if 1 <= hour <= 3:
            return 0, hour + 12
    elif part == "afternoon":
        if 1 <= hour <= 11:
            return 0, hour + 12
        if hour >= 12:
            return 0, hour
    elif part == "dusk":
        if 4 <= hour <= 8:
            return 0, hour + 12
        if 16 <= hour <= 20:
            return 0, hour
    else:
        # Evening and midnight: 12 (and 0) o'clock and the small hours belong to the next calendar day.
        if hour in {0, 12}:
            return 1, 0
        if hour <= 4:
            return 1, hour
        if part == "evening" and 5 <= hour <= 11:
            return 0, hour + 12
        if hour == 11:
            return 0, 23
        if (part == "evening" and hour >= 17) or hour == 23:
            return 0, hour
    raise _Invalid


def _resolve(group: _Group, now: datetime) -> When | None:
    if group.vague:
        return None
    if group.moment is not None:
        return group.moment
    today = now.date()
    if group.clock is not None:
        extra_days, hour = _hour_of_day(group.part, group.clock)
        day = group.day if group.day is not None else today
        moment = datetime.combine(day + timedelta(days=extra_days), time(hour, group.clock.minute), now.tzinfo)
        if group.day is None and moment <= now:
            moment += timedelta(days=1)
        return moment
    if group.day is not None:
        return group.day
    if group.part is not None:
        return today if now.hour < _PART_ENDS[group.part] else today + timedelta(days=1)
    return None


def _inherit(groups: list[_Group]) -> None:
    """Fill a later group's missing day (and day part) from the one it corrects or replaces."""
    for previous, group in itertools.pairwise(groups):
        takes_over = group.correction or (previous.negated and previous.specific)
        if not takes_over or group.moment is not None or group.vague:
            continue
        if group.day is None and previous.day is not None:
            group.day = previous.day
            if group.part is None and group.clock is not None:
                group.part = previous.part


def _choose(groups: list[_Group], now: datetime) -> When | None:
    resolved = [_resolve(group, now) for group in groups]
    usable = [i for i, group in enumerate(groups) if not group.negated and resolved[i] is not None]
    if not usable:
        return None
    corrections = [i for i in usable if groups[i].correction]
    if corrections:
        return resolved[corrections[-1]]
    primary = [i for i in usable if not groups[i].fallback and not groups[i].past] or usable
    chosen = next((i for i in primary if not _is_past(resolved[i], now)), primary[0])
    group = groups[chosen]
    if group.clock is None and group.part is None and group.moment is None:
        later = groups[chosen + 1] if chosen + 1 < len(groups) else None
        if later is not None and later.after_or and later.day is not None and later.clock is not None:
            # 明天或后天下午3点: the time is shared by both days.
            shared = _Group(later.end, day=group.day, part=later.part, clock=later.clock)
            return _resolve(shared, now)
        for i in primary:
            if i > chosen and groups[i].day == group.day and groups[i].clock is not None:
                return resolved[i]
    return resolved[chosen]


def _is_past(value: When | None, now: datetime) -> bool:
    if isinstance(value, datetime):
        return value < now.replace(second=0, microsecond=0)
    return value is not None and value < now.date()


def _parse_chinese(text: str, now: datetime) -> When | None:
    tokens = _tokens(text, now)
    if not any(token.kind in _SLOTS for token in tokens):
        return None
    groups = _groups(tokens, text)
    for group in groups:
        # Resolving every candidate, chosen or not, raises on an impossible value anywhere in the text.
        _resolve(group, now)
    _inherit(groups)
    return _choose(groups, now)


# ---------------------------------------------------------------------------------------------------------
# English, through dateparser
# ---------------------------------------------------------------------------------------------------------

_EN_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_EN_WEEKDAY = r"mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?"
_EN_DAY_WORDS = r"today|tonight|tomorrow|tmrw?|yesterday|noon|midnight|weekend"
_EN_STRONG: Final = re.compile(
    rf"\b(?:{_EN_DAY_WORDS}|{_EN_WEEKDAY})\b"
    rf"|\b(?:{_EN_MONTH})\.?\s*\d|\d(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_EN_MONTH})\b"
    r"|\b(?:in|after)\s+(?:\d+|an?|half an?)\s+(?:min(?:ute)?s?|h(?:ou)?rs?|days?|weeks?|months?)\b"
    r"|\b\d+\s+(?:min(?:ute)?s?|h(?:ou)?rs?|days?|weeks?)\s+(?:later|from now)\b"
)
_EN_TOKEN: Final = re.compile(r"[a-z]+(?:'[a-z]+)?\.?|\d{1,4}(?::\d{2})?(?:st|nd|rd|th|am|pm)?|[,/:-]")
_EN_WORDS: Final = frozenset(
    re.findall(
        r"\S+",
        "today tonight tomorrow tmr tmrw yesterday next this coming in at on the of by before after a "
        "an half morning afternoon evening night noon midnight am pm a.m. p.m. week weeks weekend month "
        "months year day days hour hours hr hrs min mins minute minutes later from now o'clock oclock "
        "monday mon tuesday tue tues wednesday wed thursday thu thur thurs friday fri saturday sat "
        "sunday sun january jan february feb march mar april apr may june jun july jul august aug "
        "september sep sept october oct november nov december dec",
    )
)
_EN_EDGE_FILLERS: Final = frozenset({"at", "on", "the", "of", "by", "before", "a", "an", ",", "-", "/", ":"})
_EN_TIME: Final = re.compile(
    r"\d:\d{2}|\d\s*(?:am|pm|a\.m|p\.m)|\bnoon\b|\bmidnight\b|o'?clock"
    r"|\b(?:\d+|an?|half an?)\s+(?:min(?:ute)?s?|h(?:ou)?rs?)\b"
)
_EN_BARE_AT: Final = re.compile(r"\bat\s+(\d{1,2})\b(?!\s*(?::|am|pm|a\.m|p\.m|o'?clock))")
_EN_WEEKEND: Final = re.compile(r"\b(?:(next)\s+)?weekend\b")
_EN_UNIT = r"(?:min(?:ute)?s?|h(?:ou)?rs?|days?|weeks?|months?)"
_EN_HALF_HOUR: Final = re.compile(r"\bhalf an? hour\b")
_EN_ONE_UNIT: Final = re.compile(rf"\ban?\s+({_EN_UNIT})\b")
_EN_LATER: Final = re.compile(rf"\b(\d+\s*{_EN_UNIT})\s+(?:later|from now)\b")
_EN_AFTER: Final = re.compile(rf"\bafter\s+(?=\d+\s*{_EN_UNIT}\b)")
_EN_MONTH_DAY: Final = re.compile(rf"\b(?:{_EN_MONTH})\b")
_EN_YEAR: Final = re.compile(r"\d{4}")
_EN_DAY_NAMED: Final = re.compile(rf"\d|\b(?:{_EN_WEEKDAY})\b")
_EN_ANCHOR: Final = re.compile(rf"\d|\b(?:{_EN_DAY_WORDS}|{_EN_WEEKDAY})\b")


def _english_span(text: str) -> str | None:
    """The run of date-like English words in `text` that carries the most date information."""
    runs: list[list[str]] = []
    refused: set[int] = set()
    last_end = -1
    previous_word = ""
    for match in _EN_TOKEN.finditer(text):
        word = match.group()
        datey = word in _EN_WORDS or word in _EN_EDGE_FILLERS or word[0].isdigit()
        if word == "," and len(runs) - 1 in refused:
            # The refusal ends at the comma: "not tomorrow, friday" offers friday.
            last_end = -1
        elif datey:
            if runs and last_end >= 0 and not text[last_end : match.start()].strip():
                runs[-1].append(word)
            else:
                runs.append([word])
                if previous_word == "not":
                    # "not tomorrow, friday": the refused run cannot be the answer.
                    refused.add(len(runs) - 1)
            last_end = match.end()
        else:
            last_end = -1
        previous_word = word
    candidates = [run for i, run in enumerate(runs) if i not in refused]
    best = max(candidates, key=lambda run: len(_EN_ANCHOR.findall(" ".join(run))), default=[])
    while best and best[0] in _EN_EDGE_FILLERS:
        best.pop(0)
    while best and (best[-1] in _EN_EDGE_FILLERS or best[-1] == "in"):
        best.pop()
    return " ".join(best) if best else None


def _bare_hour(match: re.Match[str]) -> str:
    hour = int(match[1])
    if 1 <= hour <= 5:
        hour += 12
    return f"at {hour}:00"


_DATEPARSER_BASE: Final[dict[str, Any]] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
}


def _parse_english(text: str, now: datetime) -> When | None:
    # dateparser reads "in 2 hours" but not "after 2 hours", "2 hours later" or "in an hour".
    text = _EN_HALF_HOUR.sub("30 minutes", text)
    text = _EN_ONE_UNIT.sub(r"1 \1", text)
    text = _EN_LATER.sub(r"in \1", text)
    text = _EN_AFTER.sub("in ", text)
    span = _english_span(text)
    if span is None or not _EN_ANCHOR.search(span):
        return None
    weekend = _EN_WEEKEND.search(span)
    if weekend is not None and not _EN_DAY_NAMED.search(span):
        return _weekend(now.date(), 1 if weekend[1] else 0)
    span = _EN_BARE_AT.sub(_bare_hour, span)
    settings = dict(_DATEPARSER_BASE, RELATIVE_BASE=now.replace(tzinfo=None))
    parsed = dateparser.parse(span, languages=["en"], settings=settings)
    if parsed is None:
        return None
    month_day = _EN_MONTH_DAY.search(span)
    if month_day is not None and not _EN_YEAR.search(span):
        # dateparser's "future" preference would move 20 Nov to next year on 28 Nov; the store reads a
        # month-day without a year as this year unless that month is over, as in Chinese.
        try:
            parsed = parsed.replace(year=_upcoming(now.date(), parsed.month, 1).year)
        except ValueError:
            return None
    if _EN_TIME.search(span):
        return parsed.replace(second=0, microsecond=0, tzinfo=now.tzinfo)
    return parsed.date()


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------


def parse_when(text: str, now: datetime) -> datetime | date | None:
    """The appointment time a customer names in `text`, read relative to `now` (aware, store timezone).

    Returns an aware datetime when a day and a clock time are given, a date when only the day is, and None
    when the text names no usable time (nothing at all, only a vague span such as 下周, or an impossible
    value such as 25点). Past readings are returned as they are; refusing them is the dialog's job.

    Readings the rules leave open: an hour without a day part is 13-17 for 1-5 and as said for 6-12 (a
    7点 drop-off is morning); 晚上12点 is midnight at the start of the next day; a day part without a day is
    today until that part is over; 月初/月中/旬 and lunar holidays are vague (None); 现在/马上 name no
    time (None); with several candidates the first usable one wins unless a later one is a correction
    (改到, 不对, 算了 …) or an earlier one is refused (不行, 没空, 不是 …) or only a fallback (不行的话 …).
    """
    prepared = _prepare(text)
    if _CJK.search(prepared) is None and _EN_STRONG.search(prepared):
        return _parse_english(prepared, now)
    try:
        return _parse_chinese(prepared, now)
    except _Invalid:
        return None


def warm_up() -> None:
    """Load dateparser's lazily built language data now, so the first customer message is not slow."""
    now = datetime(2026, 1, 5, 10, 0)
    for sample in ("tomorrow 3pm", "Dec 3 10am", "next monday 9am", "3pm", "in 2 hours", "friday"):
        dateparser.parse(sample, languages=["en"], settings=dict(_DATEPARSER_BASE, RELATIVE_BASE=now))
