"""Tortoise models: the data 4S Desk keeps, with the indexes its lookups need."""

from bot.models.booking import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingSource,
    ClosedDay,
    Customer,
    OpeningHours,
    ServiceKind,
    SlotLoad,
    Staff,
    StaffRole,
    StoreCounter,
    StoreSchedule,
    Vehicle,
)
from bot.models.dialog import DialogSession
from bot.models.wechat import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    PagedReply,
    ProcessedMessage,
    TokenCache,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Appointment",
    "AppointmentStatus",
    "BookingSource",
    "ClosedDay",
    "Customer",
    "DialogSession",
    "OpeningHours",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "PagedReply",
    "ProcessedMessage",
    "ServiceKind",
    "SlotLoad",
    "Staff",
    "StaffRole",
    "StoreCounter",
    "StoreSchedule",
    "TokenCache",
    "Vehicle",
]
