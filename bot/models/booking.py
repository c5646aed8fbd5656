"""Models of the booking domain: service menu, store calendar, slot capacity, staff, customers, appointments."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


def reverse(text: str | None) -> str | None:
    """The text reversed, for suffix lookups ("尾号5678", plate digits) as prefix lookups on an index."""
    return text[::-1] if text else None


def _keep_reversed(row: Model, column: str, update_fields: Iterable[str] | None) -> Iterable[str] | None:
    """Set `<column>_rev` from `column` before a save; the fields to save, with it when `column` is among them."""
    setattr(row, f"{column}_rev", reverse(getattr(row, column)))
    if update_fields is not None and column in update_fields:
        return [*update_fields, f"{column}_rev"]
    return update_fields


class ServiceKind(Model):
    """A bookable service; `code` matches `bot.nlu.service` so parsed text maps straight onto a row."""

    code = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=16)
    duration_minutes = fields.IntField()
    bookable_online = fields.BooleanField(default=True)
    sort_order = fields.IntField(default=0)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "service_kind"


class StoreSchedule(Model):
    """The store's booking rules, one row (id=1); opening hours are read in `timezone`."""

    id = fields.IntField(primary_key=True)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")
    slot_minutes = fields.IntField(default=30)
    capacity_per_slot = fields.IntField(default=4)
    # Percent of each slot's capacity customers may book themselves; the rest is kept for walk-ins and clerks.
    online_share = fields.IntField(default=75)
    min_lead_minutes = fields.IntField(default=60)
    horizon_days = fields.IntField(default=30)
    # Customers may not cancel or move an appointment this close to its start.
    change_cutoff_minutes = fields.IntField(default=120)

    class Meta:
        table = "store_schedule"


class OpeningHours(Model):
    """Opening hours of one weekday (Monday = 0), in the store's time zone."""

    id = fields.IntField(primary_key=True)
    weekday = fields.SmallIntField(unique=True)
    # Minutes after local midnight (08:30 = 510): plain integers survive both databases unchanged (the
    # ORM's TIME type is tagged UTC or refused by SQLite) and 24:00 (1440) can close a late shift.
    opens_minute = fields.SmallIntField()
    closes_minute = fields.SmallIntField()
    closed = fields.BooleanField(default=False)

    class Meta:
        table = "opening_hours"


class ClosedDay(Model):
    """A date the store takes no bookings (holiday, stocktaking), whatever the weekday's hours say."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    reason = fields.CharField(max_length=64, default="")

    class Meta:
        table = "closed_day"


class SlotLoad(Model):
    """How many appointments cover one slot; capacity is enforced by a conditional UPDATE of `booked`."""

    id = fields.BigIntField(primary_key=True)
    slot_start = fields.DatetimeField(unique=True)
    booked = fields.IntField(default=0)

    class Meta:
        table = "slot_load"


class StoreCounter(Model):
    """A named counter advanced by atomic UPDATEs (round-robin owner assignment)."""

    name = fields.CharField(max_length=32, primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "store_counter"


class StaffRole(StrEnum):
    CLERK = "clerk"
    MANAGER = "manager"


class Staff(Model):
    """A dealership employee; `openid` is set once they bind their WeChat account."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, db_index=True)
    mobile = fields.CharField(max_length=11, db_index=True)
    employee_no = fields.CharField(max_length=16, null=True, unique=True)
    role = fields.CharEnumField(StaffRole, max_length=16, default=StaffRole.CLERK)
    active = fields.BooleanField(default=True)
    openid = fields.CharField(max_length=64, null=True, unique=True)
    bound_at = fields.DatetimeField(null=True)
    deactivated_at = fields.DatetimeField(null=True)
    # Whether WeChat has this openid under the staff user tag (the staff menu); kept in step by the menu sync.
    tagged = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "staff"


class CustomerSource(StrEnum):
    WECHAT = "wechat"  # created by the customer's own first booking
    CLERK = "clerk"  # 新增客户 in the chat
    IMPORT = "import"  # customers import


class Customer(Model):
    """A car owner: created by the dealership or on a first booking; `openid` links their WeChat account.

    `mobile_rev` is the mobile reversed, so "尾号5678" is a prefix lookup on an index like any other."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, default="", db_index=True)
    mobile = fields.CharField(max_length=11, null=True, db_index=True)
    mobile_rev = fields.CharField(max_length=11, null=True, db_index=True)
    openid = fields.CharField(max_length=64, null=True, unique=True)
    owner: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="customers", null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    source = fields.CharEnumField(CustomerSource, max_length=8, default=CustomerSource.WECHAT)
    note = fields.CharField(max_length=200, default="")
    # Marked lost (流失) when not back within 12 months; cleared by their next booking or visit.
    lost_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(null=True)

    vehicles: fields.ReverseRelation[Vehicle]
    appointments: fields.ReverseRelation[Appointment]

    class Meta:
        table = "customer"
        indexes = (("owner_id",),)

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        """Keep `mobile_rev` in step (bulk inserts and `.update(mobile=...)` must set it themselves)."""
        update_fields = _keep_reversed(self, "mobile", update_fields)
        await super().save(using_db, update_fields, force_create, force_update)


class Vehicle(Model):
    """One car; `plate` is normalised as `bot.nlu.plate.parse_plate` returns it (粤A12345)."""

    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="vehicles", on_delete=fields.CASCADE
    )
    customer_id: int
    plate = fields.CharField(max_length=10, unique=True)
    # The plate reversed: "its last digits" is a prefix lookup on this index.
    plate_rev = fields.CharField(max_length=10, null=True, db_index=True)
    model = fields.CharField(max_length=64, null=True)
    vin = fields.CharField(max_length=17, null=True, unique=True)
    purchase_date = fields.DateField(null=True)
    # The latest odometer reading and when it was taken (every reading is kept in `mileage_reading`).
    mileage = fields.IntField(null=True)
    mileage_at = fields.DatetimeField(null=True)
    last_service_at = fields.DatetimeField(null=True)
    last_service = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "vehicle"
        indexes = (("customer_id",),)

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        """Keep `plate_rev` in step (bulk inserts and `.update(plate=...)` must set it themselves)."""
        update_fields = _keep_reversed(self, "plate", update_fields)
        await super().save(using_db, update_fields, force_create, force_update)


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


# Appointments that hold capacity and block an overlapping booking by the same customer.
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


class BookingSource(StrEnum):
    SELF = "self"
    CLERK = "clerk"


class Appointment(Model):
    """A service visit: one vehicle, one service, [start_at, end_at) in the store's slot grid."""

    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=12, unique=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="appointments", on_delete=fields.RESTRICT
    )
    customer_id: int
    vehicle: fields.ForeignKeyRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="appointments", on_delete=fields.RESTRICT
    )
    vehicle_id: int
    # A ServiceKind code, kept as plain text: service kinds are deactivated, never deleted.
    service = fields.CharField(max_length=32)
    start_at = fields.DatetimeField(db_index=True)
    end_at = fields.DatetimeField()
    status = fields.CharEnumField(AppointmentStatus, max_length=16, default=AppointmentStatus.BOOKED)
    source = fields.CharEnumField(BookingSource, max_length=8, default=BookingSource.SELF)
    # The clerk who booked it for the customer (代客预约); None when the customer booked it.
    booked_by: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="booked_appointments", null=True, on_delete=fields.SET_NULL
    )
    booked_by_id: int | None
    campaign = fields.CharField(max_length=64, null=True)
    # Bumped by every reschedule, so each change gets its own notification dedupe key.
    changes = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    cancelled_at = fields.DatetimeField(null=True)
    checked_in_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    no_show_at = fields.DatetimeField(null=True)
    # What the clerk recorded when the visit was completed (完成 A1024 里程 32000 换了刹车片).
    mileage = fields.IntField(null=True)
    note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "appointment"
        indexes = (("customer_id", "status", "start_at"), ("status", "start_at"), ("vehicle_id",))
