"""The 派任务 dialog: assignee(s), content, deadline (or 无), confirm; also picks between namesakes.

See assign_task.mmd beside this file. A one-line "派任务 @张三 ..." that names two active staff called 张三
starts here too, with the content and deadline already filled, so the manager only answers which 张三.
Reading names, deadlines and customers out of text lives in `bot.services.tasks`; the words for
deadlines and for the "tasks assigned" reply live here, shared with `bot.handlers.tasks`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bot import replies
from bot.dialogs.base import CONFIRM, GLOBAL_WORDS, MAX_MISSES, Dialog, DialogTurn, Step
from bot.models import Customer, Staff
from bot.nlu import is_no, is_yes, mask_mobile, normalize, parse_pick, parse_when
from bot.services import crm, ids, tasks

# "张三 李四", "张三、李四", "@张三 @李四", "张三和李四"
_NAME_SEPARATORS = re.compile(r"[\s,，、;；@＠]+|和")
NO_DEADLINE = frozenset({"无", "没有", "不限", "不用", "无截止", "没有截止", "无截止时间", "不限时", "不着急"})
WEEKDAYS = "一二三四五六日"


# --- words shared with bot.handlers.tasks ----------------------------------------------------------------


def day_words(local: datetime, today: datetime) -> str:
    """ "12月3日（周四）", with the year only when it is not this year."""
    year = f"{local.year}年" if local.year != today.year else ""
    return f"{year}{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）"


def moment_words(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """ "12月3日（周四）10:00"."""
    local = moment.astimezone(tz)
    return f"{day_words(local, now.astimezone(tz))}{local:%H:%M}"


def due_words(due: datetime | None, now: datetime, tz: ZoneInfo) -> str:
    """A deadline as a plain moment ("12月4日（周五）18:00"), or "无截止时间"."""
    return moment_words(due, now, tz) if due is not None else replies.render("tasks.due_none")


def deadline_words(due: datetime | None, now: datetime, tz: ZoneInfo) -> str:
    """A deadline as staff read it: "今天 18:00 截止", "明天 10:00 截止", "12月3日（周四）截止" (a later day
    at the default 18:00 needs no time), "已逾期 2 天" / "已逾期 3 小时", "无截止时间"."""
    if due is None:
        return replies.render("tasks.due_none")
    local, today = due.astimezone(tz), now.astimezone(tz)
    if due <= now:
        days = (today.date() - local.date()).days
        if days >= 1:
            return replies.render("tasks.overdue_days", n=days)
        late = now - due
        if late >= timedelta(hours=1):
            return replies.render("tasks.overdue_hours", n=int(late.total_seconds() // 3600))
        return replies.render("tasks.overdue_minutes", n=max(1, int(late.total_seconds() // 60)))
    clock = f"{local:%H:%M}"
    days_ahead = (local.date() - today.date()).days
    if days_ahead == 0:
        return replies.render("tasks.due_today", time=clock)
    if days_ahead == 1:
        return replies.render("tasks.due_tomorrow", time=clock)
    if local.time() == tasks.END_OF_DAY:
        return replies.render("tasks.due_day", day=day_words(local, today))
    return replies.render("tasks.due_day_time", day=day_words(local, today), time=clock)


def customer_words(customer: Customer | None, matches: int) -> str:
    """The line saying which customer a new task was linked to, or why none was."""
    if customer is not None:
        return replies.render("tasks.linked_customer", name=customer.name, code=ids.customer_code(customer.id))
    if matches > 1:
        return replies.render("tasks.customer_ambiguous", count=matches)
    return ""


def staff_label(member: Staff) -> str:
    """A staff member told apart from a namesake: employee number, else masked mobile."""
    if member.employee_no:
        return replies.render("tasks.staff_with_no", name=member.name, no=member.employee_no)
    return replies.render("tasks.staff_with_mobile", name=member.name, mobile=mask_mobile(member.mobile))


def namesakes(name: str, members: list[Staff]) -> dict[str, Any]:
    """The open question "which 张三?", kept in the session until answered."""
    return {"name": name, "ids": [m.id for m in members], "labels": [staff_label(m) for m in members]}


async def assign(
    now: datetime,
    tz: ZoneInfo,
    *,
    created_by_id: int | None,
    assignee_ids: list[int],
    title: str,
    due: datetime | None,
    customer_id: int | None,
    customer_matches: int,
) -> str:
    """Create one task per assignee (through `tasks.assign`) and say what was assigned to whom, by when."""
    done = await tasks.assign(
        title, assignee_ids, now, tz=tz, due_at=due, created_by_id=created_by_id, customer_id=customer_id
    )
    if not done:
        return replies.render("tasks.nobody_left")
    when = deadline_words(due, now, tz)
    lines = "\n".join(
        replies.render("tasks.assigned_line", code=ids.task_code(a.task.id), assignee=a.assignee.name, due=when)
        for a in done
    )
    customer = await crm.get_customer(customer_id)
    unbound = "、".join(a.assignee.name for a in done if not a.assignee.openid)
    return replies.render(
        "tasks.assigned",
        count=len(done),
        title=title,
        lines=lines,
        customer=customer_words(customer, customer_matches),
        unbound=replies.render("tasks.unbound", names=unbound) if unbound else "",
    )


# --- slot readers: each reads only while its question is on screen (free text would fill any of them) ---


def read_assignees(text: str, turn: DialogTurn) -> dict[str, Any] | None:
    """{"pick": n} for an answer to "which 张三?", {"names": [...]} for names, or None."""
    if turn.session.step != "assignees":
        return None
    pending: list[dict[str, Any]] = turn.data.get("ambiguous", [])
    if pending:
        pick = parse_pick(text, len(pending[0]["ids"]))
        if pick is not None:
            return {"pick": pick}
    names = [n for n in _NAME_SEPARATORS.split(text.strip()) if n]
    if not names or any(n in GLOBAL_WORDS or is_yes(n) or is_no(n) or n.isdigit() for n in names):
        return None
    return {"names": names}


def read_title(text: str, turn: DialogTurn) -> str | None:
    """The task's content as typed (one line, at most 200 characters), or None for an answer word."""
    if turn.session.step != "title":
        return None
    title = " ".join(text.split())
    if not title or title in GLOBAL_WORDS or is_yes(title) or is_no(title):
        return None
    return title[:200]


def read_due(text: str, turn: DialogTurn) -> str | None:
    """An ISO deadline, "" for none (无), or None; read at the deadline question and at the confirmation."""
    if turn.session.step not in ("due", CONFIRM):
        return None
    said = normalize(text).strip("。.!！ ")
    if turn.session.step == "due" and said in NO_DEADLINE:
        return ""
    value = parse_when(said, turn.now.astimezone(turn.settings.tz))
    return tasks.due_from(value, turn.settings.tz).isoformat() if value is not None else None


def due_of(turn: DialogTurn) -> datetime | None:
    """The deadline collected so far, None for none."""
    due: str = turn.data.get("due", "")
    return datetime.fromisoformat(due) if due else None


class AssignTaskDialog(Dialog):
    """派任务 step by step: a manager names staff, writes the task, gives a deadline, and confirms."""

    name = "assign_task"
    steps = (
        Step("assignees", ask="tasks.ask_assignees", retry="tasks.retry_assignees", parse=read_assignees),
        Step("title", ask="tasks.ask_title", retry="tasks.retry_title", parse=read_title),
        Step("due", ask="tasks.ask_due", retry="tasks.retry_due", parse=read_due),
    )
    edits: ClassVar[dict[str, str]] = {
        "改店员": "assignees",
        "改人": "assignees",
        "换人": "assignees",
        "改内容": "title",
        "改任务": "title",
        "改截止": "due",
        "改时间": "due",
    }

    async def prepare(self, turn: DialogTurn) -> None:
        turn.data["staff_names"] = [s.name for s in await tasks.active_staff()]

    async def handle(self, turn: DialogTurn) -> None:
        # The engine's own words for these talk about booking; this dialog says its own.
        said = normalize(turn.text).strip("。.!！ ").lower()
        if GLOBAL_WORDS.get(said) == "cancel":
            self.end(turn)
            turn.say("tasks.dialog_cancelled")
            return
        if turn.session.step == CONFIRM and is_no(said):
            self._touch(turn)
            turn.say("tasks.what_to_change")
            return
        await super().handle(turn)

    async def advance(self, turn: DialogTurn) -> None:
        step = self.pending(turn)
        if step is not None and step.slot == "assignees" and turn.data.get("ambiguous"):
            turn.session.step = "assignees"
            self._ask_which(turn)
            return
        await super().advance(turn)

    def miss(self, turn: DialogTurn, step: Step | None) -> None:
        if turn.session.misses + 1 < MAX_MISSES:
            if step is None:
                turn.session.misses += 1
                turn.say("tasks.confirm_retry")
                return
            if step.slot == "assignees" and turn.data.get("ambiguous"):
                turn.session.misses += 1
                self._ask_which(turn)
                return
        super().miss(turn, step)

    def ask_params(self, turn: DialogTurn, step: Step) -> dict[str, Any]:
        return {"staff": "、".join(turn.data.get("staff_names", []))}

    def _ask_which(self, turn: DialogTurn) -> None:
        pending = turn.data["ambiguous"][0]
        menu = "\n".join(f"{i}. {label}" for i, label in enumerate(pending["labels"], 1))
        turn.say("tasks.which_staff", count=len(pending["labels"]), name=pending["name"], menu=menu)

    async def accept(self, turn: DialogTurn, slot: str, value: Any) -> bool:
        if slot == "assignees":
            return await self._take_assignees(turn, value)
        if slot == "title":
            return await self._take_title(turn, value)
        if value and datetime.fromisoformat(value) <= turn.now:
            when = moment_words(datetime.fromisoformat(value), turn.now, turn.settings.tz)
            turn.say("tasks.due_past", when=when)
            return False
        turn.data["due"] = value
        return True

    async def _take_assignees(self, turn: DialogTurn, value: dict[str, Any]) -> bool:
        # [staff id, how the confirmation names them] for each assignee settled so far
        resolved: list[list[Any]] = turn.data.setdefault("resolved", [])
        if "pick" in value:
            pending = turn.data["ambiguous"].pop(0)
            resolved.append([pending["ids"][value["pick"] - 1], pending["labels"][value["pick"] - 1]])
        else:
            staff = await tasks.active_staff()
            found = tasks.staff_by_name(staff, value["names"])
            unknown = [name for name, members in found.items() if not members]
            if unknown:
                names = "、".join(s.name for s in staff)
                turn.say("tasks.unknown_staff", names="、".join(unknown), staff=names)
                return False
            turn.data["ambiguous"] = [namesakes(n, m) for n, m in found.items() if len(m) > 1]
            resolved[:] = [[m[0].id, m[0].name] for m in found.values() if len(m) == 1]
        if turn.data["ambiguous"]:
            self._ask_which(turn)
            return False
        turn.data["assignees"] = list(dict.fromkeys(staff_id for staff_id, _ in resolved))
        return True

    async def _take_title(self, turn: DialogTurn, title: str) -> bool:
        # "回访客户王五 周五前" at the content question gives the deadline as well.
        value, rest = tasks.split_deadline(title, turn.now.astimezone(turn.settings.tz))
        if value is not None and rest and "due" not in turn.data:
            due = tasks.due_from(value, turn.settings.tz)
            if due > turn.now:
                turn.data["due"] = due.isoformat()
                title = rest
        link = await tasks.find_customer(title)
        turn.data["title"] = title
        turn.data["customer_id"] = link.customer.id if link.customer else None
        turn.data["customer_matches"] = link.matches
        turn.data["customer_line"] = customer_words(link.customer, link.matches)
        return True

    def summary(self, turn: DialogTurn) -> str:
        d = turn.data
        names = {staff_id: label for staff_id, label in d.get("resolved", [])}
        return replies.render(
            "tasks.confirm",
            assignees="、".join(names[staff_id] for staff_id in d["assignees"]),
            title=d["title"],
            due=due_words(due_of(turn), turn.now, turn.settings.tz),
            customer=d.get("customer_line", ""),
        )

    async def finish(self, turn: DialogTurn) -> None:
        d = turn.data
        due = due_of(turn)
        if due is not None and due <= turn.now:  # the deadline passed while the confirmation waited
            d.pop("due")
            turn.session.step = "due"
            turn.say("tasks.due_passed")
            return
        self.end(turn)
        text = await assign(
            turn.now,
            turn.settings.tz,
            created_by_id=turn.speaker.staff_id,
            assignee_ids=d["assignees"],
            title=d["title"],
            due=due,
            customer_id=d.get("customer_id"),
            customer_matches=d.get("customer_matches", 0),
        )
        turn.out.append(text)
