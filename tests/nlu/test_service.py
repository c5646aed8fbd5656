"""Table tests for service-type recognition."""

import pytest

from bot.nlu.service import (
    ANNUAL_INSPECTION,
    BODYWORK,
    DETAILING,
    MAINTENANCE,
    MAJOR_SERVICE,
    MINOR_SERVICE,
    REPAIR,
    SERVICE_TYPES,
    TEST_DRIVE,
    ServiceType,
    parse_service,
    pick_service,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("保养", "maintenance"),
        ("做保养", "maintenance"),
        ("想给车做个保养", "maintenance"),
        ("维护一下", "maintenance"),
        ("小保养", "minor_service"),
        ("换机油", "minor_service"),
        ("机油该换了", "minor_service"),
        ("小保", "minor_service"),
        ("保养一下，小保就行", "minor_service"),
        ("大保养", "major_service"),
        ("做个大保", "major_service"),
        ("修车", "repair"),
        ("车子有异响", "repair"),
        ("发动机故障灯亮了", "repair"),
        ("空调坏了", "repair"),
        ("空调不制冷", "repair"),
        ("起步的时候方向盘抖动", "repair"),
        ("电瓶亏电打不着", "repair"),
        ("车没电了", "repair"),
        ("做二保", "maintenance"),
        ("钣金喷漆", "bodywork"),
        ("后门被刮蹭了", "bodywork"),
        ("有道划痕想补漆", "bodywork"),
        ("剐蹭", "bodywork"),
        ("洗车", "detailing"),
        ("洗车美容", "detailing"),
        ("打蜡镀晶", "detailing"),
        ("内饰清洁", "detailing"),
        ("检查一下刹车", "inspection"),
        ("全车体检", "inspection"),
        ("體檢", "inspection"),
        ("年检", "annual_inspection"),
        ("年审快到了", "annual_inspection"),
        ("年检查一下", "annual_inspection"),
        ("换胎", "tyres"),
        ("补胎", "tyres"),
        ("做个四轮定位", "tyres"),
        ("试驾", "test_drive"),
        ("想来看车", "test_drive"),
        ("保养顺便洗车", "maintenance"),
        ("洗车顺便保养", "detailing"),
        ("保養", "maintenance"),
        ("你好", None),
        ("明天下午3点", None),
        ("", None),
    ],
)
def test_parse_service(text: str, expected: str | None) -> None:
    service = parse_service(text)
    assert (service.code if service else None) == expected


def test_codes_are_unique_and_names_are_aliases() -> None:
    codes = [service.code for service in SERVICE_TYPES]
    assert len(codes) == len(set(codes))
    for service in SERVICE_TYPES:
        assert service.name in service.aliases


MENU: tuple[ServiceType, ...] = (MAINTENANCE, REPAIR, BODYWORK, DETAILING)


@pytest.mark.parametrize(
    ("text", "menu", "expected"),
    [
        ("1", MENU, MAINTENANCE),
        ("２", MENU, REPAIR),
        ("第三个", MENU, BODYWORK),
        ("选4", MENU, DETAILING),
        ("5", MENU, None),
        ("洗车", MENU, DETAILING),
        ("小保养", MENU, MAINTENANCE),
        ("大保养", (MAJOR_SERVICE, MINOR_SERVICE), MAJOR_SERVICE),
        ("年检", MENU, None),
        ("年检", (ANNUAL_INSPECTION,), ANNUAL_INSPECTION),
        ("试驾", MENU, None),
        ("试驾", (TEST_DRIVE,), TEST_DRIVE),
        ("随便", MENU, None),
    ],
)
def test_pick_service(text: str, menu: tuple[ServiceType, ...], expected: ServiceType | None) -> None:
    assert pick_service(text, menu) == expected
