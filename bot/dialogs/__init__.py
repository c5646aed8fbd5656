"""Multi-step conversations, each a small declared state machine over service calls."""

from bot.dialogs.base import Dialog, DialogTurn
from bot.dialogs.booking import BookingDialog
from bot.dialogs.reschedule import RescheduleDialog

DIALOGS: dict[str, Dialog] = {d.name: d for d in (BookingDialog(), RescheduleDialog())}

__all__ = ["DIALOGS", "BookingDialog", "Dialog", "DialogTurn", "RescheduleDialog"]
