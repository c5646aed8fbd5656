"""Fixtures for the service tests: a store with default settings, a fixed "now", people and cars."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.models import Appointment, Customer, SlotLoad, Staff, StaffRole, Vehicle
from bot.services import booking, customers, schedule

TZ = ZoneInfo("Asia/Shanghai")
# Saturday 28 November 2026, 10:30 store time.
NOW = datetime(2026, 11, 28, 10, 30, tzinfo=TZ)


def at(text: str) -> datetime:
    """A store-local time in 2026 from "11-29 15:00"."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


@pytest.fixture
async def store(database: str) -> None:
    """The default store: Mon-Sun 08:30-18:00, 30-minute slots, 4 per slot of which 3 online."""
    await schedule.ensure_defaults("Asia/Shanghai")


Person = Callable[..., Awaitable[tuple[Customer, Vehicle]]]


@pytest.fixture
def person(store: None) -> Person:
    """Make a WeChat customer with a car: `await person()` gives a new one each call."""
    numbers = count(1)

    async def make(**overrides: Any) -> tuple[Customer, Vehicle]:
        n = next(numbers)
        values: dict[str, Any] = {
            "openid": f"o_cust{n}",
            "name": f"客户{n}",
            "mobile": f"1380000{n:04d}",
            "plate": f"粤A{n:05d}",
        }
        values.update(overrides)
        customer, vehicle, _ = await customers.identify(
            values.pop("openid"), name=values["name"], mobile=values["mobile"], plate=values["plate"], now=NOW
        )
        return customer, vehicle

    return make


async def add_staff(
    name: str, *, role: StaffRole = StaffRole.CLERK, openid: str | None = None, active: bool = True
) -> Staff:
    return await Staff.create(name=name, mobile="13900000000", role=role, openid=openid, active=active, created_at=NOW)


async def book(person: Person, service: str, start: datetime, **kwargs: Any) -> Appointment:
    customer, vehicle = await person()
    return await booking.create(customer, vehicle, service, start, NOW, **kwargs)


async def load(start: datetime) -> int:
    row = await SlotLoad.get_or_none(slot_start=start.astimezone(ZoneInfo("UTC")))
    return row.booked if row else 0


@pytest.fixture(autouse=True)
def fresh_schedule_cache() -> None:
    """Every test starts with an empty schedule cache: the database fixture empties the tables under it."""
    schedule.clear_cache()
