"""The command table: what words call which command for whom, refusals, 帮助 per role, and suggestions."""

from __future__ import annotations

import pytest

from bot.handlers import router
from bot.handlers.commands import Command, CommandTable, Match
from bot.handlers.turn import HandlerResult, Turn
from bot.services.roles import CUSTOMERS, EVERYONE, MANAGERS, STAFF, Role


async def _noop(turn: Turn, arg: str) -> HandlerResult:
    return HandlerResult("noop")


TABLE = CommandTable(
    (
        Command("book", ("预约",), _noop, CUSTOMERS, "help.book", arg=True),
        Command("day", ("预约",), _noop, STAFF, arg=True),
        Command("find", ("查客户", "找客户"), _noop, STAFF, arg=True),
        Command("profile", ("客户",), _noop, STAFF, arg=True),
        Command("report", ("报表",), _noop, MANAGERS, arg=True),
        Command("mine", ("我的预约",), _noop, CUSTOMERS),
        Command("help", ("帮助",), _noop, EVERYONE, "help.help"),
    )
)


def found(text: str, role: Role) -> tuple[str, str] | str | None:
    result = TABLE.find(text, role)
    if isinstance(result, Match):
        return result.command.name, result.arg
    return None if result is None else f"refused:{result.name}"


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("查客户 138", Role.CLERK, ("find", "138")),
        ("查 客户  138", Role.CLERK, ("find", "138")),  # spaces inside the command word
        ("查客户138", Role.CLERK, ("find", "138")),  # no space before the argument
        ("查客户　尾号５６７８", Role.CLERK, ("find", "尾号5678")),  # full-width space and digits
        ("找客户 王", Role.MANAGER, ("find", "王")),  # a synonym
        ("客户 C12", Role.CLERK, ("profile", "C12")),  # "客户" loses to the longer "查客户" only when it applies
        ("预约 明天", Role.CLERK, ("day", "明天")),  # one word, two commands, by role
        ("预约 明天", Role.CUSTOMER, ("book", "明天")),
        ("报表 本周", Role.MANAGER, ("report", "本周")),
        ("报表", Role.CLERK, "refused:report"),
        ("查客户 138", Role.CUSTOMER, "refused:find"),
        ("我的预约", Role.CUSTOMER, ("mine", "")),
        ("我的预约 1", Role.CUSTOMER, None),  # a word that takes no argument must be the whole message
        ("帮助。", Role.CLERK, ("help", "")),
        ("随便说说", Role.CLERK, None),
    ],
)
def test_words_find_their_command_for_the_speakers_role(text: str, role: Role, expected: object) -> None:
    assert found(text, role) == expected


def test_two_commands_may_not_answer_one_word_for_the_same_role() -> None:
    with pytest.raises(ValueError, match="both answer"):
        CommandTable((Command("a", ("报表",), _noop, STAFF), Command("b", ("报表",), _noop, MANAGERS)))


def test_refusals_name_who_may_use_the_command() -> None:
    assert TABLE.by_name["report"].refusal == "roles.managers_only"
    assert TABLE.by_name["find"].refusal == "roles.staff_only"
    assert TABLE.by_name["mine"].refusal == "roles.customers_only"


def test_help_lists_only_what_the_role_may_use() -> None:
    customer_help = TABLE.help(Role.CUSTOMER)
    assert "预约到店服务" in customer_help and "帮助" in customer_help
    assert "预约到店服务" not in TABLE.help(Role.CLERK)


def test_suggestions_for_a_mistyped_staff_command() -> None:
    from bot.handlers import router

    names = [c.name for c in router.TABLE.suggest("查客", Role.CLERK)]
    assert names and names[0] == "find_customer"
    assert router.TABLE.suggest("完全无关的话", Role.CLERK) == []


def test_a_car_owners_help_starts_with_booking_and_ends_with_help() -> None:
    lines = [line.split(" ")[1] for line in router.TABLE.help(Role.CUSTOMER).splitlines()[1:]]
    assert lines == ["预约", "我的预约", "改约", "退订提醒", "开启提醒", "联系门店", "帮助"], lines
