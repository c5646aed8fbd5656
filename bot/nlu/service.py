"""Service types a customer can book, and how to recognise them in free text."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.nlu.text import normalize
from bot.nlu.words import parse_pick


@dataclass(frozen=True, slots=True)
class ServiceType:
    """A bookable service: stable code, display name, and the words customers use for it."""

    code: str
    name: str
    aliases: tuple[str, ...]
    # A refinement (小保养) names its general service (保养) so a mention of both reads as the refinement.
    parent: str | None = None


MAINTENANCE: Final = ServiceType(
    "maintenance", "保养", ("保养", "做保养", "保养车", "维护", "常规保养", "定期保养", "首保", "二保", "maintenance")
)
MINOR_SERVICE: Final = ServiceType(
    "minor_service",
    "小保养",
    ("小保养", "小保", "换机油", "机油", "换机滤", "机滤", "换油", "oil change"),
    parent="maintenance",
)
MAJOR_SERVICE: Final = ServiceType("major_service", "大保养", ("大保养", "大保"), parent="maintenance")
REPAIR: Final = ServiceType(
    "repair",
    "维修",
    (
        "维修",
        "修车",
        "修理",
        "检修",
        "故障",
        "坏了",
        "异响",
        "抛锚",
        "打不着火",
        "漏油",
        "不制冷",
        "抖动",
        "亏电",
        "没电了",
        "repair",
    ),
)
BODYWORK: Final = ServiceType(
    "bodywork",
    "钣喷",
    ("钣喷", "钣金", "板金", "喷漆", "补漆", "刮蹭", "剐蹭", "划痕", "擦碰", "掉漆", "凹陷"),
)
DETAILING: Final = ServiceType(
    "detailing",
    "美容",
    ("美容", "洗车", "打蜡", "镀晶", "镀膜", "内饰清洁", "洗车美容", "精洗", "抛光", "贴膜", "car wash"),
)
INSPECTION: Final = ServiceType("inspection", "检测", ("检测", "检查", "体检", "inspection"))
ANNUAL_INSPECTION: Final = ServiceType(
    "annual_inspection", "年检", ("年检", "年审", "验车", "审车", "车检"), parent="inspection"
)
TYRES: Final = ServiceType(
    "tyres", "轮胎", ("轮胎", "换胎", "补胎", "换轮胎", "四轮定位", "动平衡", "扎胎", "爆胎", "tyre", "tire")
)
TEST_DRIVE: Final = ServiceType("test_drive", "试驾", ("试驾", "看车", "试车", "试乘", "test drive"))

SERVICE_TYPES: Final[tuple[ServiceType, ...]] = (
    MAINTENANCE,
    MINOR_SERVICE,
    MAJOR_SERVICE,
    REPAIR,
    BODYWORK,
    DETAILING,
    INSPECTION,
    ANNUAL_INSPECTION,
    TYRES,
    TEST_DRIVE,
)
_BY_CODE: Final = {service.code: service for service in SERVICE_TYPES}
_BY_ALIAS: Final = {alias: service for service in SERVICE_TYPES for alias in service.aliases}
# Longest alias first, so at any position 大保养 wins over 保养 and 洗车美容 over 洗车.
_ALIAS_RE: Final = re.compile("|".join(re.escape(a) for a in sorted(_BY_ALIAS, key=len, reverse=True)))


def parse_service(text: str) -> ServiceType | None:
    """The most specific service mentioned in `text` (大保养 over 保养), the earliest one on a tie."""
    found: list[ServiceType] = []
    for match in _ALIAS_RE.finditer(normalize(text).lower()):
        service = _BY_ALIAS[match.group()]
        if service not in found:
            found.append(service)
    refined = {service.parent for service in found if service.parent}
    for service in found:
        if service.code not in refined:
            return service
    return None


def pick_service(text: str, menu: Sequence[ServiceType]) -> ServiceType | None:
    """A service from `menu`, chosen by its number ("2", "第二个") or by naming it.

    A named refinement missing from the menu falls back to its general service when that is offered.
    """
    index = parse_pick(text, len(menu))
    if index is not None:
        return menu[index - 1]
    service = parse_service(text)
    if service is None:
        return None
    if service in menu:
        return service
    parent = _BY_CODE.get(service.parent) if service.parent else None
    return parent if parent in menu else None
