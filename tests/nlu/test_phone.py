"""Table tests for mobile-number parsing and masking."""

import pytest

from bot.nlu.phone import mask_mobile, parse_mobile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("86 138 0013 8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("电话13912345678谢谢", "13912345678"),
        ("我的手机是 199-1234-5678 ，明天联系", "19912345678"),
        ("１３８００１３８０００", "13800138000"),
        ("15012345678和13800138000", "15012345678"),
        ("12800138000", None),
        ("10012345678", None),
        ("213800138000", None),
        ("138001380001", None),
        ("订单号 2024138001380001", None),
        ("1380013800", None),
        ("0755-12345678", None),
        ("明天下午3点", None),
        ("", None),
    ],
)
def test_parse_mobile(text: str, expected: str | None) -> None:
    assert parse_mobile(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("no phone", "no phone"),
    ],
)
def test_mask_mobile(text: str, expected: str) -> None:
    assert mask_mobile(text) == expected
