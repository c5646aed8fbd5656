"""Staff accounts: 绑定, 邀请店员, 停用店员, 店员 (list), 转移客户, 转移全部客户, and the bind:<code> QR scene."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Final

from bot import replies
from bot.handlers.commands import Command
from bot.handlers.turn import HandlerResult, SceneHandler, Turn
from bot.models import Staff, StaffRole
from bot.nlu.phone import MOBILE_RE, mask_mobile, parse_mobile
from bot.nlu.text import normalize
from bot.services import ids, menus, ownership, roles, staff, tasks
from bot.services.booking import format_when
from bot.services.outbox import atomic
from bot.services.ownership import OwnerEntry
from bot.services.roles import EVERYONE, MANAGERS
from bot.wechat.errors import WeChatAPIError

log = logging.getLogger(__name__)

# A WeChat call made inside a turn (a binding QR code, the staff tag) may use this much of the ~4 s reply
# budget; past it the call is dropped: the QR code is only a convenience next to the typed code, and a
# missed tag is put right by `menu sync`.
API_BUDGET: Final = 2.0
QR_SECONDS: Final = int(staff.CODE_TTL.total_seconds())
PAGE_SIZE: Final = 5

ROLE_KEYS: Final = {StaffRole.MANAGER: "staff.role_manager", StaffRole.CLERK: "staff.role_clerk"}
REASON_KEYS: Final = {
    ownership.Reason.TRANSFER: "staff.reason_transfer",
    ownership.Reason.TRANSFER_ALL: "staff.reason_transfer_all",
    ownership.Reason.HANDOVER: "staff.reason_handover",
    ownership.Reason.SPREAD: "staff.reason_spread",
}
# "停用店员 张三 交接给 李四": the words that introduce the successor.
HANDOVER_RE: Final = re.compile(r"\s*(?:交接给|移交给|转交给|交给|转给)\s*")
SPREAD_WORDS: Final = ("平均分配", "平均分给", "平分")
# "转移全部客户 张三 给 李四", "转移客户 C1024 给 李四": words people put before the one taking over.
TO_WORDS: Final = ("->", "→", "转给", "交给", "给", "到")
TO_RE: Final = re.compile(r"\s*(?:->|→|转给|交给|给|到)\s*")


def role_name(role: StaffRole) -> str:
    return replies.render(ROLE_KEYS[role])


def owner_history_lines(entries: Sequence[OwnerEntry], tz: tzinfo) -> list[str]:
    """A customer's ownership history as 客户 <id> shows it, one line per change, newest first."""
    lines = []
    for entry in entries:
        params = {
            "at": f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M}",
            "from_name": entry.from_name or replies.render("staff.nobody"),
            "to_name": entry.to_name or replies.render("staff.nobody"),
            "reason": replies.render(REASON_KEYS[ownership.Reason(entry.reason)])
            if entry.reason in REASON_KEYS
            else entry.reason,
        }
        if entry.by_name:
            lines.append(replies.render("staff.owner_change_by", by_name=entry.by_name, **params))
        else:
            lines.append(replies.render("staff.owner_change", **params))
    return lines


# --- WeChat calls made within a turn -------------------------------------------------------------------


async def _set_tag(turn: Turn, openid: str, *, add: bool) -> bool:
    """Put `openid` under the staff tag (or take it off); False when WeChat was unreachable or too slow."""
    api = turn.api
    if api is None:
        return False

    async def call() -> None:
        tag_id = await api.tag_id(menus.STAFF_TAG)
        if add:
            await api.tag_users(tag_id, [openid])
        else:
            await api.untag_users(tag_id, [openid])

    try:
        await asyncio.wait_for(call(), API_BUDGET)
    except (WeChatAPIError, TimeoutError) as exc:
        log.warning("staff tag not %s (menu sync will retry): %s", "added" if add else "removed", exc)
        return False
    return True


async def _bind_qr(turn: Turn, code: str) -> str | None:
    """The image URL of a temporary QR code whose scan binds with `code`; None if WeChat could not make one."""
    api = turn.api
    if api is None:
        return None
    try:
        qr = await asyncio.wait_for(api.create_qrcode(f"bind:{code}", expire_seconds=QR_SECONDS), API_BUDGET)
    except (WeChatAPIError, TimeoutError) as exc:
        log.warning("binding QR code not created: %s", exc)
        return None
    return api.qrcode_image_url(qr.ticket)


# --- binding --------------------------------------------------------------------------------------------


def _until(moment: datetime, turn: Turn) -> str:
    return format_when(moment, turn.settings.tz)


async def _bind_with(turn: Turn, code: str, handler: str) -> HandlerResult:
    openid = turn.msg.openid
    try:
        bound = await staff.bind(openid, code, turn.now)
    except staff.AlreadyBound as exc:
        text = replies.render("staff.already_bound", role=role_name(exc.staff.role), name=exc.staff.name)
        return HandlerResult(handler, text)
    except staff.BindingLocked as exc:
        return HandlerResult(handler, replies.render("staff.bind_locked", until=_until(exc.until, turn)))
    except staff.CodeInvalid as exc:
        return HandlerResult(handler, replies.render("staff.code_invalid", remaining=exc.remaining))
    except staff.CodeExpired:
        return HandlerResult(handler, replies.render("staff.code_expired"))
    except staff.CodeUsed:
        return HandlerResult(handler, replies.render("staff.code_used"))
    member = bound.staff
    log.info("staff %s bound a WeChat account", member.id)
    if bound.previous_openid is not None:
        await _set_tag(turn, bound.previous_openid, add=False)
    if await _set_tag(turn, openid, add=True):
        await staff.mark_tagged(member.id, True)
    text = replies.render("staff.bound", name=member.name, role=role_name(member.role), store=turn.settings.store_name)
    return HandlerResult(handler, text)


async def _bind(turn: Turn, arg: str) -> HandlerResult:
    if not staff.normalise_code(arg):
        return HandlerResult("bind", replies.render("staff.bind_usage"))
    return await _bind_with(turn, arg, "bind")


async def _bind_scene(turn: Turn, code: str) -> HandlerResult:
    return await _bind_with(turn, code, "bind_scan")


# --- inviting, listing, deactivating --------------------------------------------------------------------


def _parse_invite(arg: str) -> tuple[str, str, StaffRole] | None:
    """(name, mobile, role) from "张三 13800001111 [店长]"; None when the name or mobile is missing."""
    text = normalize(arg)
    mobile = parse_mobile(text)
    if mobile is None:
        return None
    words = MOBILE_RE.sub(" ", text).split()
    role = StaffRole.MANAGER if "店长" in words else StaffRole.CLERK
    name = " ".join(w for w in words if w not in ("店长", "顾问", "店员"))
    return (name, mobile, role) if name else None


def invalid_text(exc: staff.InvalidStaff) -> str:
    return replies.render(f"staff.invalid_{exc.field}")


async def _invite(turn: Turn, arg: str) -> HandlerResult:
    parsed = _parse_invite(arg)
    if parsed is None:
        return HandlerResult("invite_staff", replies.render("staff.invite_usage"))
    name, mobile, role = parsed
    try:
        issued = await staff.add(name, mobile, role, turn.now, created_by_id=turn.speaker.staff_id)
    except staff.InvalidStaff as exc:
        return HandlerResult("invite_staff", invalid_text(exc))
    except staff.MobileTaken as exc:
        text = replies.render("staff.mobile_taken", name=exc.staff.name, mobile=exc.staff.mobile)
        return HandlerResult("invite_staff", text)
    except staff.EmployeeNoTaken as exc:
        return HandlerResult("invite_staff", replies.render("staff.employee_no_taken", employee_no=exc.employee_no))
    code = issued.code.code
    qr_url = await _bind_qr(turn, code)
    params = {
        "role": role_name(issued.staff.role),
        "name": issued.staff.name,
        "mobile": issued.staff.mobile,
        "code": code,
        "expires": _until(issued.code.expires_at, turn),
    }
    if qr_url is None:
        return HandlerResult("invite_staff", replies.render("staff.invited_no_qr", **params))
    return HandlerResult("invite_staff", replies.render("staff.invited", qr_url=qr_url, **params))


def ambiguous_text(exc: staff.Ambiguous) -> str:
    """Which one? The candidates by name, masked mobile and employee number."""
    lines = "\n".join(
        replies.render(
            "staff.candidate",
            name=m.name,
            mobile=mask_mobile(m.mobile),
            employee_no=m.employee_no or replies.render("staff.no_employee_no"),
        )
        for m in exc.candidates
    )
    return replies.render("staff.ambiguous", count=len(exc.candidates), query=exc.query, lines=lines)


async def _find(query: str, *, active_only: bool = True) -> Staff | str:
    """The staff member, or the reply that says why there is none (not found, or which one?)."""
    try:
        return await staff.find(query, active_only=active_only)
    except staff.Ambiguous as exc:
        return ambiguous_text(exc)
    except staff.NotFound as exc:
        return replies.render("staff.not_found", query=exc.query)


def _parse_deactivate(arg: str) -> tuple[str, str | None, bool]:
    """(name, successor name or None, spread) from "张三 交接给 李四" / "张三 平均分配" / "张三"."""
    text = normalize(arg).strip()
    parts = HANDOVER_RE.split(text, maxsplit=1)
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip() or None, False
    for word in SPREAD_WORDS:
        if text.endswith(word):
            return text.removesuffix(word).strip(), None, True
    return text, None, False


async def _deactivate(turn: Turn, arg: str) -> HandlerResult:
    name, successor_name, spread = _parse_deactivate(arg)
    if not name:
        return HandlerResult("deactivate_staff", replies.render("staff.deactivate_usage"))
    member = await _find(name)
    if isinstance(member, str):
        return HandlerResult("deactivate_staff", member)
    successor: Staff | None = None
    if successor_name is not None:
        found = await _find(successor_name)
        if isinstance(found, str):
            return HandlerResult("deactivate_staff", found)
        successor = found
    assert turn.speaker.staff_id is not None  # the table lets managers only through
    manager = await staff.get(turn.speaker.staff_id)
    try:
        async with atomic():  # the leaver's tasks move and their new assignees are told, or neither
            done = await staff.deactivate(member, turn.now, by=manager, successor=successor, spread=spread)
            await _tell_new_assignees(turn, member, done.tasks, manager)
    except staff.SuccessorNeeded as exc:
        text = replies.render("staff.successor_needed", name=member.name, count=exc.customers)
        return HandlerResult("deactivate_staff", text)
    except staff.SelfDeactivation:
        return HandlerResult("deactivate_staff", replies.render("staff.self_deactivation"))
    except staff.AlreadyInactive:
        return HandlerResult("deactivate_staff", replies.render("staff.already_inactive", name=member.name))
    except staff.NoClerksLeft:
        return HandlerResult("deactivate_staff", replies.render("staff.no_clerks_left"))
    except staff.BadSuccessor:
        return HandlerResult("deactivate_staff", replies.render("staff.bad_successor"))
    roles.invalidate()  # again, now that it is committed (a read in between may have cached the old role)
    log.info("staff %s deactivated by %s", member.id, manager.id)
    if member.openid is not None and await _set_tag(turn, member.openid, add=False):
        await staff.mark_tagged(member.id, False)
    text = replies.render(
        "staff.deactivated", role=role_name(member.role), name=member.name, moved=await _moved(done.moved, successor)
    )
    text += await _tasks_moved(done.tasks)
    return HandlerResult("deactivate_staff", text)


async def _tell_new_assignees(turn: Turn, member: Staff, moved: dict[int, int], manager: Staff) -> None:
    """Each staff member but the manager (who reads it in the reply) hears of the leaver's tasks they got."""
    for staff_id, count in moved.items():
        if staff_id != manager.id:
            notice = replies.render("staff.tasks_handed_over", name=member.name, count=count)
            await tasks.tell(staff_id, notice, turn.now, f"handover:{member.id}:{staff_id}:{turn.now.timestamp():.0f}")


async def _tasks_moved(moved: dict[int, int]) -> str:
    """Where the leaver's open tasks went, for the manager's reply."""
    if not moved:
        return ""
    names = await staff.names(moved)
    parts = "，".join(
        replies.render("staff.tasks_part", name=names[staff_id], count=count) for staff_id, count in moved.items()
    )
    return replies.render("staff.tasks_moved", count=sum(moved.values()), parts=parts)


async def _moved(moved: dict[int, int], successor: Staff | None) -> str:
    total = sum(moved.values())
    if not total:
        return ""
    if successor is not None:
        return replies.render("staff.moved_to", count=total, to_name=successor.name)
    names = await staff.names(moved)
    parts = "，".join(
        replies.render("staff.moved_part", name=names[staff_id], count=count) for staff_id, count in moved.items()
    )
    return replies.render("staff.moved_spread", count=total, parts=parts)


def _state(member: Staff) -> str:
    if not member.active:
        return replies.render("staff.state_inactive")
    return replies.render("staff.state_bound" if member.openid else "staff.state_unbound")


def staff_lines(listing: Sequence[staff.StaffLine]) -> list[str]:
    """One numbered line per staff member: name, role, employee number, mobile, state, customers owned."""
    return [
        replies.render(
            "staff.list_line",
            n=n,
            name=line.staff.name,
            role=role_name(line.staff.role),
            employee_no=line.staff.employee_no or replies.render("staff.no_employee_no"),
            mobile=line.staff.mobile,
            state=_state(line.staff),
            customers=line.customers,
        )
        for n, line in enumerate(listing, start=1)
    ]


async def _list(turn: Turn, arg: str) -> HandlerResult:
    lines = staff_lines(await staff.listing())
    header = replies.render("staff.list_header", count=len(lines))
    pages = tuple("\n".join([header, *lines[start : start + PAGE_SIZE]]) for start in range(0, len(lines), PAGE_SIZE))
    if len(pages) <= 1:
        return HandlerResult("list_staff", "\n".join([header, *lines]))
    return HandlerResult("list_staff", pages=pages)


# --- ownership transfers --------------------------------------------------------------------------------


async def _transfer(turn: Turn, arg: str) -> HandlerResult:
    parts = normalize(arg).split(None, 1)
    customer_id = ids.parse_customer_code(parts[0]) if parts else None
    if customer_id is None or len(parts) < 2:
        return HandlerResult("transfer_customer", replies.render("staff.transfer_usage"))
    target = await _find(TO_RE.sub("", parts[1], count=1) if TO_RE.match(parts[1]) else parts[1])
    if isinstance(target, str):
        return HandlerResult("transfer_customer", target)
    code = ids.customer_code(customer_id)
    try:
        moved = await ownership.transfer(customer_id, target.id, by_staff_id=turn.speaker.staff_id, now=turn.now)
    except ownership.CustomerNotFound:
        return HandlerResult("transfer_customer", replies.render("staff.customer_not_found", code=code))
    except ownership.SameOwner as exc:
        text = replies.render("staff.same_owner", code=code, customer=exc.customer.name, name=target.name)
        return HandlerResult("transfer_customer", text)
    text = replies.render(
        "staff.transferred",
        code=code,
        customer=moved.customer.name,
        from_name=moved.from_name or replies.render("staff.nobody"),
        to_name=target.name,
    )
    return HandlerResult("transfer_customer", text)


async def _transfer_all(turn: Turn, arg: str) -> HandlerResult:
    names = [word for word in normalize(arg).split() if word not in TO_WORDS]
    if len(names) == 1:  # "张三给李四"
        names = [name for name in TO_RE.split(names[0], maxsplit=1) if name]
    if len(names) != 2:
        return HandlerResult("transfer_all_customers", replies.render("staff.transfer_all_usage"))
    source = await _find(names[0], active_only=False)
    if isinstance(source, str):
        return HandlerResult("transfer_all_customers", source)
    target = await _find(names[1])
    if isinstance(target, str):
        return HandlerResult("transfer_all_customers", target)
    if source.id == target.id:
        return HandlerResult("transfer_all_customers", replies.render("staff.same_staff"))
    count = await ownership.transfer_all(source.id, target.id, by_staff_id=turn.speaker.staff_id, now=turn.now)
    if not count:
        return HandlerResult("transfer_all_customers", replies.render("staff.nothing_to_transfer", name=source.name))
    text = replies.render("staff.transferred_all", from_name=source.name, count=count, to_name=target.name)
    return HandlerResult("transfer_all_customers", text)


# 绑定, 邀请店员 and 停用店员 leave the dialog session alone and their services commit on their own, so they
# are not `writes`: the WeChat calls that follow (QR code, staff tag) then run after the commit, and never
# hold a transaction (SQLite's single writer) open while waiting on WeChat.
COMMANDS: tuple[Command, ...] = (
    # No help line: the invitation explains it, and customers need not see it.
    Command("bind", ("绑定", "绑定员工", "员工绑定"), _bind, EVERYONE, arg=True),
    Command(
        "invite_staff",
        ("邀请店员", "邀请员工", "添加店员", "新增店员"),
        _invite,
        MANAGERS,
        "staff.help_invite",
        arg=True,
    ),
    Command(
        "deactivate_staff",
        ("停用店员", "停用员工", "删除店员"),
        _deactivate,
        MANAGERS,
        "staff.help_deactivate",
        arg=True,
    ),
    Command("list_staff", ("店员", "员工", "店员列表", "员工列表"), _list, MANAGERS, "staff.help_list"),
    Command(
        "transfer_customer",
        ("转移客户", "客户转移"),
        _transfer,
        MANAGERS,
        "staff.help_transfer",
        arg=True,
        writes=True,
    ),
    Command(
        "transfer_all_customers",
        ("转移全部客户", "转移所有客户"),
        _transfer_all,
        MANAGERS,
        "staff.help_transfer_all",
        arg=True,
        writes=True,
    ),
)

# Menu CLICK keys of the staff menu -> command names.
CLICK_KEYS: dict[str, str] = {
    menus.STAFF_TODAY: "today_appointments",
    menus.STAFF_TOMORROW: "tomorrow_appointments",
    menus.STAFF_TASKS: "my_tasks",
    menus.STAFF_CUSTOMERS: "find_customer",
    menus.STAFF_REPORT: "report",
    menus.STAFF_HELP: "help",
}

# QR scene prefixes -> handlers ("bind" handles "bind:<code>").
SCENES: dict[str, SceneHandler] = {"bind": _bind_scene}
