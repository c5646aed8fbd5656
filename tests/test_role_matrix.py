"""The role matrix: every command in the table, sent by a customer, a clerk, a manager and deactivated staff."""

from __future__ import annotations

import pytest

from bot import replies
from bot.handlers import router
from bot.handlers.commands import Match
from bot.models import Staff
from bot.services import roles
from bot.services.roles import Role
from tests.personas import People

REFUSALS = {replies.render(key) for key in ("roles.managers_only", "roles.staff_only", "roles.customers_only")}
PERSONAS = ("customer", "clerk", "manager", "deactivated")
# Deactivated staff are customers again.
ROLE_OF = {"customer": Role.CUSTOMER, "clerk": Role.CLERK, "manager": Role.MANAGER, "deactivated": Role.CUSTOMER}


def _cases() -> list[tuple[str, str]]:
    return [(c.name, persona) for c in router.TABLE.commands for persona in PERSONAS]


@pytest.mark.parametrize(("command_name", "persona"), _cases())
async def test_each_command_answers_its_roles_and_refuses_everyone_else(
    people: People, command_name: str, persona: str
) -> None:
    command = router.TABLE.by_name[command_name]
    if persona == "customer":
        user = people.wechat.user("o_matrix_customer")
    elif persona == "deactivated":
        user = await people.clerk("离职员工")
        await Staff.filter(id=user.staff.id).update(active=False)
        roles.invalidate()
    else:
        user = await (people.manager("王店长") if persona == "manager" else people.clerk("李顾问"))
    word = command.words[0]
    reply = await user.says(word)
    # One word may call different commands by role (预约: booking for customers, the day list for staff).
    answered_by_another = isinstance(router.TABLE.find(word, ROLE_OF[persona]), Match)
    expect_refusal = ROLE_OF[persona] not in command.roles and not answered_by_another
    assert (reply in REFUSALS) == expect_refusal, (word, persona, reply)
    if expect_refusal:
        assert reply == replies.render(command.refusal)
