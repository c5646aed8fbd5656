"""Multi-step conversations, each a small declared state machine over service calls."""

from __future__ import annotations

from typing import TypeVar

from bot.dialogs.base import Dialog, DialogTurn
from bot.dialogs.booking import BookingDialog
from bot.dialogs.pick_appointment import PickAppointmentDialog
from bot.dialogs.reschedule import RescheduleDialog

# Every dialog by name: the session row stores the name of the one a user is in.
DIALOGS: dict[str, Dialog] = {d.name: d for d in (BookingDialog(), RescheduleDialog(), PickAppointmentDialog())}

D = TypeVar("D", bound=Dialog)


def register(dialog: D) -> D:
    """Add a dialog defined outside this package's core (the handler module that starts it calls this)."""
    if DIALOGS.get(dialog.name, dialog) is not dialog:
        raise ValueError(f"two dialogs are named {dialog.name!r}")
    DIALOGS[dialog.name] = dialog
    return dialog


__all__ = ["DIALOGS", "BookingDialog", "Dialog", "DialogTurn", "RescheduleDialog", "register"]
