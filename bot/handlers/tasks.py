"""Tasks: 派任务, 我的任务, 完成任务, 任务, 任务统计, 撤销任务."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot import replies
from bot.dialogs import DialogTurn, register
from bot.dialogs.assign_task import (
    AssignTaskDialog,
    assign,
    customer_words,
    deadline_words,
    due_words,
    moment_words,
    namesakes,
)
from bot.handlers.commands import Command
from bot.handlers.turn import HandlerResult, Turn
from bot.models import Task, TaskStatus
from bot.nlu import mask_mobile
from bot.services import ids, reports, tasks
from bot.services.reports import PeriodKind
from bot.services.roles import MANAGERS, STAFF

DIALOG = register(AssignTaskDialog())
PAGE_SIZE = 5
# The id may be typed with full-width characters (Ｔ１２); the note after it is kept as typed.
_TASK_ID = re.compile(r"^\s*([#＃]?[TtＴｔ]?[0-9０-９]{1,9})(?![0-9０-９])(.*)$", re.S)

# What follows 任务统计 / 报表: the period it names.
PERIOD_WORDS: dict[str, PeriodKind] = {
    "今天": PeriodKind.TODAY,
    "今日": PeriodKind.TODAY,
    "昨天": PeriodKind.YESTERDAY,
    "昨日": PeriodKind.YESTERDAY,
    "本周": PeriodKind.THIS_WEEK,
    "这周": PeriodKind.THIS_WEEK,
    "这一周": PeriodKind.THIS_WEEK,
    "上周": PeriodKind.LAST_WEEK,
    "本月": PeriodKind.THIS_MONTH,
    "这个月": PeriodKind.THIS_MONTH,
    "这月": PeriodKind.THIS_MONTH,
    "上月": PeriodKind.LAST_MONTH,
    "上个月": PeriodKind.LAST_MONTH,
}


def read_period(arg: str, default: PeriodKind) -> PeriodKind | None:
    """The period named after a command ("本周"), `default` for none, None for anything else."""
    said = "".join(arg.split()).strip("。.!！")
    return PERIOD_WORDS.get(said) if said else default


def period_words(span: reports.Period) -> str:
    """ "今天（11月28日）", "本周（11月23日—11月29日）", "本月（11月）" ..."""
    first = f"{span.first.month}月{span.first.day}日"
    last = f"{span.last.month}月{span.last.day}日"
    return replies.render(f"reports.period_{span.kind.value}", first=first, last=last, month=span.first.month)


def paged(header: str, items: Sequence[str], footer: str = "", handler: str = "list") -> HandlerResult:
    """A list as one reply, or pages of `PAGE_SIZE` items (header on the first, footer on the last)."""
    chunks = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)] or [[]]
    pages = []
    for n, chunk in enumerate(chunks):
        parts = ([header] if n == 0 else []) + list(chunk) + ([footer] if footer and n == len(chunks) - 1 else [])
        pages.append("\n".join(parts))
    if len(pages) == 1:
        return HandlerResult(handler, pages[0])
    return HandlerResult(handler, pages=tuple(pages))


def _task_id(arg: str) -> tuple[int | None, str]:
    """The task id at the start of `arg` ("T12 已回访", "t12，已回访" -> 12) and the text after it."""
    m = _TASK_ID.match(arg)
    if m is None:
        return None, ""
    return ids.parse_task_code(m.group(1)), m.group(2).strip(" ，,。：:;；")


# --- 派任务 -------------------------------------------------------------------------------------------


async def assign_task(turn: Turn, arg: str) -> HandlerResult:
    assert turn.session is not None
    tz = turn.settings.tz
    if not arg:
        dturn = _dialog_turn(turn)
        await DIALOG.begin(dturn)
        return HandlerResult(DIALOG.name, "\n".join(dturn.out))
    staff = await tasks.active_staff()
    draft = await tasks.read_assignment(arg, turn.now, tz, staff)
    if not draft.names:
        return HandlerResult("assign_task", replies.render("tasks.assign_usage"))
    found = tasks.staff_by_name(staff, draft.names)
    unknown = [name for name, members in found.items() if not members]
    if unknown:
        names = "、".join(s.name for s in staff)
        return HandlerResult(
            "assign_task", replies.render("tasks.unknown_staff", names="、".join(unknown), staff=names)
        )
    if not draft.title:
        return HandlerResult("assign_task", replies.render("tasks.no_title"))
    if draft.due is not None and draft.due <= turn.now:
        return HandlerResult(
            "assign_task", replies.render("tasks.due_past", when=moment_words(draft.due, turn.now, tz))
        )
    link = draft.link
    ambiguous = [namesakes(n, m) for n, m in found.items() if len(m) > 1]
    if ambiguous:
        # Which 张三? The dialog asks, with everything else already filled in, then confirms.
        preset = {
            "resolved": [[m[0].id, m[0].name] for m in found.values() if len(m) == 1],
            "ambiguous": ambiguous,
            "title": draft.title,
            "due": draft.due.isoformat() if draft.due else "",
            "customer_id": link.customer.id if link.customer else None,
            "customer_matches": link.matches,
            "customer_line": customer_words(link.customer, link.matches),
        }
        dturn = _dialog_turn(turn)
        await DIALOG.begin(dturn, preset)
        return HandlerResult(DIALOG.name, "\n".join(dturn.out))
    text = await assign(
        turn.now,
        tz,
        created_by_id=turn.speaker.staff_id,
        assignee_ids=[members[0].id for members in found.values()],
        title=draft.title,
        due=draft.due,
        customer_id=link.customer.id if link.customer else None,
        customer_matches=link.matches,
    )
    return HandlerResult("assign_task", text)


def _dialog_turn(turn: Turn) -> DialogTurn:
    assert turn.session is not None
    return DialogTurn(turn.msg.openid, "", turn.now, turn.settings, turn.session, speaker=turn.speaker)


# --- lists ----------------------------------------------------------------------------------------------


def _item(turn: Turn, task: Task) -> str:
    customer = ""
    if task.customer is not None:
        code = ids.customer_code(task.customer.id)
        customer = replies.render("tasks.item_customer", name=task.customer.name, code=code)
    due = deadline_words(task.due_at, turn.now, turn.settings.tz)
    return replies.render("tasks.item", code=ids.task_code(task.id), title=task.title, due=due, customer=customer)


def _overdue(turn: Turn, rows: Sequence[Task]) -> int:
    return sum(1 for t in rows if t.due_at is not None and t.due_at <= turn.now)


async def my_tasks(turn: Turn, arg: str) -> HandlerResult:
    assert turn.speaker.staff_id is not None
    rows = await tasks.open_tasks(turn.speaker.staff_id)
    if not rows:
        return HandlerResult("my_tasks", replies.render("tasks.mine_none"))
    late = _overdue(turn, rows)
    overdue = replies.render("tasks.overdue_count", count=late) if late else ""
    header = replies.render("tasks.mine_header", count=len(rows), overdue=overdue)
    footer = replies.render("tasks.mine_footer", code=ids.task_code(rows[0].id))
    return paged(header, [_item(turn, t) for t in rows], footer, "my_tasks")


async def all_tasks(turn: Turn) -> HandlerResult:
    """Managers' 任务: every open task grouped by assignee, each group with its count and overdue count."""
    rows = await tasks.open_tasks()
    if not rows:
        return HandlerResult("tasks", replies.render("tasks.all_none"))
    groups: dict[int, list[Task]] = {}
    for task in rows:
        groups.setdefault(task.assignee_id, []).append(task)
    # Whoever has the most overdue work first, then the most work.
    order = sorted(groups.values(), key=lambda g: (-_overdue(turn, g), -len(g), g[0].assignee_id))
    pages: list[list[str]] = [[]]
    shown = 0
    for group in order:
        member = group[0].assignee
        name = member.name + ("" if member.active else replies.render("tasks.inactive"))
        late = _overdue(turn, group)
        marks = replies.render("tasks.group_overdue", count=late) if late else ""
        pages[-1].append(replies.render("tasks.group", name=name, count=len(group), overdue=marks))
        for task in group:
            if shown and shown % PAGE_SIZE == 0:
                pages.append([replies.render("tasks.group_more", name=name)])
            pages[-1].append(_item(turn, task))
            shown += 1
    late = _overdue(turn, rows)
    overdue = replies.render("tasks.group_overdue", count=late) if late else ""
    header = replies.render("tasks.all_header", count=len(rows), overdue=overdue)
    pages[0].insert(0, header)
    texts = tuple("\n".join(page) for page in pages)
    if len(texts) == 1:
        return HandlerResult("tasks", texts[0])
    return HandlerResult("tasks", pages=texts)


# --- 任务 T12, 完成任务, 撤销任务 -------------------------------------------------------------------------


async def task(turn: Turn, arg: str) -> HandlerResult:
    if not arg:
        return await all_tasks(turn) if turn.speaker.is_manager else await my_tasks(turn, "")
    task_id, _ = _task_id(arg)
    if task_id is None and arg.startswith("统计"):
        # A clerk's "任务统计" falls through to 任务 (the longer word is managers' only): refuse it as such.
        return HandlerResult("refused", replies.render("roles.managers_only"))
    if task_id is None:
        return HandlerResult("task", replies.render("tasks.id_usage", word="任务"))
    code = ids.task_code(task_id)
    found = await tasks.get(task_id)
    if found is None:
        return HandlerResult("task", replies.render("tasks.not_found", code=code))
    me = turn.speaker.staff_id
    if not turn.speaker.is_manager and me not in (found.assignee_id, found.created_by_id):
        return HandlerResult("task", replies.render("tasks.not_visible", code=code))
    return HandlerResult("task", _details(turn, found))


def _details(turn: Turn, found: Task) -> str:
    tz = turn.settings.tz
    customer = ""
    if found.customer is not None:
        c = found.customer
        # Full numbers for managers and the customer's own clerk only.
        mine = turn.speaker.is_manager or c.owner_id == turn.speaker.staff_id
        mobile = (c.mobile if mine else mask_mobile(c.mobile)) if c.mobile else ""
        customer = replies.render(
            "tasks.detail_customer", name=c.name, code=ids.customer_code(c.id), mobile=mobile
        ).rstrip()
    extra = ""
    if found.status == TaskStatus.DONE and found.done_at is not None:
        note = replies.render("tasks.detail_note", note=found.note) if found.note else ""
        extra = replies.render("tasks.detail_done", when=moment_words(found.done_at, turn.now, tz), note=note)
    elif found.status == TaskStatus.REVOKED and found.revoked_at is not None:
        extra = replies.render("tasks.detail_revoked", when=moment_words(found.revoked_at, turn.now, tz))
    due = due_words(found.due_at, turn.now, tz)
    if found.due_at is not None and found.status == TaskStatus.OPEN and found.due_at <= turn.now:
        due += replies.render("tasks.detail_overdue", late=deadline_words(found.due_at, turn.now, tz))
    creator = found.created_by.name if found.created_by is not None else replies.render("tasks.system")
    return replies.render(
        "tasks.detail",
        code=ids.task_code(found.id),
        status=replies.render(f"tasks.status_{found.status.value}"),
        title=found.title,
        assignee=found.assignee.name,
        creator=creator,
        created=moment_words(found.created_at, turn.now, tz),
        due=due,
        customer=customer,
        extra=extra,
    )


def _closed(turn: Turn, found: Task) -> str:
    code = ids.task_code(found.id)
    if found.status == TaskStatus.DONE and found.done_at is not None:
        return replies.render(
            "tasks.already_done", code=code, when=moment_words(found.done_at, turn.now, turn.settings.tz)
        )
    return replies.render("tasks.already_revoked", code=code)


async def finish_task(turn: Turn, arg: str) -> HandlerResult:
    task_id, note = _task_id(arg)
    if task_id is None:
        return HandlerResult("finish_task", replies.render("tasks.id_usage", word="完成任务"))
    code = ids.task_code(task_id)
    found = await tasks.get(task_id)
    if found is None:
        return HandlerResult("finish_task", replies.render("tasks.not_found", code=code))
    me = turn.speaker.staff_id
    if found.assignee_id != me and not turn.speaker.is_manager:
        return HandlerResult("finish_task", replies.render("tasks.not_yours", code=code, assignee=found.assignee.name))
    if found.status != TaskStatus.OPEN or not await tasks.complete(task_id, turn.now, note):
        closed = await tasks.get(task_id)
        assert closed is not None
        return HandlerResult("finish_task", _closed(turn, closed))
    note_line = replies.render("tasks.done_note", note=note) if note else ""
    if found.created_by_id not in (None, me):
        notice = replies.render(
            "tasks.done_notice", who=turn.speaker.name, code=code, title=found.title, note=note_line
        )
        await tasks.tell(found.created_by_id, notice, turn.now, f"task:{task_id}:done")
    left = ""
    if found.assignee_id == me:
        count = len(await tasks.open_tasks(me))
        left = replies.render("tasks.done_left", count=count) if count else replies.render("tasks.done_all")
    return HandlerResult(
        "finish_task", replies.render("tasks.done", code=code, title=found.title, note=note_line, left=left)
    )


async def revoke_task(turn: Turn, arg: str) -> HandlerResult:
    task_id, _ = _task_id(arg)
    if task_id is None:
        return HandlerResult("revoke_task", replies.render("tasks.id_usage", word="撤销任务"))
    code = ids.task_code(task_id)
    found = await tasks.get(task_id)
    if found is None:
        return HandlerResult("revoke_task", replies.render("tasks.not_found", code=code))
    if found.status != TaskStatus.OPEN or not await tasks.revoke(task_id, turn.now):
        closed = await tasks.get(task_id)
        assert closed is not None
        return HandlerResult("revoke_task", _closed(turn, closed))
    assignee = found.assignee.name
    notice = replies.render("tasks.revoked_notice", code=code, who=turn.speaker.name, title=found.title)
    told = await tasks.tell(found.assignee_id, notice, turn.now, f"task:{task_id}:revoked")
    said = replies.render("tasks.revoked_told" if told else "tasks.revoked_untold", assignee=assignee)
    return HandlerResult(
        "revoke_task", replies.render("tasks.revoked", code=code, title=found.title, assignee=assignee, told=said)
    )


# --- 任务统计 ---------------------------------------------------------------------------------------------


def rate_words(rate: float | None) -> str:
    return f"{rate:.0%}" if rate is not None else replies.render("reports.no_rate")


async def task_stats(turn: Turn, arg: str) -> HandlerResult:
    kind = read_period(arg, PeriodKind.THIS_WEEK)
    if kind is None or kind in (PeriodKind.TODAY, PeriodKind.YESTERDAY):
        return HandlerResult("task_stats", replies.render("tasks.stats_usage"))
    span = reports.period(kind, turn.now, turn.settings.tz)
    rows = await tasks.stats(span.start, span.end, turn.now)
    lines = [
        replies.render(
            "tasks.stats_line",
            name=row.name + ("" if row.active else replies.render("tasks.inactive")),
            open=row.open,
            done=row.done,
            overdue=row.overdue,
            rate=rate_words(row.on_time_rate),
        )
        for row in rows
    ] or [replies.render("tasks.stats_none")]
    header = replies.render("tasks.stats_header", period=period_words(span))
    return paged(header, lines, replies.render("tasks.stats_legend"), "task_stats")


COMMANDS: tuple[Command, ...] = (
    Command(
        "assign_task",
        ("派任务", "派发任务", "分配任务", "布置任务"),
        assign_task,
        MANAGERS,
        "tasks.help_assign",
        arg=True,
        writes=True,
    ),
    Command("my_tasks", ("我的任务", "我的待办", "待办"), my_tasks, STAFF, "tasks.help_my"),
    Command("finish_task", ("完成任务",), finish_task, STAFF, "tasks.help_finish", arg=True, writes=True),
    Command("task", ("任务", "查任务", "任务详情"), task, STAFF, "tasks.help_task", arg=True),
    Command("task_stats", ("任务统计",), task_stats, MANAGERS, "tasks.help_stats", arg=True),
    Command("revoke_task", ("撤销任务", "取消任务"), revoke_task, MANAGERS, "tasks.help_revoke", arg=True, writes=True),
)
