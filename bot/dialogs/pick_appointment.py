"""Which appointment? After a bare 改约 or 取消预约 the customer's appointments are listed, and the answer ("2",
"第二个" or a reference) runs the command for that one, as "改约 A1024" would."""

from __future__ import annotations

from typing import Any, ClassVar

from bot.dialogs.base import Dialog, DialogTurn, Step
from bot.nlu import normalize, parse_pick
from bot.services.booking import REFERENCE_RE

# What each command is called in the question ("请问要改约哪个预约？").
ACTIONS: dict[str, str] = {"改约": "改约", "取消预约": "取消"}


def read_which(text: str, turn: DialogTurn) -> str | None:
    """The reference of the listed appointment the answer names, by number or by reference."""
    refs: list[str] = turn.data["refs"]
    # The command typed again with the pick ("取消预约 2" after 取消预约) is the same answer.
    answer = "".join(normalize(text).split()).removeprefix(turn.data["command"]).upper()
    if REFERENCE_RE.match(answer):
        return answer if answer in refs else None
    pick = parse_pick(answer or text, len(refs))
    return refs[pick - 1] if pick is not None else None


class PickAppointmentDialog(Dialog):
    """One step: the appointment, from the list shown. Its answer hands the command on (`DialogTurn.then`)."""

    name = "pick_appointment"
    steps = (Step("which", ask="pick_appointment.ask", retry="pick_appointment.retry", parse=read_which),)
    # Its answer cancels or starts moving an appointment: the router wraps the turn in a transaction.
    writes_at: ClassVar[frozenset[str]] = frozenset({"which"})

    def ask_params(self, turn: DialogTurn, step: Step) -> dict[str, Any]:
        d = turn.data
        return {"action": ACTIONS[d["command"]], "listing": d["listing"], "count": len(d["refs"])}

    async def advance(self, turn: DialogTurn) -> None:
        which = turn.data.get("which")
        if which is None:
            await super().advance(turn)
            return
        command = turn.data["command"]
        self.end(turn)
        turn.then = f"{command} {which}"

    def summary(self, turn: DialogTurn) -> str:  # never shown: the answer ends the dialog
        return ""

    async def finish(self, turn: DialogTurn) -> None:  # never reached, for the same reason
        self.end(turn)
