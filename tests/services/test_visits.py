"""Visits at the store: check-in, completion and no-show rules, and the no-show sweep under concurrency."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.models import Appointment, MileageReading, OutboxMessage, Staff, StaffRole, Task, Vehicle
from bot.services import booking, visits
from tests.services.conftest import NOW, TZ, Person, add_staff, at

HOUR = timedelta(hours=1)


async def booked(person: Person, start: datetime, **person_kw: str) -> Appointment:
    """An appointment made the day before its start, so times already past at NOW can be set up."""
    customer, vehicle = await person(**person_kw)
    return await booking.create(customer, vehicle, "maintenance", start, start - timedelta(days=1))


async def test_the_sweep_marks_each_late_appointment_once_even_when_two_workers_run_it(person: Person) -> None:
    owner = await add_staff("张三", openid="o_zhang")
    appointment = await booked(person, at("11-28 09:00"))
    await booked(person, at("11-28 10:00"))  # 30 minutes late at NOW: not yet
    results = await asyncio.gather(*(visits.mark_no_shows(NOW, TZ, HOUR) for _ in range(2)))
    assert sum(results) == 1
    await appointment.refresh_from_db()
    assert appointment.status == "no_show" and appointment.no_show_at == NOW
    [task] = await Task.all()
    assert (task.kind, task.assignee_id, task.appointment_id) == ("no_show", owner.id, appointment.id)
    assert task.due_at == at("11-28 18:00") and task.created_by_id is None
    assert await OutboxMessage.filter(openid="o_zhang", dedupe_key=f"task:{task.id}:new").count() == 1
    assert await visits.mark_no_shows(NOW, TZ, HOUR) == 0


async def test_the_call_back_goes_to_a_manager_when_the_owner_left_and_to_nobody_without_one(person: Person) -> None:
    owner = await add_staff("张三")
    first = await booked(person, at("11-28 09:00"))
    await Staff.filter(id=owner.id).update(active=False)
    assert await visits.mark_no_shows(NOW, TZ, HOUR) == 1
    assert await Task.all().count() == 0  # no active owner, no manager: marked, and nobody to tell
    boss = await add_staff("王店长", role=StaffRole.MANAGER)
    second = await booked(person, at("11-28 09:30"))
    assert await visits.mark_no_shows(NOW, TZ, timedelta(minutes=30)) == 1
    [task] = await Task.all()
    assert task.assignee_id == boss.id and task.appointment_id == second.id
    assert (await Appointment.get(id=first.id)).status == "no_show"


def test_the_call_back_is_due_this_evening_or_in_four_hours() -> None:
    assert visits.call_back_due(NOW, TZ) == at("11-28 18:00")
    assert visits.call_back_due(at("11-28 17:00"), TZ) == at("11-28 18:00")
    assert visits.call_back_due(at("11-28 17:30"), TZ) == at("11-28 21:30")


async def test_check_in_of_an_earlier_day_and_completion_the_next_day(person: Person) -> None:
    yesterday = await booked(person, at("11-27 15:00"))
    visit = await visits.check_in(yesterday.id, NOW, TZ)
    assert visit.status == "checked_in"
    appointment, vehicle = await visits.complete(yesterday.id, NOW + HOUR, TZ)
    assert appointment.status == "completed" and appointment.mileage is None
    await vehicle.refresh_from_db()
    assert (vehicle.last_service, vehicle.last_service_at, vehicle.mileage) == ("maintenance", NOW + HOUR, None)
    assert await MileageReading.all().count() == 0


async def test_completion_refusals_write_nothing(person: Person) -> None:
    old = await booked(person, at("11-27 15:00"))
    with pytest.raises(visits.VisitRefused) as refused:
        await visits.complete(old.id, NOW, TZ, mileage=1000)
    assert refused.value.reason == "not_checked_in"
    await visits.mark_no_shows(NOW, TZ, HOUR)
    for change in (visits.check_in, visits.complete):
        with pytest.raises(visits.VisitRefused) as refused:
            await change(old.id, NOW, TZ)
        assert refused.value.reason == "no_show"
    assert (await Appointment.get(id=old.id)).status == "no_show"
    assert await MileageReading.all().count() == 0


async def test_a_lower_reading_is_refused_with_the_last_one(person: Person) -> None:
    today = await booked(person, at("11-28 09:00"))
    await Vehicle.filter(id=today.vehicle_id).update(mileage=50000)
    with pytest.raises(visits.VisitRefused) as refused:
        await visits.complete(today.id, NOW, TZ, mileage=49999)
    assert (refused.value.reason, refused.value.last_mileage) == ("mileage_lower", 50000)
    assert (await Appointment.get(id=today.id)).status == "booked"
    await visits.complete(today.id, NOW, TZ, mileage=50000, note="  换了  机油 ")
    appointment = await Appointment.get(id=today.id)
    assert (appointment.status, appointment.checked_in_at, appointment.note) == ("completed", NOW, "换了 机油")


async def test_book_for_customer_records_the_clerk_and_uses_the_clerks_capacity(person: Person) -> None:
    clerk = await add_staff("张三")
    customer, _ = await person()
    appointment, same, vehicle = await visits.book_for_customer(
        customer.id, "粤B99999", "maintenance", at("11-29 15:00"), NOW, clerk_id=clerk.id
    )
    await appointment.refresh_from_db()
    assert (appointment.source, appointment.booked_by_id, same.id) == ("clerk", clerk.id, customer.id)
    assert vehicle.customer_id == customer.id and vehicle.plate == "粤B99999"
    with pytest.raises(LookupError):
        await visits.book_for_customer(999999, "粤B88888", "maintenance", at("11-29 16:00"), NOW, clerk_id=clerk.id)
