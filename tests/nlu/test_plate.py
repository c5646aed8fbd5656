"""Table tests for licence-plate parsing."""

import pytest

from bot.nlu.plate import is_plate, parse_plate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("粤A12345", "粤A12345"),
        ("粤a12345", "粤A12345"),
        ("粤A·12345", "粤A12345"),
        ("粤 a 12345", "粤A12345"),
        ("粤A 12345", "粤A12345"),
        ("粤A-12345", "粤A12345"),
        ("京b·ab123", "京BAB123"),
        ("帮我约下周三上午十点 粤A12345 保养", "粤A12345"),
        ("车牌是沪C3X5Z7，谢谢", "沪C3X5Z7"),
        ("粤AD12345", "粤AD12345"),
        ("粤AF1A234", None),
        ("粤AFA1234", "粤AFA1234"),
        ("粤A12345D", "粤A12345D"),
        ("苏E·D12345", "苏ED12345"),
        ("沪AD 12345", "沪AD12345"),
        ("沪A·D·12345", "沪AD12345"),
        ("沪A D A1234", "沪ADA1234"),
        ("粤AD 1234", None),
        ("粤A1234学", "粤A1234学"),
        ("粤B1234警", "粤B1234警"),
        ("粤Z1234港", "粤Z1234港"),
        ("粤Z1234澳", "粤Z1234澳"),
        ("鲁A1234挂", "鲁A1234挂"),
        ("使A1234领", "使A1234领"),
        ("粤AI2345", None),
        ("粤A1O345", None),
        ("粤A123", None),
        ("京A123456", None),
        ("XA12345", None),
        ("我的车是白色的", None),
        ("１２３４５", None),
        ("粤Ａ１２３４５", "粤A12345"),
        ("新A12345和粤B54321", "新A12345"),
        ("", None),
    ],
)
def test_parse_plate(text: str, expected: str | None) -> None:
    assert parse_plate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("粤A12345", True),
        (" 粤a·12345 ", True),
        ("粤AD12345", True),
        ("粤AD 12345", True),
        ("粤A12345D", True),
        ("粤A12345 保养", False),
        ("粤AI2345", False),
        ("12345", False),
        ("", False),
    ],
)
def test_is_plate(text: str, expected: bool) -> None:
    assert is_plate(text) is expected
