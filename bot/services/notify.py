"""Template messages about appointments: which kind goes to whom, rendered within WeChat's limits, queued."""

# Every function here only writes outbox rows, in the caller's transaction, so a message exists exactly
# when the change that caused it committed. Each row's dedupe key names the appointment and the event, so
# running the same step twice never queues a message twice.

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from bot.models import Appointment, Customer, OutboxMessage, Staff, Vehicle
from bot.services import outbox, schedule

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
# (service and plate), change (已改约 / 已取消), reason (who cancelled). The ids are the sandbox's; a real
# account's ids and field keys come from its template library and will be read from settings.
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


def clip(value: str, limit: int = VALUE_MAX) -> str:
    """`value` within `limit` characters, cut with "…" when longer; never empty."""
    value = " ".join(value.split()) or NO_VALUE
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def render(kind: str, values: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The template id and field data for `kind`, each value clipped to its keyword type's limit."""
    spec = TEMPLATES[kind]
    data = {}
    for key, name in spec.fields.items():
        keyword_type = key.rstrip("0123456789")
        data[key] = clip(values.get(name, ""), min(VALUE_MAX, TYPE_MAX.get(keyword_type, VALUE_MAX)))
    return spec.template_id, data


def template_time(moment: datetime, tz: ZoneInfo) -> str:
    """A time as WeChat's `time` keyword shows it: "2026年11月29日 15:00"."""
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


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
    call with the same `dedupe_key` queues nothing and returns the first row."""
    template_id, data = render(kind, values)
    return await outbox.enqueue_template(
        openid, template_id, data, now=not_before or now, url=url, dedupe_key=dedupe_key, purpose=kind
    )


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
    facts = await _facts(appointment, customer=customer, vehicle=vehicle)
    if facts.staff_id is not None and facts.staff_id == appointment.booked_by_id:
        # The owner clerk booked it themselves (代客预约): they need no message about it.
        facts = dataclasses.replace(facts, staff_openid=None)
    return await _send(
        facts,
        now,
        customer=("appointment_confirmed", f"appt:{appointment.id}:confirmed"),
        staff=("new_appointment", f"appt:{appointment.id}:new:staff"),
    )


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
    owner = await Staff.get_or_none(id=customer.owner_id, active=True) if customer.owner_id else None
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
    return _Facts(customer.openid, owner.openid if owner else None, values, owner.id if owner else None)


async def _send(
    facts: _Facts, now: datetime, *, customer: tuple[str, str], staff: tuple[str, str]
) -> list[OutboxMessage]:
    rows = []
    for openid, (kind, dedupe_key) in ((facts.customer_openid, customer), (facts.staff_openid, staff)):
        # A customer the store booked by phone, or a clerk who never bound WeChat, gets nothing.
        if openid:
            template_id, data = render(kind, facts.values)
            rows.append(await outbox.enqueue_template(openid, template_id, data, now=now, dedupe_key=dedupe_key))
    return rows
