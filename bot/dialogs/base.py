"""The dialog engine: a dialog is a few declared steps; the base class owns what every dialog shares.

Shared behaviour, so no dialog writes it again:
- the global words 取消 / 返回 / 重新开始 / 帮助, checked before any step (帮助 answers, then repeats the question);
- slots filled from every message ("明天下午3点 粤A12345 保养" fills three at once);
- a retry budget: a miss gets a retry prompt showing the expected form; after 3 misses, 取消 or a person;
- a confirm step that shows everything and lets the user change one slot ("改时间", or just a new time);
  the same words work at any step ("改车牌" while asked for the time asks the plate again);
- lazy expiry: `expires_at` is checked on the next message, no timers (the router tells the user).
Dialogs never send anything: they add reply texts to the turn, and the router saves the session together
with the business writes in one transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from bot import replies
from bot.nlu import is_no, is_yes, normalize
from bot.services.roles import CUSTOMER, Speaker
from bot.services.sessions import Session
from bot.settings import Settings

MAX_MISSES = 3
CONFIRM = "confirm"

GLOBAL_WORDS: dict[str, str] = {
    "取消": "cancel",
    "算了": "cancel",
    "不约了": "cancel",
    "退出": "cancel",
    "返回": "back",
    "上一步": "back",
    "重新开始": "restart",
    "重来": "restart",
    "帮助": "help",
    "help": "help",
    "?": "help",
}


@dataclass
class DialogTurn:
    """One message inside a dialog: the text, the clock, and the replies collected so far."""

    openid: str
    text: str
    now: datetime
    settings: Settings
    session: Session
    out: list[str] = field(default_factory=list)
    speaker: Speaker = CUSTOMER  # staff run dialogs too (新增客户, 派任务, 代客预约)
    missed: bool = False  # the message answered nothing the dialog asked (`Dialog.miss`)
    then: str | None = None  # a command the dialog hands the turn on to ("取消预约 A1024"), run by the router

    @property
    def data(self) -> dict[str, Any]:
        return self.session.data

    def say(self, key: str, /, **params: Any) -> None:
        self.out.append(replies.render(key, **params))

    def store(self) -> dict[str, str]:
        s = self.settings
        return {"store": s.store_name, "address": s.store_address, "phone": s.store_phone, "hours": s.store_hours}


def always(_: DialogTurn) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Step:
    """One slot to fill: how to ask, how to re-ask showing the form, how to read it, and when it applies."""

    slot: str
    ask: str
    retry: str
    parse: Callable[[str, DialogTurn], Any]
    needed: Callable[[DialogTurn], bool] = always


class Dialog(ABC):
    """Base class: subclasses declare `name`, `steps`, `edits` and implement `summary` and `finish`."""

    name: ClassVar[str]
    steps: ClassVar[tuple[Step, ...]]
    # What users type to change one slot at the confirm step ("改时间" -> "when").
    edits: ClassVar[dict[str, str]] = {}
    ttl: ClassVar[timedelta] = timedelta(minutes=30)
    # Data that 重新开始 keeps (what the dialog was started with, not what the user typed).
    kept_on_restart: ClassVar[frozenset[str]] = frozenset()
    # Commands that, typed where an answer was expected, do not leave the dialog (the router leaves it for
    # any other command): the one that started it, where starting over would only lose the answers so far.
    stays_for: ClassVar[frozenset[str]] = frozenset()
    # Steps whose answer writes business data: the router runs such a turn in one transaction with the
    # session's save, so a lost compare-and-set rolls the writes back too.
    writes_at: ClassVar[frozenset[str]] = frozenset({CONFIRM})

    # --- hooks for subclasses ------------------------------------------------------------------------
    async def prepare(self, turn: DialogTurn) -> None:  # noqa: B027 - an optional hook, empty by default
        """Called once when the dialog starts (load what is already known, e.g. a returning customer)."""

    async def accept(self, turn: DialogTurn, slot: str, value: Any) -> bool:
        """Store a parsed value (JSON-safe) after any checks; False when it cannot be taken (say why)."""
        turn.data[slot] = value
        return True

    def ask_params(self, turn: DialogTurn, step: Step) -> dict[str, Any]:
        return {}

    @abstractmethod
    def summary(self, turn: DialogTurn) -> str:
        """Everything collected, for the user to confirm."""

    @abstractmethod
    async def finish(self, turn: DialogTurn) -> None:
        """The user confirmed: do the work (through services) and say the outcome; end or re-ask a step."""

    # --- the engine ----------------------------------------------------------------------------------
    async def begin(self, turn: DialogTurn, preset: dict[str, Any] | None = None) -> None:
        """Start the dialog with the message that triggered it, taking any slots it already carries.

        `preset` seeds data the dialog needs before its steps (a campaign code, the appointment to move)."""
        s = turn.session
        s.dialog, s.step, s.data, s.misses = self.name, "", dict(preset or {}), 0
        self._touch(turn)
        await self.prepare(turn)
        if turn.session.dialog:  # prepare may have ended it
            _, refused = await self._absorb(turn, turn.text)
            if refused is not None:
                turn.session.step = refused  # its refusal asked again: the one question of this reply
            elif turn.session.dialog:
                await self.advance(turn)

    async def handle(self, turn: DialogTurn) -> None:
        """A message while the dialog is active."""
        self._touch(turn)
        word = GLOBAL_WORDS.get(normalize(turn.text).strip("。.!！ ").lower())
        if word is not None:
            await self._global(turn, word)
            return
        if turn.session.step == CONFIRM:
            await self._at_confirm(turn)
            return
        if await self._edit(turn, normalize(turn.text).strip("。.!！ ")):
            return
        step = self.current(turn)
        filled, refused = await self._absorb(turn, turn.text)
        if not turn.session.dialog:
            return
        if refused is not None:
            # A value the message carried was refused and the refusal asked again ("这个时间已经过去了 ... 回复
            # 1、2、3"): that is the question now, even when it was not this step's, and nothing else is asked.
            turn.session.step = refused
            if filled:
                turn.session.misses = 0
        elif filled:
            turn.session.misses = 0
            await self.advance(turn)
        elif not turn.out:
            turn.missed = True
            self.miss(turn, step)
        elif step is not None:
            turn.session.step = step.slot  # accept() explained why; the question stands

    def current(self, turn: DialogTurn) -> Step | None:
        return next((st for st in self.steps if st.slot == turn.session.step), None)

    def pending(self, turn: DialogTurn) -> Step | None:
        return next((st for st in self.steps if st.needed(turn) and st.slot not in turn.data), None)

    async def advance(self, turn: DialogTurn) -> None:
        """Ask the first slot still missing, or show the confirmation."""
        step = self.pending(turn)
        if step is None:
            turn.session.step = CONFIRM
            turn.out.append(self.summary(turn))
            return
        turn.session.step = step.slot
        turn.say(step.ask, **self.ask_params(turn, step))

    def miss(self, turn: DialogTurn, step: Step | None) -> None:
        s = turn.session
        s.misses += 1
        if s.misses >= MAX_MISSES:
            turn.say(self.wording("too_many_misses"), phone=turn.settings.store_phone)
            return
        if step is None:
            turn.say(self.wording("confirm_retry"))
        else:
            turn.say(step.retry, **self.ask_params(turn, step))

    def wording(self, moment: str) -> str:
        """The reply key for a moment every dialog has (cancelled, expired, too many misses ...): the
        dialog's own `<name>.<moment>` when it defines one, else the shared `dialog.<moment>`."""
        own = f"{self.name}.{moment}"
        return own if own in replies.REPLIES else f"dialog.{moment}"

    def end(self, turn: DialogTurn) -> None:
        turn.session.reset()

    async def _absorb(self, turn: DialogTurn, text: str) -> tuple[set[str], str | None]:
        """Every slot `text` fills (slots are filled from every message), and the first slot it carried a
        value for that `accept` refused with a reply of its own (a time in the past, with alternatives)."""
        filled: set[str] = set()
        refused: str | None = None
        for step in self.steps:
            if not step.needed(turn):
                continue
            value = step.parse(text, turn)
            if value is None:
                continue
            said = len(turn.out)
            if await self.accept(turn, step.slot, value):
                filled.add(step.slot)
            elif refused is None and len(turn.out) > said:
                refused = step.slot
            if not turn.session.dialog:
                break
        return filled, refused

    async def _global(self, turn: DialogTurn, word: str) -> None:
        s = turn.session
        if word == "cancel":
            self.end(turn)
            turn.say(self.wording("cancelled"))
        elif word == "restart":
            s.data = {k: v for k, v in s.data.items() if k in self.kept_on_restart}
            s.misses = 0
            turn.say("dialog.restarted")
            await self.prepare(turn)
            await self.advance(turn)
        elif word == "back":
            await self._back(turn)
        else:
            turn.say("dialog.help", what=replies.render(f"{self.name}.what"))
            self._repeat(turn)

    async def _back(self, turn: DialogTurn) -> None:
        needed = [st for st in self.steps if st.needed(turn)]
        if turn.session.step == CONFIRM:
            target = needed[-1] if needed else None
        else:
            index = next((i for i, st in enumerate(needed) if st.slot == turn.session.step), 0)
            target = needed[index - 1] if index > 0 else None
        if target is None:
            turn.say("dialog.at_first_step")
            self._repeat(turn)
            return
        turn.data.pop(target.slot, None)
        turn.session.step = target.slot
        turn.say(target.ask, **self.ask_params(turn, target))

    def _repeat(self, turn: DialogTurn) -> None:
        if turn.session.step == CONFIRM:
            turn.out.append(self.summary(turn))
            return
        step = self.current(turn)
        if step is not None:
            turn.say(step.ask, **self.ask_params(turn, step))

    async def _at_confirm(self, turn: DialogTurn) -> None:
        text = normalize(turn.text).strip("。.!！ ")
        if is_yes(text):
            await self.finish(turn)
            return
        if await self._edit(turn, text):
            return
        if is_no(text):
            turn.say(self.wording("what_to_change"))
            return
        filled, refused = await self._absorb(turn, turn.text)
        if refused is not None:
            turn.session.step = refused
        elif filled:
            turn.session.misses = 0
            await self.advance(turn)
        elif not turn.out:
            turn.missed = True
            self.miss(turn, None)

    async def _edit(self, turn: DialogTurn, text: str) -> bool:
        """A change word ("改时间", any of `edits`), at the confirmation or at any step: that slot is asked again, or
        filled at once from what follows ("改时间 周五上午10点"). False when `text` is no edit."""
        word = next((word for word in self.edits if text.startswith(word)), None)
        if word is None:
            return False
        slot = self.edits[word]
        step = next(st for st in self.steps if st.slot == slot)
        if not step.needed(turn):
            return False
        rest = text.removeprefix(word).strip()
        turn.data.pop(slot, None)
        turn.session.misses = 0
        filled, refused = await self._absorb(turn, rest) if rest else (set(), None)
        if refused is not None:
            turn.session.step = refused
        elif (filled and slot in turn.data) or (not turn.out and self.pending(turn) is step):
            await self.advance(turn)  # the next question, or the slot's own as the dialog asks it (a menu)
        else:
            turn.session.step = slot
            if not turn.out:
                turn.say(step.ask, **self.ask_params(turn, step))
        return True

    def _touch(self, turn: DialogTurn) -> None:
        turn.session.expires_at = turn.now + self.ttl
