"""Tasks: work for one staff member with an optional deadline and customer, and its notification."""

# A task and its "new task" template message are written in the caller's transaction, so the assignee is
# told exactly when the task exists. Tasks the system creates (a no-show to call back, a car due for
# service) carry a `dedupe_key`, so a sweep that runs twice, or in two workers, creates each task once.

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.functions import Count

from bot.models import Customer, Staff, StaffRole, Task, TaskKind, TaskStatus, Vehicle
from bot.nlu import parse_mobile, parse_plate, parse_when
from bot.services import notify, outbox
from bot.services.outbox import insert_unless_taken


async def create(
    title: str,
    assignee: Staff,
    now: datetime,
    *,
    tz: ZoneInfo,
    due_at: datetime | None = None,
    created_by: Staff | None = None,
    customer: Customer | None = None,
    appointment_id: int | None = None,
    kind: TaskKind = TaskKind.MANUAL,
    dedupe_key: str | None = None,
) -> Task | None:
    """Create a task and queue the "new task" template to the assignee (when they have bound WeChat).

    Returns None when `dedupe_key` is already taken (the task exists): nothing is written or sent again.
    """
    new = NewTask(title, assignee, due_at, created_by, customer, appointment_id, kind, dedupe_key)
    task = _task(new, now)
    if dedupe_key is None:
        await task.save()
    elif not await insert_unless_taken(task, "dedupe_key"):
        return None
    notice = _notice(new, task, tz)
    if notice is not None:
        await notify.send(notice.kind, notice.openid, notice.values, now=now, dedupe_key=notice.dedupe_key)
    return task


@dataclass(frozen=True, slots=True)
class NewTask:
    """The arguments of `create`, for `create_many`."""

    title: str
    assignee: Staff
    due_at: datetime | None = None
    created_by: Staff | None = None
    customer: Customer | None = None
    appointment_id: int | None = None
    kind: TaskKind = TaskKind.MANUAL
    dedupe_key: str | None = None


async def create_many(new: Sequence[NewTask], now: datetime, *, tz: ZoneInfo) -> list[Task]:
    """`create` for many system tasks (each with a `dedupe_key`) in a few multi-row statements, with their
    notices: the tasks created, in order; a key already taken creates nothing. Call it inside a transaction
    so that tasks and notices are written together."""
    if any(item.dedupe_key is None for item in new):
        raise ValueError("create_many needs a dedupe_key on every task")
    pairs = [(item, _task(item, now)) for item in new]
    written = {id(task) for task in await outbox.insert_many_unless_taken([task for _, task in pairs], "dedupe_key")}
    created = [(item, task) for item, task in pairs if id(task) in written]
    notices = [notice for item, task in created if (notice := _notice(item, task, tz)) is not None]
    await notify.send_many(notices, now=now)
    return [task for _, task in created]


def _task(new: NewTask, now: datetime) -> Task:
    return Task(
        title=" ".join(new.title.split())[:200],
        kind=new.kind,
        assignee_id=new.assignee.id,
        created_by_id=new.created_by.id if new.created_by else None,
        customer_id=new.customer.id if new.customer else None,
        appointment_id=new.appointment_id,
        due_at=new.due_at.astimezone(UTC) if new.due_at else None,
        dedupe_key=new.dedupe_key,
        created_at=now.astimezone(UTC),
    )


def _notice(new: NewTask, task: Task, tz: ZoneInfo) -> notify.Outgoing | None:
    """The "new task" message to the assignee; None when they have not bound WeChat or are inactive."""
    assignee = new.assignee
    if not assignee.openid or not assignee.active:
        return None
    values = {
        "task": task.title,
        "due": notify.template_time(new.due_at, tz) if new.due_at else "无截止时间",
        "customer": new.customer.name if new.customer and new.customer.name else "-",
        "assigner": new.created_by.name if new.created_by else "系统",
    }
    return notify.Outgoing("task_assigned", assignee.openid, values, dedupe_key=f"task:{task.id}:new")


# --- reading "派任务 @张三 周五前 回访客户王五 保养报价" ---------------------------------------------------

# "@张三": the name runs to the next space, "@" or list punctuation; a known staff name that starts the
# run wins, so "@张三周五前" is 张三 followed by 周五前.
_MENTION = re.compile(r"[@＠]\s*([^\s@＠,，、;；]+)")
# Words around a deadline that belong to it, not to the title ("周五前", "截止周五", "明天下午3点之前").
_DEADLINE_AFTER = ("之前", "以前", "以内", "之内", "截止", "为止", "前", "内", "点", "号", "整")
# Characters a deadline may start with before the piece that pins it down ("明天上午" before "10点").
_TIME_CHARS = frozenset("〇零一二两三四五六七八九十年月日号周星期礼拜天今明后昨本这下上个中午早晚凌晨傍夜")
_DEADLINE_BEFORE = ("截止到", "截止", "最迟", "最晚", "请于", "请在", "于")
# A date without a clock time is due at the end of the working day.
END_OF_DAY = time(18, 0)
_CUSTOMER_CODE = re.compile(r"(?<![A-Za-z0-9])[Cc](\d{1,9})(?!\d)")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_NAME_LENGTHS = range(2, 5)  # Chinese personal names, as customers are usually recorded


@dataclass(frozen=True, slots=True)
class CustomerLink:
    """The customer a task's text names: linked only when exactly one customer matches."""

    customer: Customer | None
    matches: int  # customers the text could mean: 0 names none, 1 is linked, more are left unlinked


@dataclass(frozen=True, slots=True)
class Draft:
    """A one-line assignment read apart: who (names as typed), what, by when, about whom."""

    names: list[str]
    title: str
    due: datetime | None  # aware, store-local; None when the text names no deadline
    link: CustomerLink


def split_mentions(text: str, known: Iterable[str]) -> tuple[list[str], str]:
    """The "@name" mentions in `text` (in order, without repeats) and the text without them."""
    by_length = sorted(set(known), key=len, reverse=True)
    names: list[str] = []
    rest: list[str] = []
    last = 0
    for m in _MENTION.finditer(text):
        run = m.group(1)
        name = next((n for n in by_length if run.startswith(n)), run)
        if name not in names:
            names.append(name)
        rest += [text[last : m.start()], " ", run[len(name) :], " "]
        last = m.end()
    rest.append(text[last:])
    return names, " ".join("".join(rest).split())


def split_deadline(text: str, now_local: datetime) -> tuple[datetime | date | None, str]:
    """The deadline `text` names (through `bot.nlu.when`) and the text with the deadline words taken out.

    Each word is read on its own, so "周五前回访客户王五" gives Friday and "回访客户王五"; words that together
    make one deadline ("明天 下午3点") are read together. A time word inside a word ("准备周末活动物料") is
    part of the title, as is one after the deadline that is not a time word alone.
    """
    parts: list[str] = []
    kept: list[str] = []
    for word in text.split():
        value = parse_when(word, now_local)
        if value is None:
            kept.append(word)
            continue
        start, end = _deadline_span(word, value, now_local)
        left, right = word[:start], word[end:]
        for prefix in _DEADLINE_BEFORE:
            if left.endswith(prefix):
                left = left[: -len(prefix)]
                break
        if (left and right) or (parts and (left or right)):
            kept.append(word)
            continue
        parts.append(word[start:end])
        kept += [piece for piece in (left, right) if piece]
    if not parts:
        return None, " ".join(kept)
    return parse_when(" ".join(parts), now_local), " ".join(kept)


def _deadline_span(word: str, value: datetime | date, now_local: datetime) -> tuple[int, int]:
    """Where in `word` the deadline reading `value` is: the last piece that reads as `value`, widened to
    the left over the time words before it ("10点" -> "明天上午10点") while it still reads the same, and to
    the right over the words that close a deadline (前, 之前, 点 ...)."""
    start = next(j for j in range(len(word) - 1, -1, -1) if parse_when(word[j:], now_local) == value)
    end = next(k for k in range(start + 1, len(word) + 1) if parse_when(word[start:k], now_local) == value)
    run = start
    while run > 0 and (word[run - 1].isdigit() or word[run - 1] in _TIME_CHARS):
        run -= 1
    while run < start and parse_when(word[run:end], now_local) != value:
        run += 1
    start = run
    grew = True
    while grew:
        grew = False
        for suffix in _DEADLINE_AFTER:
            if word.startswith(suffix, end):
                end += len(suffix)
                grew = True
                break
    return start, end


def due_from(value: datetime | date, tz: ZoneInfo) -> datetime:
    """The moment a deadline reading means: a date alone is due at the end of that working day (18:00)."""
    if isinstance(value, datetime):
        return value.astimezone(tz)
    return datetime.combine(value, END_OF_DAY, tzinfo=tz)


async def active_staff() -> list[Staff]:
    """Every active staff member, in the order they joined."""
    return await Staff.filter(active=True).order_by("id")


def staff_by_name(staff: Iterable[Staff], names: Iterable[str]) -> dict[str, list[Staff]]:
    """For each name, the staff members with exactly that name (none, one, or several namesakes)."""
    members = list(staff)
    return {name: [s for s in members if s.name == name] for name in names}


async def find_customer(text: str) -> CustomerLink:
    """The customer `text` names by code (C1024), mobile, plate or name, in that order of trust.

    The first way that matches anyone decides; the customer is linked only when exactly one matches.
    """
    codes = {int(m.group(1)) for m in _CUSTOMER_CODE.finditer(text)}
    if codes:
        found = await Customer.filter(id__in=codes)
        if found:
            return _link(found)
    mobile = parse_mobile(text)
    if mobile:
        found = await Customer.filter(mobile=mobile)
        if found:
            return _link(found)
    plate = parse_plate(text)
    if plate:
        vehicle = await Vehicle.get_or_none(plate=plate).prefetch_related("customer")
        if vehicle is not None:
            return _link([vehicle.customer])
    candidates = {
        run[i : i + n] for run in _CJK_RUN.findall(text) for n in _NAME_LENGTHS for i in range(len(run) - n + 1)
    }
    if not candidates:
        return CustomerLink(None, 0)
    found = await Customer.filter(name__in=candidates)
    names = {c.name for c in found}
    # "王五" inside a text that also matched "王五一"'s record is the longer name, not two people.
    longest = {n for n in names if not any(n != other and n in other for other in names)}
    return _link([c for c in found if c.name in longest])


def _link(found: list[Customer]) -> CustomerLink:
    return CustomerLink(found[0] if len(found) == 1 else None, len(found))


async def read_assignment(text: str, now: datetime, tz: ZoneInfo, staff: Iterable[Staff]) -> Draft:
    """Read "@张三 @李四 周五前 回访客户王五 保养报价" into names, title, deadline and linked customer."""
    names, rest = split_mentions(text, (s.name for s in staff))
    value, title = split_deadline(rest, now.astimezone(tz))
    return Draft(names, title, due_from(value, tz) if value else None, await find_customer(title))


# --- lists, details, completing and revoking ----------------------------------------------------------


def by_deadline(task: Task) -> tuple[bool, datetime, int]:
    """Sort key: overdue first, then the nearest deadline, then tasks without one (oldest first)."""
    return (task.due_at is None, task.due_at or task.created_at, task.id)


async def open_tasks(assignee_id: int | None = None) -> list[Task]:
    """Open tasks (one person's, or everyone's), nearest deadline first, with assignee and customer."""
    query = Task.filter(status=TaskStatus.OPEN)
    if assignee_id is not None:
        query = query.filter(assignee_id=assignee_id)
    rows = await query.prefetch_related("assignee", "customer")
    return sorted(rows, key=by_deadline)


async def get(task_id: int) -> Task | None:
    """One task with its assignee, creator and customer, whatever its status."""
    return await Task.get_or_none(id=task_id).prefetch_related("assignee", "created_by", "customer")


async def complete(task_id: int, now: datetime, note: str = "") -> bool:
    """Mark an open task done with an optional note; False when it is no longer open (done or revoked).

    One conditional UPDATE, so two people completing the same task at once complete it once."""
    updated = await Task.filter(id=task_id, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=now.astimezone(UTC), note=" ".join(note.split())[:200]
    )
    return updated == 1


async def revoke(task_id: int, now: datetime) -> bool:
    """Revoke an open task (it leaves every list); False when it is no longer open."""
    updated = await Task.filter(id=task_id, status=TaskStatus.OPEN).update(
        status=TaskStatus.REVOKED, revoked_at=now.astimezone(UTC)
    )
    return updated == 1


async def tell(staff_id: int | None, text: str, now: datetime, dedupe_key: str) -> bool:
    """Queue a customer-service text to a staff member who is active and bound; False when nobody to tell.

    The dedupe key (one per task and event) keeps a retried turn from telling them twice."""
    if staff_id is None:
        return False
    member = await Staff.get_or_none(id=staff_id, active=True)
    if member is None or not member.openid:
        return False
    await outbox.enqueue_text(member.openid, text, now=now, dedupe_key=dedupe_key)
    return True


# --- statistics -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskStats:
    """One staff member's tasks for a period [start, end):

    - `open`: tasks open now, whenever they were assigned;
    - `done`: tasks completed within the period;
    - `overdue`: tasks open now past their deadline, plus tasks completed within the period after theirs;
    - `on_time_rate`: of the tasks completed within the period that had a deadline, the share completed
      by it (None when there were none).
    """

    staff_id: int
    name: str
    active: bool
    open: int
    done: int
    overdue: int
    done_with_due: int
    done_on_time: int

    @property
    def on_time_rate(self) -> float | None:
        return self.done_on_time / self.done_with_due if self.done_with_due else None


def clerks_and(staff_ids: Iterable[int]) -> Q:
    """A filter for every active clerk plus the given staff members (a manager or former clerk with work)."""
    members = Q(active=True, role=StaffRole.CLERK)
    ids = list(staff_ids)
    return members | Q(id__in=ids) if ids else members


async def stats(start: datetime, end: datetime, now: datetime) -> list[TaskStats]:
    """Task numbers per staff member for [start, end) (see `TaskStats`): every active clerk, and anyone
    else with a number that is not zero; active staff first, then in the order they joined."""
    open_counts = dict(
        await Task.filter(status=TaskStatus.OPEN)
        .annotate(n=Count("id"))
        .group_by("assignee_id")
        .values_list("assignee_id", "n")
    )
    open_late = dict(
        await Task.filter(status=TaskStatus.OPEN, due_at__lt=now.astimezone(UTC))
        .annotate(n=Count("id"))
        .group_by("assignee_id")
        .values_list("assignee_id", "n")
    )
    done: dict[int, list[tuple[datetime | None, datetime]]] = {}
    for assignee_id, due_at, done_at in await Task.filter(
        status=TaskStatus.DONE, done_at__gte=start.astimezone(UTC), done_at__lt=end.astimezone(UTC)
    ).values_list("assignee_id", "due_at", "done_at"):
        done.setdefault(assignee_id, []).append((due_at, done_at))
    busy = open_counts.keys() | done.keys()
    rows = []
    for member in await Staff.filter(clerks_and(busy)).order_by("id"):
        finished = done.get(member.id, [])
        with_due = [(due, at) for due, at in finished if due is not None]
        on_time = sum(1 for due, at in with_due if at <= due)
        rows.append(
            TaskStats(
                staff_id=member.id,
                name=member.name,
                active=member.active,
                open=open_counts.get(member.id, 0),
                done=len(finished),
                overdue=open_late.get(member.id, 0) + len(with_due) - on_time,
                done_with_due=len(with_due),
                done_on_time=on_time,
            )
        )
    return sorted(rows, key=lambda r: (not r.active, r.staff_id))


@dataclass(frozen=True, slots=True)
class Assigned:
    """A task `assign` created, with the staff member it went to."""

    task: Task
    assignee: Staff


async def assign(
    title: str,
    assignee_ids: Iterable[int],
    now: datetime,
    *,
    tz: ZoneInfo,
    due_at: datetime | None,
    created_by_id: int | None,
    customer_id: int | None,
) -> list[Assigned]:
    """One task per assignee (派任务 @张三 @李四), each with its new-task template, in the caller's transaction.

    Staff deactivated since they were named are skipped (nothing is assigned to someone who left)."""
    wanted = list(dict.fromkeys(assignee_ids))
    creator = await Staff.get_or_none(id=created_by_id) if created_by_id else None
    customer = await Customer.get_or_none(id=customer_id) if customer_id else None
    members = {s.id: s for s in await Staff.filter(id__in=wanted, active=True)} if wanted else {}
    done = []
    for staff_id in wanted:
        member = members.get(staff_id)
        if member is None:
            continue
        task = await create(title, member, now, tz=tz, due_at=due_at, created_by=creator, customer=customer)
        if task is not None:
            done.append(Assigned(task, member))
    return done
