"""改约: move one of the customer's appointments to a new time, under the same rules as booking."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import replies
from bot.dialogs.base import Dialog, DialogTurn, Step
from bot.dialogs.booking import read_when, refuse_time, say_overlap, take_time, when_text
from bot.services import booking, customers


class RescheduleDialog(Dialog):
    """One step (the new time) and a confirmation; the appointment is chosen before the dialog starts."""

    name = "reschedule"
    kept_on_restart = frozenset({"reference", "old", "service"})
    steps = (Step("when", ask="reschedule.ask_when", retry="booking.retry_when", parse=read_when),)

    def ask_params(self, turn: DialogTurn, step: Step) -> dict[str, Any]:
        return {"reference": turn.data["reference"], "old": turn.data["old"]}

    async def accept(self, turn: DialogTurn, slot: str, value: Any) -> bool:
        # The same time rules as booking, for this appointment's service.
        return await take_time(turn, turn.data["service"], value)

    def summary(self, turn: DialogTurn) -> str:
        d = turn.data
        new = when_text(turn, datetime.fromisoformat(d["when"]))
        return replies.render("reschedule.confirm", reference=d["reference"], old=d["old"], when=new)

    async def finish(self, turn: DialogTurn) -> None:
        customer = await customers.by_openid(turn.openid)
        appointment = None
        if customer is not None:
            appointment = await booking.for_customer_by_reference(customer, turn.data["reference"])
        if appointment is None:
            self.end(turn)
            turn.say("appts.not_found")
            return
        try:
            moved = await booking.reschedule(appointment, datetime.fromisoformat(turn.data["when"]), turn.now)
        except booking.TooLate:
            self.end(turn)
            turn.say("appts.too_late", phone=turn.settings.store_phone)
            return
        except booking.SlotUnavailable as exc:
            turn.data.pop("when", None)
            refuse_time(turn, exc.check)
            return
        except booking.Overlap as exc:
            self.end(turn)
            say_overlap(turn, exc.existing)
            return
        except booking.NotChangeable:
            self.end(turn)
            turn.say("appts.not_changeable", reference=appointment.reference, phone=turn.settings.store_phone)
            return
        self.end(turn)
        turn.say(
            "reschedule.done",
            reference=moved.reference,
            when=when_text(turn, moved.start_at),
            address=turn.settings.store_address,
            phone=turn.settings.store_phone,
        )
