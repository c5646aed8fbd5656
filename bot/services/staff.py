"""Staff accounts: adding staff, one-time binding codes, binding a WeChat account, deactivation, lookups."""

# Binding is the one door into the staff role, so its codes are short-lived, single-use and guessed at
# most MAX_FAILURES times an hour per openid: 31 letters ** 8 is about 8.5e11 codes, so a locked-out
# guesser has no practical chance even with many live codes.

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, NoReturn, cast

from tortoise.expressions import F, Q
from tortoise.functions import Count

from bot.models import BindingAttempt, BindingCode, Customer, Staff, StaffRole, Task, TaskStatus
from bot.nlu.phone import parse_mobile
from bot.services import ownership, roles
from bot.services.outbox import atomic, insert_unless_taken

# No 0/O, 1/I/L: codes are read aloud and typed from a screenshot.
CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 8
CODE_TTL: Final = timedelta(hours=24)
MAX_FAILURES: Final = 5
LOCKOUT: Final = timedelta(hours=1)
MAX_NAME: Final = 32


class StaffError(Exception):
    """A staff operation refused for a reason the person asking should be told."""


class NotFound(StaffError):
    def __init__(self, query: str) -> None:
        super().__init__(query)
        self.query = query


class Ambiguous(StaffError):
    """More than one staff member answers to the name: the caller asks which."""

    def __init__(self, query: str, candidates: Sequence[Staff]) -> None:
        super().__init__(query)
        self.query = query
        self.candidates = list(candidates)


class InvalidStaff(StaffError):
    """A name, mobile or employee number that cannot be used; `field` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class MobileTaken(StaffError):
    """An active, bound staff member already has this mobile."""

    def __init__(self, staff: Staff) -> None:
        super().__init__(staff.name)
        self.staff = staff


class EmployeeNoTaken(StaffError):
    def __init__(self, employee_no: str) -> None:
        super().__init__(employee_no)
        self.employee_no = employee_no


class AlreadyBound(StaffError):
    """The openid is already bound to an active staff member."""

    def __init__(self, staff: Staff) -> None:
        super().__init__(staff.name)
        self.staff = staff


class BindingLocked(StaffError):
    def __init__(self, until: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


class CodeInvalid(StaffError):
    """No such code; `remaining` wrong tries are left before binding locks."""

    def __init__(self, remaining: int) -> None:
        super().__init__(str(remaining))
        self.remaining = remaining


class CodeExpired(StaffError):
    pass


class CodeUsed(StaffError):
    pass


class SelfDeactivation(StaffError):
    pass


class AlreadyInactive(StaffError):
    pass


class SuccessorNeeded(StaffError):
    """The staff member still owns customers and no successor (or 平均分配) was named."""

    def __init__(self, customers: int) -> None:
        super().__init__(str(customers))
        self.customers = customers


class NoClerksLeft(StaffError):
    """平均分配 with no other active clerk to take the customers."""


class BadSuccessor(StaffError):
    """The named successor is the person being deactivated."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A staff member and the binding code just issued for them."""

    staff: Staff
    code: BindingCode


@dataclass(frozen=True, slots=True)
class Bound:
    """A successful binding; `previous_openid` was the staff member's account before (to untag)."""

    staff: Staff
    previous_openid: str | None


@dataclass(frozen=True, slots=True)
class Deactivated:
    """A deactivation, where the customers went and where the open tasks went: staff id -> how many."""

    staff: Staff
    moved: dict[int, int]
    tasks: dict[int, int]


@dataclass(frozen=True, slots=True)
class StaffLine:
    staff: Staff
    customers: int


def normalise_code(text: str) -> str:
    """A code as typed ("abcd 2345", full-width, with a dash) in its stored form."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).upper() if ch.isalnum())


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def issue_code(staff: Staff, now: datetime, created_by_id: int | None = None) -> BindingCode:
    """A fresh one-time code for `staff`, valid CODE_TTL; their older unused codes stop working."""
    now = now.astimezone(UTC)
    async with atomic():
        await BindingCode.filter(staff_id=staff.id, used_at__isnull=True).delete()
        while True:
            code = BindingCode(
                code=_new_code(),
                staff_id=staff.id,
                created_by_id=created_by_id,
                created_at=now,
                expires_at=now + CODE_TTL,
            )
            if await insert_unless_taken(code, "code"):
                return code


async def add(
    name: str,
    mobile: str,
    role: StaffRole,
    now: datetime,
    *,
    employee_no: str | None = None,
    created_by_id: int | None = None,
) -> Issued:
    """Create a staff member (or take up the unbound or deactivated record with the same mobile) and issue
    their binding code. Raises InvalidStaff, MobileTaken (an active, bound colleague has it), EmployeeNoTaken."""
    now = now.astimezone(UTC)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidStaff("name")
    parsed = parse_mobile(mobile)
    if parsed is None:
        raise InvalidStaff("mobile")
    employee_no = (employee_no or "").strip() or None
    if employee_no is not None and len(employee_no) > 16:
        raise InvalidStaff("employee_no")
    async with atomic():
        existing = await Staff.filter(mobile=parsed).order_by("-id").first()
        if existing is not None and existing.active and existing.openid is not None:
            raise MobileTaken(existing)
        if employee_no is not None:
            holder = await Staff.get_or_none(employee_no=employee_no)
            if holder is not None and (existing is None or holder.id != existing.id):
                raise EmployeeNoTaken(employee_no)
        if existing is None:
            member = await Staff.create(name=name, mobile=parsed, role=role, employee_no=employee_no, created_at=now)
        else:
            # A record not yet bound, or a colleague who left and comes back: they work again only once the
            # new code binds (bind reactivates), so nothing else changes here.
            existing.name = name
            existing.role = role
            existing.employee_no = employee_no or existing.employee_no
            await existing.save(update_fields=["name", "role", "employee_no"])
            member = existing
        code = await issue_code(member, now, created_by_id)
    return Issued(member, code)


async def find(query: str, *, active_only: bool = True) -> Staff:
    """The staff member named `query`: by exact name, then employee number, then mobile.

    Raises NotFound, or Ambiguous with the candidates when several share the name."""
    text = query.strip().lstrip("@")
    if not text:
        raise NotFound(query)
    base = Staff.filter(active=True) if active_only else Staff.all()
    named = await base.filter(name=text).order_by("id")
    if len(named) == 1:
        return named[0]
    if named:
        raise Ambiguous(text, named)
    by_number = await base.filter(employee_no=text).first()
    if by_number is not None:
        return by_number
    mobile = parse_mobile(text)
    if mobile is not None:
        by_mobile = await base.filter(mobile=mobile).order_by("-active", "-id").first()
        if by_mobile is not None:
            return by_mobile
    raise NotFound(text)


async def bind(openid: str, typed: str, now: datetime) -> Bound:
    """Bind `openid` to the staff member whose code was typed (or scanned).

    Raises AlreadyBound, BindingLocked (too many wrong codes lately), CodeInvalid (one more wrong try
    counted), CodeExpired, CodeUsed. Success clears the openid's wrong tries and reactivates a staff member
    who had been deactivated: a new code is the only way back."""
    now = now.astimezone(UTC)
    bound = await Staff.get_or_none(openid=openid, active=True)
    if bound is not None:
        raise AlreadyBound(bound)
    attempt = await BindingAttempt.get_or_none(openid=openid)
    if attempt is not None and attempt.locked_until is not None and attempt.locked_until > now:
        raise BindingLocked(attempt.locked_until)
    code = normalise_code(typed)
    row = await BindingCode.get_or_none(code=code) if 4 <= len(code) <= 16 else None
    if row is None:
        # Counted outside any transaction of ours, so raising the refusal cannot roll the count back.
        await _count_failure(openid, now)
    if row.used_at is not None:
        raise CodeUsed
    if row.expires_at <= now:
        raise CodeExpired
    async with atomic():
        claimed = await BindingCode.filter(id=row.id, used_at__isnull=True).update(used_at=now, used_by_openid=openid)
        if not claimed:
            raise CodeUsed
        member = await Staff.get(id=row.staff_id)
        previous = member.openid if member.openid != openid else None
        # The same person may still be on a record of theirs that was deactivated: the openid is unique.
        await Staff.filter(openid=openid).exclude(id=member.id).update(openid=None, tagged=False)
        await Staff.filter(id=member.id).update(
            openid=openid, bound_at=now, active=True, deactivated_at=None, tagged=False
        )
        await BindingAttempt.filter(openid=openid).delete()
    roles.invalidate()
    return Bound(await Staff.get(id=member.id), previous)


async def _count_failure(openid: str, now: datetime) -> NoReturn:
    """Count a wrong code for `openid` and raise CodeInvalid, or BindingLocked at the MAX_FAILURES-th."""
    fresh = BindingAttempt(openid=openid, failures=1, first_failed_at=now)
    if not await insert_unless_taken(fresh, "openid"):
        # A count from over an hour ago, or one whose lock has run out, starts again.
        stale = Q(first_failed_at__lte=now - LOCKOUT) | Q(locked_until__lte=now)
        restarted = await BindingAttempt.filter(Q(openid=openid) & stale).update(
            failures=1, first_failed_at=now, locked_until=None
        )
        if not restarted:
            await BindingAttempt.filter(openid=openid).update(failures=F("failures") + 1)
    attempt = await BindingAttempt.get(openid=openid)
    if attempt.failures >= MAX_FAILURES:
        until = now + LOCKOUT
        await BindingAttempt.filter(openid=openid).update(locked_until=until)
        raise BindingLocked(until)
    raise CodeInvalid(MAX_FAILURES - attempt.failures)


async def deactivate(
    member: Staff,
    now: datetime,
    *,
    by: Staff,
    successor: Staff | None = None,
    spread: bool = False,
) -> Deactivated:
    """Deactivate `member`: their openid is a customer's again and their unused codes stop working.

    Customers they own go to `successor`, or round-robin over the other active clerks with `spread`;
    without either, SuccessorNeeded. Also raises SelfDeactivation, AlreadyInactive, BadSuccessor,
    NoClerksLeft. The caller untags the openid in WeChat (best effort)."""
    now = now.astimezone(UTC)
    if member.id == by.id:
        raise SelfDeactivation
    if not member.active:
        raise AlreadyInactive
    if successor is not None and successor.id == member.id:
        raise BadSuccessor
    async with atomic():
        owned = await Customer.filter(owner_id=member.id).count()
        moved: dict[int, int] = {}
        if owned and successor is not None:
            count = await ownership.transfer_all(
                member.id, successor.id, by_staff_id=by.id, now=now, reason=ownership.Reason.HANDOVER
            )
            moved = {successor.id: count} if count else {}
        elif owned and spread:
            clerks = cast(
                list[int],
                await Staff.filter(role=StaffRole.CLERK, active=True)
                .exclude(id=member.id)
                .order_by("id")
                .values_list("id", flat=True),
            )
            if not clerks:
                raise NoClerksLeft
            moved = await ownership.spread(member.id, clerks, by_staff_id=by.id, now=now)
        elif owned:
            raise SuccessorNeeded(owned)
        tasks = await _hand_over_tasks(member.id, successor.id if successor is not None else by.id)
        await Staff.filter(id=member.id).update(active=False, deactivated_at=now)
        await BindingCode.filter(staff_id=member.id, used_at__isnull=True).delete()
    roles.invalidate()
    return Deactivated(await Staff.get(id=member.id), moved, tasks)


async def _hand_over_tasks(member_id: int, fallback_id: int) -> dict[int, int]:
    """The leaver's open tasks: one about a customer goes to that customer's owner (after the customers
    moved, so usually the successor), any other to `fallback_id` (the successor, or the manager, who can
    hand it on). Returns staff id -> how many."""
    rows = await Task.filter(assignee_id=member_id, status=TaskStatus.OPEN).values("id", "customer_id")
    if not rows:
        return {}
    customer_ids = {row["customer_id"] for row in rows if row["customer_id"] is not None}
    active = Customer.filter(id__in=customer_ids, owner__active=True).exclude(owner_id=member_id)
    owners = dict(cast(list[tuple[int, int]], await active.values_list("id", "owner_id"))) if customer_ids else {}
    to: dict[int, list[int]] = {}
    for row in rows:
        to.setdefault(owners.get(row["customer_id"], fallback_id), []).append(row["id"])
    for staff_id, ids in to.items():
        await Task.filter(id__in=ids).update(assignee_id=staff_id)
    return {staff_id: len(ids) for staff_id, ids in to.items()}


async def listing() -> list[StaffLine]:
    """Every staff member, active first, managers first, with how many customers each owns."""
    members = await Staff.all().order_by("-active", "-role", "id")  # managers ("manager" > "clerk") first
    counts = dict(
        cast(
            list[tuple[int, int]],
            await Customer.filter(owner_id__isnull=False)
            .annotate(n=Count("id"))
            .group_by("owner_id")
            .values_list("owner_id", "n"),
        )
    )
    return [StaffLine(m, counts.get(m.id, 0)) for m in members]


async def get(staff_id: int) -> Staff:
    """The staff member with this id (DoesNotExist if none)."""
    return await Staff.get(id=staff_id)


async def names(staff_ids: Iterable[int]) -> dict[int, str]:
    """Staff id -> name for these ids."""
    rows = await Staff.filter(id__in=list(staff_ids)).values_list("id", "name")
    return dict(cast(list[tuple[int, str]], rows))


async def customers_owned(staff_id: int) -> int:
    """How many customers `staff_id` owns."""
    return await Customer.filter(owner_id=staff_id).count()


async def mark_tagged(staff_id: int, tagged: bool) -> None:
    """Record whether WeChat has the staff member's openid under the staff tag."""
    await Staff.filter(id=staff_id).update(tagged=tagged)


async def to_tag() -> list[Staff]:
    """Active, bound staff WeChat does not yet have under the staff tag."""
    return await Staff.filter(active=True, openid__isnull=False, tagged=False).order_by("id")


async def to_untag() -> list[Staff]:
    """Deactivated staff still under the staff tag."""
    return await Staff.filter(active=False, openid__isnull=False, tagged=True).order_by("id")
