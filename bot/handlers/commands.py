"""Commands in one table: the words that call them, who may use them, and how they are matched and listed.

Every handler module declares its commands as `Command(...)` values in a `COMMANDS` tuple; the router
collects them into one `CommandTable`. Role guards live here and nowhere else: a command outside the
speaker's role gets a clear refusal from the router, and 帮助 lists exactly what the speaker may use.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from bot import replies
from bot.handlers.turn import HandlerResult, Turn
from bot.services.roles import MANAGERS, STAFF, Role

# A command handler gets the turn and the text after the command word ("" when there is none).
Run = Callable[[Turn, str], Awaitable[HandlerResult]]


@dataclass(frozen=True, slots=True)
class Command:
    """One command.

    - `words`: what users type for it (the first is its name in help); matched ignoring case, spaces and
      full-width forms, longest word first, so "查客户" wins over "客户".
    - `roles`: who may use it; others get `refusal`.
    - `help`: the reply key of its line in 帮助 (one example each); None keeps it out of the list.
    - `arg`: whether text may follow the word ("查客户 138"); a word with no argument must be the whole message.
    - `writes`: it changes business data, so it runs in one transaction with the session save.
    - `anywhere`: it reads nothing of the dialog session, so it answers in the middle of a dialog and
      leaves the dialog as it was (联系门店, 我的预约).
    - `reads_ahead`: a context manager (given the openid) that starts, beside the session load, a read the
      command makes first and that does not depend on the session.
    """

    name: str
    words: tuple[str, ...]
    run: Run
    roles: frozenset[Role]
    help: str | None = None
    arg: bool = False
    writes: bool = False
    anywhere: bool = False
    reads_ahead: Callable[[str], AbstractContextManager[None]] | None = None

    @property
    def refusal(self) -> str:
        if self.roles == MANAGERS:
            return "roles.managers_only"
        if self.roles == STAFF:
            return "roles.staff_only"
        return "roles.customers_only"


def normalise(text: str) -> str:
    """What command matching compares: NFKC (full-width to half-width), lower case, trailing punctuation off."""
    return unicodedata.normalize("NFKC", text).strip().strip("。.!！~～").lower()


def _compact(text: str) -> str:
    return "".join(text.split())


@dataclass(frozen=True, slots=True)
class Match:
    command: Command
    arg: str


class CommandTable:
    """All commands; finds the one a message calls for a given role."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self.commands = tuple(commands)
        by_word: dict[str, list[Command]] = {}
        for command in self.commands:
            for word in command.words:
                by_word.setdefault(_compact(normalise(word)), []).append(command)
        for word, sharing in by_word.items():
            for a in sharing:
                for b in sharing:
                    if a is not b and a.roles & b.roles:
                        raise ValueError(f"{a.name} and {b.name} both answer {word!r} for the same role")
        # Longest first, grouped by first character: every message is looked up here, and a word can only
        # be a prefix of the text if it starts with the text's first character (84 prefix tests -> a few).
        self._words: dict[str, list[tuple[str, list[Command]]]] = {}
        for word, sharing in sorted(by_word.items(), key=lambda item: -len(item[0])):
            self._words.setdefault(word[:1], []).append((word, sharing))
        self.by_name = {c.name: c for c in self.commands}

    def find(self, text: str, role: Role) -> Match | Command | None:
        """The command `text` calls for `role` with its argument; a `Command` alone when the text calls a
        command the role may not use (the caller refuses it); None when it calls no command."""
        nfkc = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！~～")
        compact = _compact(nfkc.lower())
        for word, commands in self._words.get(compact[:1], ()):
            if not compact.startswith(word):
                continue
            arg = _after(nfkc, len(word))
            candidates = [c for c in commands if c.arg or not arg]
            if not candidates:
                continue
            allowed = next((c for c in candidates if role in c.roles), None)
            # The longest word typed decides: a clerk's "任务统计" is refused, not read as "任务" + "统计".
            return Match(allowed, arg) if allowed is not None else candidates[0]
        return None

    def for_role(self, role: Role) -> list[Command]:
        return [c for c in self.commands if role in c.roles]

    def help(self, role: Role) -> str:
        """帮助 for `role`: one line with an example for every command it may use, in declaration order."""
        lines = [replies.render(c.help) for c in self.for_role(role) if c.help]
        return replies.render(f"help.{role.value}", commands="\n".join(lines))

    def suggest(self, text: str, role: Role, limit: int = 3) -> list[Command]:
        """The commands closest to what was typed, for an unknown message from staff."""
        typed = _compact(normalise(text))[:8]
        if not typed:
            return []
        scored: dict[str, tuple[float, Command]] = {}
        for command in self.for_role(role):
            if command.help is None:
                continue
            for word in command.words:
                w = _compact(normalise(word))
                score = difflib.SequenceMatcher(None, typed[: len(w) + 2], w).ratio()
                if w in typed or typed in w:
                    score += 0.5
                if score > scored.get(command.name, (0.0, command))[0]:
                    scored[command.name] = (score, command)
        ranked = sorted(scored.values(), key=lambda item: -item[0])
        return [command for score, command in ranked[:limit] if score >= 0.6]


def _after(text: str, letters: int) -> str:
    """The text after the first `letters` non-space characters of `text`, stripped."""
    seen = 0
    for i, ch in enumerate(text):
        if seen == letters:
            return text[i:].strip()
        if not ch.isspace():
            seen += 1
    return ""
