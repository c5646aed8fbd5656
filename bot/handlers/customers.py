"""Customers for staff: 查客户, 客户, 新增客户, 修改客户, 跟进 (转移客户 lives with staff ownership)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, tzinfo

from bot import replies
from bot.dialogs import DIALOGS, DialogTurn, register
from bot.dialogs.new_customer import NewCustomerDialog
from bot.handlers.commands import Command
from bot.handlers.turn import HandlerResult, Turn
from bot.models import Appointment, Customer, FollowUp, OwnerChange
from bot.nlu import SERVICE_TYPES
from bot.nlu.phone import mask_mobile
from bot.services import crm, customer_search
from bot.services.booking import format_when
from bot.services.crm import MaintenanceDue
from bot.services.customer_search import PAGE_SIZE, Found, Hit
from bot.services.ids import customer_code, parse_customer_code
from bot.services.roles import STAFF, Speaker

register(NewCustomerDialog())

SERVICE_NAMES = {s.code: s.name for s in SERVICE_TYPES}


def _mobile(speaker: Speaker, mobile: str | None, owner_id: int | None) -> str:
    if not mobile:
        return replies.render("customers.no_mobile")
    return mobile if crm.sees_full_mobile(speaker, owner_id) else mask_mobile(mobile)


def _name(name: str) -> str:
    return name or replies.render("customers.no_name")


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _short_day(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日"


# --- 查客户 ----------------------------------------------------------------------------------------------


def _hit_line(speaker: Speaker, hit: Hit) -> str:
    cars = "、".join(f"{plate} {model}" if model else plate for plate, model in hit.vehicles)
    return replies.render(
        "customers.hit",
        code=customer_code(hit.customer_id),
        name=_name(hit.name),
        mobile=_mobile(speaker, hit.mobile, hit.owner_id),
        vehicles=cars or replies.render("customers.no_vehicle"),
        owner=hit.owner_name or replies.render("customers.no_owner"),
    )


def result_pages(speaker: Speaker, found: Found) -> tuple[str, ...]:
    """The hits five to a page; the first page opens with how many were found."""
    if found.more:
        header = replies.render("customers.found_many", limit=customer_search.LIMIT)
    else:
        header = replies.render("customers.found", count=len(found.hits))
    lines = [_hit_line(speaker, hit) for hit in found.hits]
    pages = ["\n".join(lines[i : i + PAGE_SIZE]) for i in range(0, len(lines), PAGE_SIZE)]
    pages[0] = f"{header}\n{pages[0]}"
    return tuple(pages)


async def find_customer(turn: Turn, arg: str) -> HandlerResult:
    try:
        query = customer_search.classify(arg)
    except customer_search.TooShort:
        return HandlerResult("find_customer", replies.render("customers.search_help"))
    found = await customer_search.search(query)
    if not found.hits:
        return HandlerResult("find_customer", replies.render("customers.none_found", query=arg.strip()))
    return HandlerResult("find_customer", pages=result_pages(turn.speaker, found))


# --- 客户 <id> -------------------------------------------------------------------------------------------


def _due_text(due: MaintenanceDue | None, today: date) -> str:
    if due is None:
        return replies.render("customers.due_unknown")
    if due.day <= today:
        return replies.render("customers.due_overdue", day=_day(due.day))
    if due.by_km:
        return replies.render("customers.due_by_km", day=_day(due.day), km=due.km)
    return replies.render("customers.due_by_time", day=_day(due.day))


def _vehicle_lines(profile: crm.Profile, today: date) -> str:
    if not profile.vehicles:
        return replies.render("customers.no_vehicles")
    lines = []
    for view in profile.vehicles:
        v = view.vehicle
        details = []
        if v.vin:
            details.append(replies.render("customers.vehicle_vin", vin=v.vin))
        if v.purchase_date:
            details.append(replies.render("customers.vehicle_bought", day=_day(v.purchase_date)))
        if v.mileage is not None:
            details.append(replies.render("customers.vehicle_mileage", km=v.mileage))
        lines.append(
            replies.render(
                "customers.vehicle_line",
                plate=v.plate,
                model=v.model or "",
                details="，".join(details) or replies.render("customers.vehicle_no_details"),
                due=_due_text(view.due, today),
            )
        )
    return replies.render("customers.section_vehicles", lines="\n".join(lines))


def _visit_lines(profile: crm.Profile, tz: tzinfo) -> str:
    if not profile.visits:
        return replies.render("customers.no_visits")
    lines = [_visit_line(profile, a, tz) for a in profile.visits]
    return replies.render("customers.section_visits", lines="\n".join(lines))


def _visit_line(profile: crm.Profile, a: Appointment, tz: tzinfo) -> str:
    mileage = replies.render("customers.visit_mileage", km=a.mileage) if a.mileage is not None else ""
    return replies.render(
        "customers.visit_line",
        when=format_when(a.start_at, tz),
        service=SERVICE_NAMES.get(a.service, a.service),
        plate=profile.plates.get(a.vehicle_id, ""),
        mileage=mileage,
    )


def _upcoming_lines(profile: crm.Profile, tz: tzinfo) -> str:
    if not profile.upcoming:
        return replies.render("customers.no_upcoming")
    lines = [
        replies.render(
            "customers.upcoming_line",
            when=format_when(a.start_at, tz),
            service=SERVICE_NAMES.get(a.service, a.service),
            plate=profile.plates.get(a.vehicle_id, ""),
            reference=a.reference,
            status=replies.render(f"customers.status_{a.status.value}"),
        )
        for a in profile.upcoming
    ]
    return replies.render("customers.section_upcoming", lines="\n".join(lines))


def _follow_up_line(profile: crm.Profile, f: FollowUp, tz: tzinfo) -> str:
    result = replies.render("customers.follow_up_result", result=f.result) if f.result else ""
    following = replies.render("customers.follow_up_next", when=format_when(f.next_at, tz)) if f.next_at else ""
    return replies.render(
        "customers.follow_up_line",
        day=_short_day(f.created_at, tz),
        staff=profile.staff_names.get(f.staff_id or 0, ""),
        method=replies.render(f"customers.method_{f.method.value}"),
        content=f.content,
        result=result,
        next=following,
    )


def _owner_line(profile: crm.Profile, change: OwnerChange, tz: tzinfo) -> str:
    nobody = replies.render("customers.owner_nobody")
    names = profile.staff_names
    by = names.get(change.by_staff_id or 0)
    return replies.render(
        "customers.owner_line",
        day=_day(change.at.astimezone(tz).date()),
        from_name=names.get(change.from_staff_id or 0, nobody),
        to_name=names.get(change.to_staff_id or 0, nobody),
        reason=change.reason,
        by=replies.render("customers.owner_by", name=by) if by else "",
    )


def profile_text(speaker: Speaker, profile: crm.Profile, now: datetime, tz: tzinfo) -> str:
    """客户 <id>: the record, cars with their next maintenance, visits, appointments, follow-ups, owners."""
    c = profile.customer
    sections = [
        _vehicle_lines(profile, now.astimezone(tz).date()),
        _visit_lines(profile, tz),
        _upcoming_lines(profile, tz),
    ]
    if profile.follow_ups:
        lines = "\n".join(_follow_up_line(profile, f, tz) for f in profile.follow_ups)
        sections.append(replies.render("customers.section_follow_ups", lines=lines))
    else:
        sections.append(replies.render("customers.no_follow_ups"))
    if profile.owner_changes:
        lines = "\n".join(_owner_line(profile, ch, tz) for ch in profile.owner_changes)
        sections.append(replies.render("customers.section_owners", lines=lines))
    return replies.render(
        "customers.profile",
        code=customer_code(c.id),
        name=_name(c.name),
        mobile=_mobile(speaker, c.mobile, c.owner_id),
        owner=profile.owner_name or replies.render("customers.no_owner"),
        note=replies.render("customers.profile_note", note=c.note) if c.note else "",
        sections="\n".join(sections),
    )


async def customer_profile(turn: Turn, arg: str) -> HandlerResult:
    customer_id = parse_customer_code(arg)
    if customer_id is None:
        return HandlerResult("customer_profile", replies.render("customers.profile_usage"))
    profile = await crm.profile(customer_id, turn.now, turn.settings.tz)
    if profile is None:
        return HandlerResult("customer_profile", replies.render("customers.not_found", code=customer_code(customer_id)))
    return HandlerResult("customer_profile", profile_text(turn.speaker, profile, turn.now, turn.settings.tz))


# --- 新增客户 --------------------------------------------------------------------------------------------


async def new_customer(turn: Turn, arg: str) -> HandlerResult:
    assert turn.session is not None
    dturn = DialogTurn(turn.msg.openid, arg, turn.now, turn.settings, turn.session, speaker=turn.speaker)
    await DIALOGS[NewCustomerDialog.name].begin(dturn)
    return HandlerResult(NewCustomerDialog.name, "\n".join(dturn.out))


# --- 修改客户 / 跟进: both change a customer the speaker must own (or be a manager) ------------------------


async def _target(turn: Turn, arg: str, handler: str, usage: str) -> tuple[Customer, str] | HandlerResult:
    """The customer named first in `arg` and the rest of the text, or the reply that refuses."""
    head, _, rest = unicodedata.normalize("NFKC", arg).strip().partition(" ")
    customer_id = parse_customer_code(head)
    if customer_id is None or not rest.strip():
        return HandlerResult(handler, replies.render(usage))
    customer = await crm.get_customer(customer_id)
    if customer is None:
        return HandlerResult(handler, replies.render("customers.not_found", code=customer_code(customer_id)))
    if not crm.may_change(turn.speaker, customer):
        owner = await crm.staff_name(customer.owner_id)
        return HandlerResult(handler, replies.render("customers.not_yours", owner=owner))
    return customer, rest.strip()


_FIELD_WORDS = sorted(crm.EDIT_FIELDS, key=len, reverse=True)


async def edit_customer(turn: Turn, arg: str) -> HandlerResult:
    target = await _target(turn, arg, "edit_customer", "customers.edit_usage")
    if isinstance(target, HandlerResult):
        return target
    customer, rest = target
    word = next((w for w in _FIELD_WORDS if rest.lower().startswith(w)), None)
    if word is None:
        return HandlerResult("edit_customer", replies.render("customers.edit_usage"))
    field = crm.EDIT_FIELDS[word]
    try:
        edited = await crm.edit_customer(
            customer, field, rest[len(word) :].strip(" ：:"), now=turn.now, tz=turn.settings.tz
        )
    except crm.BadValue as bad:
        return HandlerResult("edit_customer", replies.render(bad.key))
    except crm.Duplicate as found:
        return HandlerResult(
            "edit_customer",
            replies.render(
                "customers.edit_duplicate",
                what=replies.render(f"new_customer.field_{found.field}"),
                code=customer_code(found.customer.id),
                name=_name(found.customer.name),
                owner=found.owner_name or replies.render("customers.no_owner"),
            ),
        )
    label = replies.render(f"customers.label_{edited.field}")
    code, name = customer_code(customer.id), _name(customer.name)
    if edited.plate is not None and edited.field != "plate":
        text = replies.render(
            "customers.edited_vehicle", code=code, name=name, plate=edited.plate, label=label, value=edited.shown
        )
    else:
        text = replies.render("customers.edited", code=code, name=name, label=label, value=edited.shown)
    return HandlerResult("edit_customer", text)


_SPACES = re.compile(r"\s+")


async def follow_up(turn: Turn, arg: str) -> HandlerResult:
    target = await _target(turn, arg, "follow_up", "customers.follow_up_usage")
    if isinstance(target, HandlerResult):
        return target
    customer, rest = target
    note = crm.read_follow_up(_SPACES.sub(" ", rest))
    if not note.content:
        return HandlerResult("follow_up", replies.render("customers.follow_up_usage"))
    next_at = None
    if note.next_text:
        try:
            next_at = crm.read_next_at(note.next_text, turn.now, turn.settings.tz)
        except crm.PastFollowUpDate:
            return HandlerResult("follow_up", replies.render("customers.follow_up_past_next"))
        if next_at is None:
            return HandlerResult("follow_up", replies.render("customers.follow_up_bad_next"))
    await crm.log_follow_up(customer, turn.speaker.staff_id, note, next_at=next_at, now=turn.now)
    result = ""
    if not note.reached:
        result = replies.render("customers.follow_up_not_reached")
    elif note.result:
        result = replies.render("customers.follow_up_result_short", result=note.result)
    params = {
        "code": customer_code(customer.id),
        "name": _name(customer.name),
        "method": replies.render(f"customers.method_{note.method.value}"),
        "result": result,
    }
    if next_at is None:
        return HandlerResult("follow_up", replies.render("customers.follow_up_done", **params))
    when = format_when(next_at, turn.settings.tz)
    return HandlerResult("follow_up", replies.render("customers.follow_up_done_next", when=when, **params))


COMMANDS: tuple[Command, ...] = (
    Command(
        "find_customer",
        ("查客户", "找客户", "搜客户"),
        find_customer,
        STAFF,
        "customers.help_find",
        arg=True,
    ),
    Command("customer_profile", ("客户",), customer_profile, STAFF, "customers.help_profile", arg=True),
    Command("new_customer", ("新增客户", "添加客户"), new_customer, STAFF, "customers.help_new", arg=True),
    Command("edit_customer", ("修改客户",), edit_customer, STAFF, "customers.help_edit", arg=True, writes=True),
    Command("follow_up", ("跟进",), follow_up, STAFF, "customers.help_follow_up", arg=True, writes=True),
)
