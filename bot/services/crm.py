"""Customer records for staff: adding, editing, profiles, follow-ups and the next-maintenance rule."""

# Who may change a customer is data-level ownership (the owner clerk or a manager), not a role guard, so
# `may_change` lives here and the handlers ask it; roles themselves are checked by the command table.

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from bot.models import (
    Appointment,
    AppointmentStatus,
    Customer,
    CustomerSource,
    FollowUp,
    FollowUpMethod,
    MileageReading,
    OwnerChange,
    Staff,
    Vehicle,
)
from bot.nlu import parse_mobile, parse_when
from bot.nlu.plate import is_plate, parse_plate
from bot.services.outbox import atomic
from bot.services.roles import Speaker

NAME_MAX: Final = 32
NOTE_MAX: Final = 200
MODEL_MAX: Final = 64
CONTENT_MAX: Final = 500
RESULT_MAX: Final = 32
MILEAGE_MAX: Final = 2_000_000

# First service 3 months after purchase; then every 5 months or 5,000 km, whichever comes first.
FIRST_SERVICE_MONTHS: Final = 3
SERVICE_MONTHS: Final = 5
SERVICE_KM: Final = 5000
# A follow-up date given without a time is for 10:00 store time (the start of a clerk's calling hours).
FOLLOW_UP_HOUR: Final = 10

# VIN: 17 characters, letters except I, O and Q (ISO 3779), which are too easily read as 1 and 0.
_VIN_RE: Final = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_VIN_VALUES: Final = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


class Duplicate(Exception):
    """Another customer already has this mobile, plate or VIN: offer that record instead of a copy."""

    def __init__(self, field: str, customer: Customer, owner_name: str) -> None:
        super().__init__(f"{field} already belongs to customer {customer.id}")
        self.field = field  # "mobile", "plate" or "vin"
        self.customer = customer
        self.owner_name = owner_name


class BadValue(Exception):
    """A value staff typed that cannot be stored (the key names the reply that explains the form)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """What 新增客户 collects; optional fields are None when skipped."""

    name: str
    mobile: str
    plate: str
    model: str | None = None
    vin: str | None = None
    purchase_date: date | None = None
    mileage: int | None = None


# --- readers for values staff type (pure) -------------------------------------------------------------


def read_vin(text: str) -> str | None:
    """A 17-character VIN (upper-cased, spaces dropped), or None for a wrong length or I/O/Q."""
    vin = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    return vin if _VIN_RE.fullmatch(vin) else None


def vin_check_digit_ok(vin: str) -> bool:
    """Whether position 9 holds the ISO 3779 check digit (North American VINs; Chinese ones often do too)."""
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    expected = total % 11
    return vin[8] == ("X" if expected == 10 else str(expected))


_KM_RE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(万)?\s*(?:公里|km|千米)?", re.IGNORECASE)


def read_mileage(text: str) -> int | None:
    """Kilometres in "3万公里", "3.5万", "30000", "30000km"; None when there is no such number."""
    normal = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace("，", "")
    match = _KM_RE.fullmatch(normal)
    if match is None:
        return None
    km = float(match[1]) * (10_000 if match[2] else 1)
    return int(km) if 0 <= km <= MILEAGE_MAX else None


_YEAR_MONTH_RE: Final = re.compile(r"(\d{2}|\d{4})\s*年\s*(\d{1,2})\s*月(?:份)?")


def read_purchase_date(text: str, today: date, now_local: datetime) -> date | None:
    """A purchase date in the past ("2023年5月10日", "2024年3月" = the 1st, "3月5日" = the last 3月5日)."""
    normal = unicodedata.normalize("NFKC", text).strip()
    parsed = parse_when(normal, now_local)
    day: date | None = None
    if isinstance(parsed, datetime):
        day = parsed.date()
    elif isinstance(parsed, date):
        day = parsed
    else:
        match = _YEAR_MONTH_RE.fullmatch(normal)
        if match is not None and 1 <= int(match[2]) <= 12:
            year = int(match[1]) + (2000 if len(match[1]) == 2 else 0)
            day = date(year, int(match[2]), 1)
    if day is not None and day > today and "年" not in normal:
        # A day without a year is read forward by the time parser; a car was bought in the past.
        day = _shift_months(day, -12)
    if day is None or day > today:
        return None
    return day


# Spaces typed inside a Chinese name ("张 三").
_CJK_GAP: Final = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def read_name(text: str) -> str | None:
    """A person's name: 1-32 characters, at least one of them a letter (Chinese or Latin), no digits. Spaces
    inside a Chinese name are dropped ("张 三" -> "张三"), others made single ("Li  Ming" -> "Li Ming")."""
    name = " ".join(_CJK_GAP.sub("", text).split()).strip("：:，,。 ")
    if not 1 <= len(name) <= NAME_MAX or any(ch.isdigit() for ch in name) or not any(ch.isalpha() for ch in name):
        return None
    return name


# A name stated in a longer message ("我叫张三，明天下午3点保养"): after 我叫 / 姓名 / 称呼, or a surname with
# 先生 / 女士 / 小姐, and then the end of a word (a space, punctuation, a digit, a Latin letter or the end).
# Chinese has no spaces, so "我叫张三明天下午" is read as no name at all, not guessed at.
_MARKED_NAME: Final = re.compile(
    r"(?:我叫|姓名|名字|称呼)[：:是为]?\s*(?P<name>[\u3400-\u9fff]{2,4})(?=[\s\d\W_A-Za-z]|$)"
    r"|(?:^|(?<=[\s\d\W_A-Za-z]))(?P<title>[\u3400-\u9fff]{1,2}(?:先生|女士|小姐))(?=[\s\d\W_A-Za-z]|$)"
)


def marked_name(text: str) -> str | None:
    """The name a message states among other things (`_MARKED_NAME`), or None."""
    match = _MARKED_NAME.search(unicodedata.normalize("NFKC", text))
    if match is None:
        return None
    return match["name"] or match["title"]


# --- the next-maintenance rule (pure) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaintenanceDue:
    """When a car is next due: the day, and whether the kilometres (not the months) decide it."""

    day: date
    by_km: bool = False
    km: int | None = None  # the odometer reading it is due at, when known


def _shift_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def km_per_day(purchase: date | None, readings: Sequence[tuple[date, int]]) -> float | None:
    """Average kilometres a day: between the first and last readings at least 30 days apart, else from the
    purchase (a new car starts at 0 km) to the last reading; None when nothing tells."""
    ordered = sorted(readings)
    if len(ordered) >= 2 and (ordered[-1][0] - ordered[0][0]).days >= 30:
        (d0, k0), (d1, k1) = ordered[0], ordered[-1]
        return max(k1 - k0, 0) / (d1 - d0).days
    if ordered and purchase is not None and (ordered[-1][0] - purchase).days >= 30:
        return ordered[-1][1] / (ordered[-1][0] - purchase).days
    return None


def next_maintenance(
    purchase: date | None, last_service: date | None, readings: Sequence[tuple[date, int]]
) -> MaintenanceDue | None:
    """When the car is next due for maintenance.

    First service: 3 months after purchase. After a service: 5 months later or 5,000 km later, whichever
    comes first; the day 5,000 km is reached is estimated from the odometer readings (`km_per_day`), and
    the kilometres at the service are the last reading on or before its day. None when neither a purchase
    date nor a service is known.
    """
    if last_service is None:
        return MaintenanceDue(_shift_months(purchase, FIRST_SERVICE_MONTHS)) if purchase is not None else None
    by_months = _shift_months(last_service, SERVICE_MONTHS)
    at_service = [km for day, km in sorted(readings) if day <= last_service]
    rate = km_per_day(purchase, readings)
    if not at_service or not rate:
        return MaintenanceDue(by_months)
    due_km = at_service[-1] + SERVICE_KM
    last_day, last_km = max(readings)
    by_km = last_day + timedelta(days=max(due_km - last_km, 0) / rate)
    if by_km < by_months:
        return MaintenanceDue(by_km, by_km=True, km=due_km)
    return MaintenanceDue(by_months, km=due_km)


# --- who may change a customer ---------------------------------------------------------------------------


def may_change(speaker: Speaker, customer: Customer) -> bool:
    """The owner clerk or a manager; a customer nobody owns yet may be changed by any staff member."""
    return speaker.is_manager or customer.owner_id is None or customer.owner_id == speaker.staff_id


def sees_full_mobile(speaker: Speaker, owner_id: int | None) -> bool:
    """Managers and the owner clerk see full mobiles; everyone else the masked form."""
    return speaker.is_manager or (owner_id is not None and owner_id == speaker.staff_id)


async def get_customer(customer_id: int | None) -> Customer | None:
    """The customer with this id; None for None or an id no customer has."""
    return await Customer.get_or_none(id=customer_id) if customer_id else None


async def staff_name(staff_id: int | None) -> str:
    """The staff member's name, "" for none."""
    if staff_id is None:
        return ""
    row = await Staff.get_or_none(id=staff_id).values_list("name", flat=True)
    return str(row or "")


# --- adding a customer -----------------------------------------------------------------------------------


async def find_duplicate(mobile: str | None, plate: str | None, vin: str | None) -> Duplicate | None:
    """The first existing record that already holds this mobile, plate or VIN (checked in that order)."""
    found: tuple[str, Customer] | None = None
    if mobile:
        record = await Customer.filter(mobile=mobile).order_by("id").first()
        found = ("mobile", record) if record else None
    if found is None and plate:
        vehicle = await Vehicle.get_or_none(plate=plate).select_related("customer")
        found = ("plate", vehicle.customer) if vehicle else None
    if found is None and vin:
        vehicle = await Vehicle.get_or_none(vin=vin).select_related("customer")
        found = ("vin", vehicle.customer) if vehicle else None
    if found is None:
        return None
    field, customer = found
    return Duplicate(field, customer, await staff_name(customer.owner_id))


async def create_customer(
    data: NewCustomer, *, owner_id: int | None, by_staff_id: int | None, now: datetime
) -> tuple[Customer, Vehicle]:
    """Add a customer with their car (新增客户): the customer, vehicle, an odometer reading when the mileage
    is known, and the owner audit row (reason 新增客户), all in one transaction.

    Raises `Duplicate` when the mobile, plate or VIN is already on record (nothing is written)."""
    at = now.astimezone(UTC)
    async with atomic():
        duplicate = await find_duplicate(data.mobile, data.plate, data.vin)
        if duplicate is not None:
            raise duplicate
        customer = await Customer.create(
            name=data.name[:NAME_MAX],
            mobile=data.mobile,
            owner_id=owner_id,
            source=CustomerSource.CLERK,
            created_at=at,
            updated_at=at,
        )
        vehicle = await Vehicle.create(
            customer_id=customer.id,
            plate=data.plate,
            model=(data.model or None),
            vin=data.vin,
            purchase_date=data.purchase_date,
            mileage=data.mileage,
            mileage_at=at if data.mileage is not None else None,
            created_at=at,
        )
        if data.mileage is not None:
            await MileageReading.create(vehicle_id=vehicle.id, km=data.mileage, at=at, source="clerk")
        await OwnerChange.create(
            customer_id=customer.id, to_staff_id=owner_id, by_staff_id=by_staff_id, reason="新增客户", at=at
        )
    return customer, vehicle


# --- editing one field -----------------------------------------------------------------------------------

# What staff type after 修改客户 <id> -> the field changed.
EDIT_FIELDS: Final[dict[str, str]] = {
    "姓名": "name",
    "名字": "name",
    "手机": "mobile",
    "手机号": "mobile",
    "电话": "mobile",
    "车牌": "plate",
    "车牌号": "plate",
    "车型": "model",
    "vin": "vin",
    "车架号": "vin",
    "购车日期": "purchase_date",
    "购车时间": "purchase_date",
    "里程": "mileage",
    "公里数": "mileage",
    "备注": "note",
}
VEHICLE_FIELDS: Final = frozenset({"plate", "model", "vin", "purchase_date", "mileage"})


@dataclass(frozen=True, slots=True)
class Edited:
    """The outcome of an edit: the field and the value as stored (shown back to the clerk)."""

    field: str
    shown: str
    plate: str | None = None  # the car changed, for vehicle fields


def _pick_vehicle(vehicles: list[Vehicle], value: str) -> tuple[Vehicle | None, str]:
    """The car a vehicle field is for: the only one, or the one whose plate starts the value."""
    head, _, rest = value.partition(" ")
    plate = parse_plate(head) if is_plate(head) else None
    if plate is not None and rest.strip():
        return next((v for v in vehicles if v.plate == plate), None), rest.strip()
    if len(vehicles) == 1:
        return vehicles[0], value
    return None, value


async def edit_customer(customer: Customer, field: str, value: str, *, now: datetime, tz: tzinfo) -> Edited:
    """Change one field of a customer or their car (修改客户), validated; duplicates are refused.

    Vehicle fields apply to the customer's only car; with several cars the value starts with the plate
    ("车型 粤A12345 凯美瑞", "车牌 粤A12345 粤B67890"). Raises `BadValue` (its key explains the form) or
    `Duplicate`."""
    at = now.astimezone(UTC)
    value = value.strip()
    if not value:
        raise BadValue("customers.edit_value_missing")
    async with atomic():
        if field not in VEHICLE_FIELDS:
            return await _edit_person(customer, field, value, at)
        vehicles = await Vehicle.filter(customer_id=customer.id).order_by("created_at", "id")
        if field == "plate" and not vehicles:
            return await _add_first_vehicle(customer, value, at)
        vehicle, value = _pick_vehicle(vehicles, value)
        if vehicle is None:
            raise BadValue("customers.edit_which_vehicle")
        return await _edit_vehicle(customer, vehicle, field, value, at, tz)


async def _edit_person(customer: Customer, field: str, value: str, at: datetime) -> Edited:
    if field == "name":
        name = read_name(value)
        if name is None:
            raise BadValue("customers.bad_name")
        customer.name = name
        shown = name
    elif field == "mobile":
        mobile = parse_mobile(value)
        if mobile is None or len("".join(ch for ch in value if ch.isdigit())) not in (11, 13):
            raise BadValue("customers.bad_mobile")
        other = await Customer.filter(mobile=mobile).exclude(id=customer.id).order_by("id").first()
        if other is not None:
            raise Duplicate("mobile", other, await staff_name(other.owner_id))
        customer.mobile = mobile
        shown = mobile
    else:
        customer.note = value[:NOTE_MAX]
        shown = customer.note
    customer.updated_at = at
    await customer.save(update_fields=[field, "updated_at"])
    return Edited(field, shown)


async def _add_first_vehicle(customer: Customer, value: str, at: datetime) -> Edited:
    plate = parse_plate(value) if is_plate(value) else None
    if plate is None:
        raise BadValue("customers.bad_plate")
    await _refuse_taken_plate(plate, None)
    await Vehicle.create(customer_id=customer.id, plate=plate, created_at=at)
    return Edited("plate", plate, plate)


async def _refuse_taken_plate(plate: str, vehicle_id: int | None) -> None:
    taken = await Vehicle.filter(plate=plate).exclude(id=vehicle_id or 0).select_related("customer").first()
    if taken is not None:
        raise Duplicate("plate", taken.customer, await staff_name(taken.customer.owner_id))


async def _edit_vehicle(
    customer: Customer, vehicle: Vehicle, field: str, value: str, at: datetime, tz: tzinfo
) -> Edited:
    plate = vehicle.plate
    if field == "plate":
        new = parse_plate(value) if is_plate(value) else None
        if new is None:
            raise BadValue("customers.bad_plate")
        await _refuse_taken_plate(new, vehicle.id)
        vehicle.plate = new
        shown = plate = new
    elif field == "model":
        vehicle.model = value[:MODEL_MAX]
        shown = vehicle.model
    elif field == "vin":
        vin = read_vin(value)
        if vin is None:
            raise BadValue("customers.bad_vin")
        taken = await Vehicle.filter(vin=vin).exclude(id=vehicle.id).select_related("customer").first()
        if taken is not None:
            raise Duplicate("vin", taken.customer, await staff_name(taken.customer.owner_id))
        vehicle.vin = shown = vin
    elif field == "purchase_date":
        local = at.astimezone(tz)
        day = read_purchase_date(value, local.date(), local)
        if day is None:
            raise BadValue("customers.bad_purchase_date")
        vehicle.purchase_date = day
        shown = f"{day.year}年{day.month}月{day.day}日"
    else:
        km = read_mileage(value)
        if km is None:
            raise BadValue("customers.bad_mileage")
        vehicle.mileage, vehicle.mileage_at = km, at
        await MileageReading.create(vehicle_id=vehicle.id, km=km, at=at, source="clerk")
        shown = f"{km} 公里"
    await vehicle.save()
    customer.updated_at = at
    await customer.save(update_fields=["updated_at"])
    return Edited(field, shown, plate)


# --- follow-ups ------------------------------------------------------------------------------------------

_METHOD_WORDS: Final = (
    (("微信",), FollowUpMethod.WECHAT),
    (("到店", "来店", "上门", "面谈"), FollowUpMethod.VISIT),
    (("电话", "打电话", "致电", "来电", "回电", "通话"), FollowUpMethod.PHONE),
)
_NOT_REACHED: Final = ("未接", "没接", "关机", "无人接听", "不在服务区", "打不通", "停机", "空号", "拒接")
# Outcome phrases turned into a short result when no "结果：…" is given.
_RESULTS: Final = (
    (("已预约", "约了", "预约了", "答应来"), "已预约"),
    (("考虑", "再看看", "再说"), "考虑中"),
    (("不需要", "不用了", "没兴趣", "不考虑"), "暂不需要"),
    (("已到店", "到店了"), "已到店"),
    (("满意",), "满意"),
    (("投诉", "不满"), "有投诉"),
)
_RESULT_RE: Final = re.compile(r"结果\s*[:：是为]?\s*([^，,。；;\s]+)")
_NEXT_RE: Final = re.compile(r"(?:下次跟进|下次)\s*[:：]?\s*")


@dataclass(frozen=True, slots=True)
class FollowUpNote:
    """A follow-up as read from the clerk's text (pure)."""

    content: str
    method: FollowUpMethod
    reached: bool
    result: str
    next_text: str  # what followed 下次, "" when absent


def read_follow_up(text: str) -> FollowUpNote:
    """Method, whether the customer was reached, a short result and the 下次 part of a follow-up text."""
    normal = unicodedata.normalize("NFKC", text).strip()
    parts = _NEXT_RE.split(normal, maxsplit=1)
    content = parts[0].strip(" ，,。;；")
    next_text = parts[1].strip() if len(parts) > 1 else ""
    method = next((m for words, m in _METHOD_WORDS if any(w in content for w in words)), FollowUpMethod.OTHER)
    reached = not any(word in content for word in _NOT_REACHED)
    match = _RESULT_RE.search(content)
    if match is not None:
        result = match[1]
    elif not reached:
        result = "未接通"
    else:
        result = next((r for words, r in _RESULTS if any(w in content for w in words)), "")
    return FollowUpNote(content[:CONTENT_MAX], method, reached, result[:RESULT_MAX], next_text)


class PastFollowUpDate(Exception):
    """The 下次 date is not in the future."""


def read_next_at(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """The next follow-up time (aware UTC) from Chinese text; a day alone means 10:00 store time.

    None when the text names no time; `PastFollowUpDate` when it is not in the future."""
    parsed = parse_when(text, now.astimezone(tz))
    if parsed is None:
        return None
    if not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time(FOLLOW_UP_HOUR), tzinfo=tz)
    if parsed <= now:
        raise PastFollowUpDate
    return parsed.astimezone(UTC)


async def log_follow_up(
    customer: Customer, staff_id: int | None, note: FollowUpNote, *, next_at: datetime | None, now: datetime
) -> FollowUp:
    """Record one follow-up (跟进); it shows in the customer's profile and in the reports."""
    return await FollowUp.create(
        customer_id=customer.id,
        staff_id=staff_id,
        method=note.method,
        reached=note.reached,
        result=note.result,
        content=note.content,
        next_at=next_at,
        created_at=now.astimezone(UTC),
    )


# --- the profile -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VehicleView:
    vehicle: Vehicle
    due: MaintenanceDue | None


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything 客户 <id> shows, read in a handful of indexed queries."""

    customer: Customer
    owner_name: str
    vehicles: list[VehicleView]
    visits: list[Appointment]  # the last 3 completed, newest first
    upcoming: list[Appointment]  # booked or checked in, from now, soonest first
    follow_ups: list[FollowUp]  # newest first
    owner_changes: list[OwnerChange]  # newest first
    staff_names: dict[int, str]  # staff id -> name, for the follow-ups and owner changes
    plates: dict[int, str]  # vehicle id -> plate, for the visits and appointments


PROFILE_VISITS: Final = 3
PROFILE_UPCOMING: Final = 5
PROFILE_FOLLOW_UPS: Final = 4
PROFILE_OWNER_CHANGES: Final = 4


async def profile(customer_id: int, now: datetime, tz: tzinfo) -> Profile | None:
    """The customer's profile for 客户 <id>, or None when there is no such customer."""
    customer = await Customer.get_or_none(id=customer_id)
    if customer is None:
        return None
    vehicles = await Vehicle.filter(customer_id=customer.id).order_by("created_at", "id")
    visits = (
        await Appointment.filter(customer_id=customer.id, status=AppointmentStatus.COMPLETED)
        .order_by("-start_at")
        .limit(PROFILE_VISITS)
    )
    upcoming = (
        await Appointment.filter(
            customer_id=customer.id,
            status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN),
            end_at__gte=now.astimezone(UTC),
        )
        .order_by("start_at")
        .limit(PROFILE_UPCOMING)
    )
    follow_ups = await FollowUp.filter(customer_id=customer.id).order_by("-created_at", "-id").limit(PROFILE_FOLLOW_UPS)
    changes = await OwnerChange.filter(customer_id=customer.id).order_by("-at", "-id").limit(PROFILE_OWNER_CHANGES)
    staff_ids = {f.staff_id for f in follow_ups if f.staff_id} | {customer.owner_id or 0}
    for change in changes:
        staff_ids |= {change.from_staff_id or 0, change.to_staff_id or 0, change.by_staff_id or 0}
    names = dict(await Staff.filter(id__in=staff_ids - {0}).values_list("id", "name"))
    readings = await _readings(vehicles, tz)
    views = [
        VehicleView(v, next_maintenance(v.purchase_date, _last_service(v, visits, tz), readings.get(v.id, [])))
        for v in vehicles
    ]
    return Profile(
        customer=customer,
        owner_name=names.get(customer.owner_id or 0, ""),
        vehicles=views,
        visits=list(visits),
        upcoming=list(upcoming),
        follow_ups=list(follow_ups),
        owner_changes=list(changes),
        staff_names=names,
        plates={v.id: v.plate for v in vehicles},
    )


def _last_service(vehicle: Vehicle, visits: Sequence[Appointment], tz: tzinfo) -> date | None:
    days = [a.start_at.astimezone(tz).date() for a in visits if a.vehicle_id == vehicle.id]
    if vehicle.last_service_at is not None:
        days.append(vehicle.last_service_at.astimezone(tz).date())
    return max(days) if days else None


async def _readings(vehicles: Sequence[Vehicle], tz: tzinfo) -> dict[int, list[tuple[date, int]]]:
    """Odometer readings per vehicle (local days); the vehicle's own latest reading counts when no row has it."""
    out: dict[int, list[tuple[date, int]]] = {v.id: [] for v in vehicles}
    if not vehicles:
        return out
    rows = await MileageReading.filter(vehicle_id__in=list(out)).order_by("at").values_list("vehicle_id", "km", "at")
    for vehicle_id, km, at in rows:
        out[vehicle_id].append((at.astimezone(tz).date(), km))
    for v in vehicles:
        if v.mileage is not None and v.mileage_at is not None and not out[v.id]:
            out[v.id].append((v.mileage_at.astimezone(tz).date(), v.mileage))
    return out
