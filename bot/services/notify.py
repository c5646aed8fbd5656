"""Template messages: the kinds, their configured WeChat templates, rendering within WeChat's limits, queueing.

Every function here only writes outbox rows, in the caller's transaction, so a message exists exactly
when the change that caused it committed. Each row's dedupe key names the appointment and the event, so
running the same step twice never queues a message twice.

Which template a kind uses is decided when the row is queued (`configure` at start-up, from settings).
A kind with no template is queued with its named values and no template id; the dispatcher decides at
send time, when the 48-hour customer-service window is known exactly, whether it goes out as a text
(`fallback_text`) or is recorded as undeliverable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

from bot import replies
from bot.models import Appointment, Customer, OutboxKind, OutboxMessage, Vehicle
from bot.services import outbox, roles, schedule
from bot.settings import Settings, SettingsError

# WeChat refuses a template value over 20 characters; some keyword types allow fewer.
VALUE_MAX: Final = 20
TYPE_MAX: Final[Mapping[str, int]] = {"phrase": 5, "car_number": 8}
ELLIPSIS: Final = "…"
NO_VALUE: Final = "-"  # WeChat refuses empty values


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A WeChat template: its id and which of our values fills each of its keyword fields."""

    template_id: str
    # WeChat field key (thing2, time3, ...) -> value name (see `values` below)
    fields: Mapping[str, str]


# Kind -> template. Value names: reference, service, time, previous_time, plate, customer, mobile, item
# (service and plate), change (已改约 / 已取消), reason (who cancelled). The ids are the sandbox's and the
# defaults in sandbox mode; a real account's ids and field keys come from settings (BOT_TEMPLATE_<KIND>).
TEMPLATES: Final[dict[str, TemplateSpec]] = {
    "appointment_confirmed": TemplateSpec(
        "TPL_APPT_CONFIRMED",
        {"character_string1": "reference", "thing2": "service", "time3": "time", "car_number4": "plate"},
    ),
    "appointment_changed": TemplateSpec(
        "TPL_APPT_CHANGED",
        {
            "character_string1": "reference",
            "thing2": "service",
            "time3": "time",
            "time4": "previous_time",
            "car_number5": "plate",
        },
    ),
    "appointment_cancelled": TemplateSpec(
        "TPL_APPT_CANCELLED",
        {
            "character_string1": "reference",
            "thing2": "service",
            "time3": "time",
            "car_number4": "plate",
            "thing5": "reason",
        },
    ),
    "new_appointment": TemplateSpec(
        "TPL_NEW_APPOINTMENT",
        {
            "character_string1": "reference",
            "thing2": "customer",
            "phone_number3": "mobile",
            "thing4": "item",
            "time5": "time",
        },
    ),
    "task_assigned": TemplateSpec(
        "TPL_TASK_ASSIGNED",
        {"thing1": "task", "time2": "due", "thing3": "customer", "thing4": "assigner"},
    ),
    "appointment_reminder": TemplateSpec(
        "TPL_APPT_REMINDER",
        {"character_string1": "reference", "thing2": "service", "time3": "time", "car_number4": "plate"},
    ),
    "task_due": TemplateSpec(
        "TPL_TASK_DUE",
        {"thing1": "task", "time2": "due", "phrase3": "state", "thing4": "customer"},
    ),
    "maintenance_due": TemplateSpec(
        "TPL_MAINTENANCE_DUE",
        {"car_number1": "plate", "time2": "due", "thing3": "reason"},
    ),
    "follow_up_due": TemplateSpec(
        "TPL_FOLLOW_UP_DUE",
        {"number1": "count", "thing2": "customers", "time3": "day"},
    ),
    "daily_digest": TemplateSpec(
        "TPL_DAILY_DIGEST",
        {"time1": "day", "number2": "appointments", "number3": "overdue_tasks", "number4": "no_shows"},
    ),
    "appointment_changed_staff": TemplateSpec(
        "TPL_APPT_CHANGED_STAFF",
        {
            "character_string1": "reference",
            "thing2": "customer",
            "phrase3": "change",
            "time4": "time",
            "thing5": "item",
        },
    ),
}


# The templates in use, set from settings by `configure`; the sandbox's until then (tests, tools).
_active: dict[str, TemplateSpec] = dict(TEMPLATES)

# Example values for `python -m bot templates check`: what each value name looks like in real use.
EXAMPLE_VALUES: Final[Mapping[str, str]] = {
    "reference": "A20261129001",
    "service": "常规保养",
    "time": "11月29日 15:00",
    "previous_time": "11月28日 10:00",
    "plate": "粤A12345",
    "customer": "李四",
    "mobile": "13800001111",
    "item": "常规保养 粤A12345",
    "change": "已改约",
    "reason": "已按您的要求取消",
    "task": "回访客户保养满意度",
    "due": "11月30日 18:00",
    "assigner": "王店长",
    "state": "已逾期",
    "count": "6",
    "customers": "李四、王五、赵六等6位",
    "day": "11月29日",
    "appointments": "12",
    "overdue_tasks": "3",
    "no_shows": "1",
}


def configure(settings: Settings) -> dict[str, TemplateSpec]:
    """Use the templates `settings` names: in sandbox mode the emulator's specs overridden by settings, in
    production only what settings configure (the other kinds fall back). Returns the templates in use."""
    configured = dict(TEMPLATES) if settings.sandbox else {}
    for kind, config in settings.templates.items():
        if kind not in TEMPLATES:
            raise SettingsError(f"BOT_TEMPLATE_{kind.upper()}: no such message kind ({', '.join(TEMPLATES)})")
        known = set(TEMPLATES[kind].fields.values())
        unknown = [name for _, name in config.fields if name not in known]
        if unknown:
            raise SettingsError(
                f"BOT_TEMPLATE_{kind.upper()}: {', '.join(unknown)} not among {', '.join(sorted(known))}"
            )
        configured[kind] = TemplateSpec(config.template_id, dict(config.fields))
    _active.clear()
    _active.update(configured)
    return dict(_active)


def spec_for(kind: str) -> TemplateSpec | None:
    """The template `kind` is sent with, or None when none is configured (it falls back at send time)."""
    return _active.get(kind)


def value_names(kind: str) -> tuple[str, ...]:
    """The named values a message of `kind` carries (whatever template it is configured with)."""
    return tuple(TEMPLATES[kind].fields.values())


def fallback_text(kind: str, values: Mapping[str, str]) -> str:
    """The customer-service text that stands in for an unconfigured template of `kind`."""
    params = {name: " ".join(values.get(name, "").split()) or NO_VALUE for name in value_names(kind)}
    return replies.render(f"notify.{kind}", **params)


def clip(value: str, limit: int = VALUE_MAX) -> str:
    """`value` within `limit` characters, cut with "…" when longer; never empty."""
    value = " ".join(value.split()) or NO_VALUE
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def render(kind: str, values: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """The template id and field data for `kind`, each value clipped to its keyword type's limit;
    (None, {}) when no template is configured for `kind`."""
    spec = _active.get(kind)
    if spec is None:
        return None, {}
    data = {}
    for key, name in spec.fields.items():
        keyword_type = key.rstrip("0123456789")
        data[key] = clip(values.get(name, ""), min(VALUE_MAX, TYPE_MAX.get(keyword_type, VALUE_MAX)))
    return spec.template_id, data


def template_time(moment: datetime, tz: ZoneInfo) -> str:
    """A time as template messages show it: "11月29日 15:00" (the year is obvious and costs characters)."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


async def send(
    kind: str,
    openid: str,
    values: Mapping[str, str],
    *,
    now: datetime,
    dedupe_key: str,
    not_before: datetime | None = None,
    url: str | None = None,
) -> OutboxMessage:
    """Queue the template of `kind` to `openid`, sent from `not_before` (quiet hours) or at once; a second
    call with the same `dedupe_key` queues nothing and returns the first row. The named `values` travel
    with the row, so an unconfigured kind can still go out as a customer-service text."""
    message = Outgoing(kind, openid, values, dedupe_key, not_before=not_before, url=url)
    return (await queue([message], now=now))[0]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One template message for `send_many`: the arguments of `send`."""

    kind: str
    openid: str
    values: Mapping[str, str]
    dedupe_key: str
    not_before: datetime | None = None
    url: str | None = None


def _payload(kind: str, values: Mapping[str, str], url: str | None) -> dict[str, Any]:
    template_id, data = render(kind, values)
    named = {name: values.get(name, "") for name in value_names(kind)}
    return outbox.template_payload(template_id, data, url, named)


async def send_many(messages: Sequence[Outgoing], *, now: datetime) -> list[OutboxMessage]:
    """`send` for many messages in a few multi-row statements (a scheduler pass queues thousands): the rows
    queued, in order; a dedupe key already queued is skipped. Atomic when called inside a transaction."""
    return cast(list[OutboxMessage], await outbox.insert_many_unless_taken(rows_of(messages, now=now), "dedupe_key"))


async def queue(messages: Sequence[Outgoing], *, now: datetime) -> list[OutboxMessage]:
    """`send_many`, returning each message's row: the one just queued, or the one queued first under its key."""
    queued = {row.dedupe_key: row for row in await send_many(messages, now=now)}
    missing = [m.dedupe_key for m in messages if m.dedupe_key not in queued]
    if missing:
        queued.update({row.dedupe_key: row for row in await OutboxMessage.filter(dedupe_key__in=missing)})
    return [queued[m.dedupe_key] for m in messages]


async def appointment_booked(
    appointment: Appointment,
    now: datetime,
    *,
    customer: Customer | None = None,
    vehicle: Vehicle | None = None,
) -> list[OutboxMessage]:
    """Queue "appointment confirmed" to the customer and "new appointment" to their owner clerk.

    `customer` and `vehicle`, when the caller already holds them, save reading them again.
    """
    return await queue(await booked_messages(appointment, customer=customer, vehicle=vehicle), now=now)


# Stands for the appointment's id in the dedupe keys of `booked_messages(..., id_mark=True)`.
ID_MARK = "{id}"


async def booked_messages(
    appointment: Appointment,
    *,
    customer: Customer | None = None,
    vehicle: Vehicle | None = None,
    id_mark: bool = False,
) -> list[Outgoing]:
    """The messages `appointment_booked` queues. With `id_mark` the dedupe keys hold `ID_MARK` in place of
    the id, for a caller that writes them in the statement creating the appointment (its id not yet known)."""
    facts = await _facts(appointment, customer=customer, vehicle=vehicle)
    if facts.staff_id is not None and facts.staff_id == appointment.booked_by_id:
        # The owner clerk booked it themselves (代客预约): they need no message about it.
        facts = dataclasses.replace(facts, staff_openid=None)
    ident = ID_MARK if id_mark else str(appointment.id)
    return _messages(
        facts,
        customer=("appointment_confirmed", f"appt:{ident}:confirmed"),
        staff=("new_appointment", f"appt:{ident}:new:staff"),
    )


def rows_of(messages: Sequence[Outgoing], *, now: datetime) -> list[OutboxMessage]:
    """The unsaved outbox rows of `messages`, as `send_many` writes them."""
    return [
        outbox.new_row(
            OutboxKind.TEMPLATE,
            m.openid,
            _payload(m.kind, m.values, m.url),
            now=m.not_before or now,
            dedupe_key=m.dedupe_key,
            purpose=m.kind,
        )
        for m in messages
    ]


async def appointment_rescheduled(
    appointment: Appointment, previous_start: datetime, now: datetime
) -> list[OutboxMessage]:
    """Queue "appointment changed" to the customer and to their owner clerk (one pair per change)."""
    facts = await _facts(appointment, previous_start=previous_start, change="已改约")
    key = f"appt:{appointment.id}:changed:{appointment.changes}"
    return await _send(
        facts, now, customer=("appointment_changed", key), staff=("appointment_changed_staff", f"{key}:staff")
    )


async def appointment_cancelled(appointment: Appointment, now: datetime, *, by_customer: bool) -> list[OutboxMessage]:
    """Queue "appointment cancelled" to the customer and a change notice to their owner clerk."""
    reason = "已按您的要求取消" if by_customer else "门店已取消，详询门店"
    facts = await _facts(appointment, change="已取消", reason=reason)
    return await _send(
        facts,
        now,
        customer=("appointment_cancelled", f"appt:{appointment.id}:cancelled"),
        staff=("appointment_changed_staff", f"appt:{appointment.id}:cancelled:staff"),
    )


@dataclass(frozen=True, slots=True)
class _Facts:
    customer_openid: str | None
    staff_openid: str | None
    values: dict[str, str]
    staff_id: int | None = None


async def _facts(
    appointment: Appointment,
    *,
    previous_start: datetime | None = None,
    change: str = "",
    reason: str = "",
    customer: Customer | None = None,
    vehicle: Vehicle | None = None,
) -> _Facts:
    if customer is None or customer.id != appointment.customer_id:
        customer = await Customer.get(id=appointment.customer_id)
    if vehicle is None or vehicle.id != appointment.vehicle_id:
        vehicle = await Vehicle.get(id=appointment.vehicle_id)
    service = await schedule.service_name(appointment.service)
    tz = (await schedule.load_calendar()).tz
    owner_openid = await roles.staff_openid(customer.owner_id)
    values = {
        "reference": appointment.reference,
        "service": service,
        "time": template_time(appointment.start_at, tz),
        "previous_time": template_time(previous_start, tz) if previous_start else "",
        "plate": vehicle.plate,
        "customer": customer.name or "客户",
        "mobile": customer.mobile or "",
        "item": f"{service} {vehicle.plate}",
        "change": change,
        "reason": reason,
    }
    return _Facts(customer.openid, owner_openid, values, customer.owner_id if owner_openid else None)


async def _send(
    facts: _Facts, now: datetime, *, customer: tuple[str, str], staff: tuple[str, str]
) -> list[OutboxMessage]:
    # Both rows go in one statement; a key already queued returns the row queued first.
    return await queue(_messages(facts, customer=customer, staff=staff), now=now)


def _messages(facts: _Facts, *, customer: tuple[str, str], staff: tuple[str, str]) -> list[Outgoing]:
    # A customer the store booked by phone, or a clerk who never bound WeChat, gets nothing.
    return [
        Outgoing(kind, openid, facts.values, dedupe_key)
        for openid, (kind, dedupe_key) in ((facts.customer_openid, customer), (facts.staff_openid, staff))
        if openid
    ]
