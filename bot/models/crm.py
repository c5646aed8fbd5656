"""Models of the staff side: binding codes, follow-ups, the owner audit log, tasks, odometer readings."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bot.models.booking import Appointment, Customer, Staff, Vehicle


class BindingCode(Model):
    """A one-time code that binds a WeChat account to a staff record ("绑定 <code>" or a QR scan)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="binding_codes", on_delete=fields.CASCADE
    )
    staff_id: int
    # The manager who invited; None for the first manager, created on the command line.
    created_by: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="issued_codes", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by_openid = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "binding_code"


class BindingAttempt(Model):
    """Wrong binding codes per openid: 5 misses within the window lock binding for that openid for an hour."""

    openid = fields.CharField(max_length=64, primary_key=True)
    failures = fields.IntField(default=0)
    first_failed_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "binding_attempt"


class FollowUpMethod(StrEnum):
    PHONE = "phone"  # 电话
    WECHAT = "wechat"  # 微信
    VISIT = "visit"  # 到店
    OTHER = "other"


class FollowUp(Model):
    """One contact with a customer logged by a clerk (跟进), optionally with the next follow-up date."""

    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="follow_ups", on_delete=fields.CASCADE
    )
    customer_id: int
    staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="follow_ups", null=True, on_delete=fields.SET_NULL
    )
    staff_id: int | None
    method = fields.CharEnumField(FollowUpMethod, max_length=8, default=FollowUpMethod.OTHER)
    # Whether the customer was actually reached (an unanswered call is logged too, and counted apart).
    reached = fields.BooleanField(default=True)
    result = fields.CharField(max_length=32, default="")
    content = fields.CharField(max_length=500)
    next_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "follow_up"
        indexes = (("customer_id", "created_at"), ("staff_id", "created_at"))


class OwnerChange(Model):
    """The audit log of customer ownership: who moved which customer from whom to whom, and when."""

    id = fields.IntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="owner_changes", on_delete=fields.CASCADE
    )
    customer_id: int
    from_staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="owner_changes_from", null=True, on_delete=fields.SET_NULL
    )
    from_staff_id: int | None
    to_staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="owner_changes_to", null=True, on_delete=fields.SET_NULL
    )
    to_staff_id: int | None
    # The manager who made the change; None for the system (first booking, import, round-robin on deactivation).
    by_staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="owner_changes_made", null=True, on_delete=fields.SET_NULL
    )
    by_staff_id: int | None
    reason = fields.CharField(max_length=32, default="")
    at = fields.DatetimeField()

    class Meta:
        table = "owner_change"
        indexes = (("customer_id", "at"),)


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    REVOKED = "revoked"


class TaskKind(StrEnum):
    MANUAL = "manual"  # 派任务 by a manager
    NO_SHOW = "no_show"  # call a customer who missed a visit
    MAINTENANCE = "maintenance"  # a car due for service
    FOLLOW_UP = "follow_up"


class Task(Model):
    """A piece of work for one staff member, with an optional deadline and linked customer.

    `dedupe_key` makes tasks created by the system (no-shows, maintenance) idempotent across workers."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    kind = fields.CharEnumField(TaskKind, max_length=16, default=TaskKind.MANUAL)
    assignee: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="tasks", on_delete=fields.CASCADE
    )
    assignee_id: int
    created_by: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name="tasks_created", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    customer_id: int | None
    appointment: fields.ForeignKeyNullableRelation[Appointment] = fields.ForeignKeyField(
        "models.Appointment", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    appointment_id: int | None
    due_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(TaskStatus, max_length=8, default=TaskStatus.OPEN)
    dedupe_key = fields.CharField(max_length=64, null=True, unique=True)
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField()
    done_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "task"
        indexes = (("assignee_id", "status", "due_at"), ("status", "due_at"), ("created_at",), ("customer_id",))


class MileageReading(Model):
    """One odometer reading (a completed visit, 新增客户, an import): the basis of mileage estimates."""

    id = fields.IntField(primary_key=True)
    vehicle: fields.ForeignKeyRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="readings", on_delete=fields.CASCADE
    )
    vehicle_id: int
    km = fields.IntField()
    at = fields.DatetimeField()
    source = fields.CharField(max_length=16, default="")

    class Meta:
        table = "mileage_reading"
        indexes = (("vehicle_id", "at"),)
