"""Table tests for yes/no replies and list picks."""

import pytest

from bot.nlu.words import is_no, is_yes, parse_pick


@pytest.mark.parametrize(
    "text",
    [
        "是",
        "是的",
        "好",
        "好的",
        "好的！",
        "好的。",
        "好的谢谢",
        " 确认 ",
        "确定",
        "对",
        "对的",
        "对对对",
        "可以",
        "可以啊",
        "行",
        "行吧",
        "嗯",
        "嗯嗯",
        "嗯嗯嗯",
        "ok",
        "OK",
        "Ok!",
        "ＯＫ",
        "yes",
        "Y",
        "没问题",
        "沒問題",
        "👌",
        "確認",
    ],
)
def test_is_yes(text: str) -> None:
    assert is_yes(text)
    assert not is_no(text)


@pytest.mark.parametrize(
    "text",
    [
        "不",
        "不是",
        "否",
        "算了",
        "不用",
        "不用了",
        "不用了，谢谢",
        "不要",
        "不行",
        "不行！",
        "no",
        "NO",
        "n",
        "不需要",
        "不對",
    ],
)
def test_is_no(text: str) -> None:
    assert is_no(text)
    assert not is_yes(text)


@pytest.mark.parametrize(
    "text",
    ["取消", "", "明天下午3点", "好不好", "可以吗？", "不知道", "2", "是不是"],
)
def test_neither_yes_nor_no(text: str) -> None:
    assert not is_yes(text)
    assert not is_no(text)


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        ("2", 3, 2),
        ("２", 3, 2),
        ("第二个", 3, 2),
        ("选2", 3, 2),
        ("2号", 3, 2),
        ("选第2个", 3, 2),
        ("二", 3, 2),
        ("两", 3, 2),
        ("1", 3, 1),
        ("3。", 3, 3),
        ("我选3", 3, 3),
        ("第3项", 3, 3),
        ("10", 12, 10),
        ("十", 12, 10),
        ("第十一个", 12, 11),
        ("4", 3, None),
        ("0", 3, None),
        ("第零个", 3, None),
        ("选", 3, None),
        ("保养", 3, None),
        ("2点", 3, None),
        ("", 3, None),
        ("1", 0, None),
    ],
)
def test_parse_pick(text: str, count: int, expected: int | None) -> None:
    assert parse_pick(text, count) == expected
