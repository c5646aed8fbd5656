"""Booking, listing, cancelling and moving appointments, with the capacity they hold."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from bot.models import Appointment, AppointmentStatus, OutboxMessage, SlotLoad
from bot.services import booking, schedule
from tests.services.conftest import NOW, TZ, Person, add_staff, at, book, load


async def assert_loads_match_appointments() -> None:
    """The capacity invariant: every slot's count is exactly the active appointments covering it."""
    cal = await schedule.load_calendar()
    expected: Counter[object] = Counter()
    for appointment in await Appointment.filter(status__in=("booked", "checked_in")):
        expected.update(s.astimezone(UTC) for s in cal.covered(appointment.start_at, appointment.end_at))
    actual = {row.slot_start: row.booked for row in await SlotLoad.all() if row.booked}
    assert actual == dict(expected)


async def test_a_booking_holds_every_slot_it_covers(person: Person) -> None:
    customer, vehicle = await person()
    appointment = await booking.create(customer, vehicle, "major_service", at("11-29 15:00"), NOW, campaign="winter")
    assert re.fullmatch(r"A\d{4}", appointment.reference)
    await appointment.refresh_from_db()
    assert (appointment.start_at, appointment.end_at) == (at("11-29 15:00"), at("11-29 17:00"))
    assert (appointment.status, appointment.source, appointment.campaign) == ("booked", "self", "winter")
    assert (appointment.customer_id, appointment.vehicle_id, appointment.service) == (
        customer.id,
        vehicle.id,
        "major_service",
    )
    assert [await load(at(f"11-29 {t}")) for t in ("14:30", "15:00", "15:30", "16:00", "16:30", "17:00")] == [
        0, 1, 1, 1, 1, 0,
    ]  # fmt: skip


async def test_a_refused_time_raises_with_the_check(person: Person) -> None:
    customer, vehicle = await person()
    with pytest.raises(booking.SlotUnavailable) as refused:
        await booking.create(customer, vehicle, "maintenance", at("11-28 11:00"), NOW)
    assert refused.value.check.reason == "too_soon"
    assert refused.value.check.alternatives == [at("11-28 11:30"), at("11-28 12:00"), at("11-28 12:30")]
    assert await Appointment.all().count() == 0 and await OutboxMessage.all().count() == 0


async def test_a_visit_whose_second_half_is_full_is_refused_and_holds_no_place(person: Person) -> None:
    for _ in range(3):
        await book(person, "inspection", at("11-29 15:30"))  # the online places of 15:30 are taken
    customer, vehicle = await person()
    with pytest.raises(booking.SlotUnavailable) as refused:
        await booking.create(customer, vehicle, "maintenance", at("11-29 15:00"), NOW)  # 15:00-16:00
    assert refused.value.check.reason == "full" and at("11-29 15:00") not in refused.value.check.alternatives
    assert await load(at("11-29 15:00")) == 0 and await load(at("11-29 15:30")) == 3
    assert await Appointment.filter(customer_id=customer.id).count() == 0
    assert await OutboxMessage.filter(openid=customer.openid).count() == 0
    await assert_loads_match_appointments()


async def test_ten_customers_racing_for_one_slot_get_exactly_the_online_capacity(person: Person) -> None:
    people = [await person() for _ in range(10)]
    results = await asyncio.gather(
        *(booking.create(c, v, "maintenance", at("11-29 15:00"), NOW) for c, v in people), return_exceptions=True
    )
    booked = [r for r in results if isinstance(r, Appointment)]
    refused = [r for r in results if isinstance(r, booking.SlotUnavailable)]
    assert (len(booked), len(refused)) == (3, 7)
    assert {r.check.reason for r in refused} == {"full"}
    assert all(r.check.alternatives for r in refused)
    assert (await load(at("11-29 15:00")), await load(at("11-29 15:30"))) == (3, 3)
    assert await Appointment.all().count() == 3
    # One confirmation per booked appointment, none for the refused ones.
    assert await OutboxMessage.all().count() == 3


async def test_racing_long_and_short_services_never_overfill_a_slot(person: Person) -> None:
    people = [await person() for _ in range(12)]
    requests = [("major_service", "11-29 15:00"), ("inspection", "11-29 16:30"), ("maintenance", "11-29 16:00")]
    results = await asyncio.gather(
        *(booking.create(c, v, *_request(requests[i % 3])) for i, (c, v) in enumerate(people)),
        return_exceptions=True,
    )
    assert all(isinstance(r, Appointment | booking.SlotUnavailable) for r in results), results
    assert max(row.booked for row in await SlotLoad.all()) <= 3
    await assert_loads_match_appointments()


def _request(request: tuple[str, str]) -> tuple[str, datetime, datetime]:
    service, start = request
    return service, at(start), NOW


async def test_a_multi_slot_reservation_is_all_or_nothing(store: None) -> None:
    await SlotLoad.create(slot_start=at("11-29 16:30"), booked=3)
    slots = [at(f"11-29 {t}") for t in ("15:00", "15:30", "16:00", "16:30")]

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        async with in_transaction():
            assert not await schedule.adjust_load(dict.fromkeys(slots, 1), 3)
            raise Rollback
    assert [await load(s) for s in slots] == [0, 0, 0, 3]


async def test_a_customer_cannot_hold_two_overlapping_appointments(person: Person) -> None:
    customer, vehicle = await person()
    first = await booking.create(customer, vehicle, "major_service", at("11-29 10:00"), NOW)
    with pytest.raises(booking.Overlap) as overlap:
        await booking.create(customer, vehicle, "inspection", at("11-29 11:30"), NOW)
    assert overlap.value.existing.id == first.id
    assert await load(at("11-29 11:30")) == 1  # only the first booking's hold
    await booking.create(customer, vehicle, "inspection", at("11-29 12:00"), NOW)  # back to back is fine
    await booking.cancel(first, NOW)
    await booking.create(customer, vehicle, "inspection", at("11-29 11:30"), NOW)


async def test_one_customer_booking_twice_at_once_gets_one_appointment(person: Person) -> None:
    customer, vehicle = await person()
    results = await asyncio.gather(
        booking.create(customer, vehicle, "maintenance", at("11-29 10:00"), NOW),
        booking.create(customer, vehicle, "maintenance", at("11-29 10:30"), NOW),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Appointment", "Overlap"]
    await assert_loads_match_appointments()


async def test_someone_elses_car_is_refused(person: Person) -> None:
    customer, _ = await person()
    _, other_car = await person()
    with pytest.raises(ValueError):
        await booking.create(customer, other_car, "maintenance", at("11-29 10:00"), NOW)


async def test_a_clerk_can_book_the_places_kept_off_line(person: Person) -> None:
    for _ in range(3):
        await book(person, "inspection", at("11-29 10:00"))
    customer, vehicle = await person()
    with pytest.raises(booking.SlotUnavailable):
        await booking.create(customer, vehicle, "inspection", at("11-29 10:00"), NOW)
    appointment = await booking.create(customer, vehicle, "inspection", at("11-29 10:00"), NOW, source="clerk")
    assert appointment.source == "clerk" and await load(at("11-29 10:00")) == 4


async def test_references_are_unique_even_when_the_dice_repeat(person: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    rolls = iter([24, 24, 25])
    monkeypatch.setattr(secrets, "randbelow", lambda n: next(rolls))
    first = await book(person, "inspection", at("11-29 10:00"))
    second = await book(person, "inspection", at("11-29 10:00"))
    assert (first.reference, second.reference) == ("A1024", "A1025")


async def test_references_grow_a_digit_once_the_short_ones_are_crowded(
    person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over a store's life the 9,000 four-digit references fill up: once two draws in a row are taken, every
    # later booking gets five digits at once instead of paying for the misses again.
    drawn: list[int] = []  # the size of each draw: 9000 for four digits, 90000 for five
    rolls = iter([24, 24, 24, 5, 6])

    def roll(n: int) -> int:
        drawn.append(n)
        return next(rolls)

    monkeypatch.setattr(secrets, "randbelow", roll)
    first = await book(person, "inspection", at("11-29 10:00"))
    crowded = await book(person, "inspection", at("11-29 10:00"))
    after = await book(person, "inspection", at("11-29 10:00"))
    assert (first.reference, crowded.reference, after.reference) == ("A1024", "A10005", "A10006")
    assert drawn == [9000, 9000, 9000, 90000, 90000]
    # A restarted worker starts at the length of the newest reference.
    booking.forget_reference_length()
    rolls = iter([7])
    assert (await book(person, "inspection", at("11-29 10:30"))).reference == "A10007"
    assert drawn[-1] == 90000


async def test_upcoming_lists_booked_future_appointments_soonest_first(person: Person) -> None:
    customer, vehicle = await person()
    later = await booking.create(customer, vehicle, "maintenance", at("12-05 10:00"), NOW)
    sooner = await booking.create(customer, vehicle, "maintenance", at("11-29 10:00"), NOW)
    cancelled = await booking.create(customer, vehicle, "maintenance", at("11-30 10:00"), NOW)
    await booking.cancel(cancelled, NOW)
    await book(person, "maintenance", at("11-29 12:00"))  # someone else's
    assert [a.id for a in await booking.upcoming(customer, NOW)] == [sooner.id, later.id]
    assert [a.id for a in await booking.upcoming(customer, at("11-30 00:00"))] == [later.id]


async def test_a_reference_finds_only_the_customers_own_appointment(person: Person) -> None:
    customer, vehicle = await person()
    own = await booking.create(customer, vehicle, "maintenance", at("11-29 10:00"), NOW)
    others = await book(person, "maintenance", at("11-29 10:00"))
    found = await booking.for_customer_by_reference(customer, f" {own.reference.lower()} ")
    assert found is not None and found.id == own.id
    assert await booking.for_customer_by_reference(customer, others.reference) is None
    assert await booking.for_customer_by_reference(customer, "A0000") is None


async def test_cancelling_frees_the_slot_and_tells_both_sides(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk1")
    appointments = [await book(person, "maintenance", at("11-29 15:00")) for _ in range(3)]
    cancelled = await booking.cancel(appointments[0], NOW)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == NOW
    assert (await load(at("11-29 15:00")), await load(at("11-29 15:30"))) == (2, 2)
    assert (await schedule.check("maintenance", at("11-29 15:00"), NOW)).ok
    rows = await OutboxMessage.filter(dedupe_key__startswith=f"appt:{cancelled.id}:")
    assert {row.dedupe_key for row in rows} == {
        f"appt:{cancelled.id}:confirmed",
        f"appt:{cancelled.id}:new:staff",
        f"appt:{cancelled.id}:cancelled",
        f"appt:{cancelled.id}:cancelled:staff",
    }
    again = await booking.cancel(cancelled, NOW)  # a repeated cancel changes nothing
    assert again.status == "cancelled" and await load(at("11-29 15:00")) == 2


async def test_two_cancels_at_once_release_the_capacity_once(person: Person) -> None:
    first = await book(person, "maintenance", at("11-29 15:00"))
    await book(person, "maintenance", at("11-29 15:00"))
    copies = [await Appointment.get(id=first.id) for _ in range(2)]
    results = await asyncio.gather(*(booking.cancel(c, NOW) for c in copies))
    assert {r.status for r in results} == {AppointmentStatus.CANCELLED}
    assert await load(at("11-29 15:00")) == 1
    await assert_loads_match_appointments()


async def test_changes_within_two_hours_of_the_start_are_refused(person: Person) -> None:
    appointment = await book(person, "maintenance", at("11-28 12:00"))
    assert not await booking.can_change(appointment, NOW)
    assert await booking.can_change(appointment, NOW, by_customer=False)
    with pytest.raises(booking.TooLate) as late:
        await booking.cancel(appointment, NOW)
    assert late.value.deadline == at("11-28 10:00")
    # The old start decides, however far away the new time is.
    with pytest.raises(booking.TooLate):
        await booking.reschedule(appointment, at("12-05 10:00"), NOW)
    # Exactly two hours ahead is still allowed; a minute later is not.
    later = await book(person, "maintenance", at("11-28 13:00"))
    assert await booking.can_change(later, NOW + timedelta(minutes=30))
    assert not await booking.can_change(later, NOW + timedelta(minutes=31))
    with pytest.raises(booking.TooLate):
        await booking.cancel(later, NOW + timedelta(minutes=31))
    assert (await booking.cancel(later, NOW + timedelta(minutes=30))).status == "cancelled"
    # The store itself may still cancel.
    assert (await booking.cancel(appointment, NOW, by_customer=False)).status == "cancelled"
    assert await load(at("11-28 12:00")) == 0


async def test_appointments_past_booked_cannot_change(person: Person) -> None:
    appointment = await book(person, "maintenance", at("11-29 15:00"))
    await Appointment.filter(id=appointment.id).update(status=AppointmentStatus.CHECKED_IN)
    await appointment.refresh_from_db()
    assert not await booking.can_change(appointment, NOW)
    with pytest.raises(booking.NotChangeable):
        await booking.cancel(appointment, NOW)
    with pytest.raises(booking.NotChangeable):
        await booking.reschedule(appointment, at("11-30 15:00"), NOW)


async def test_rescheduling_moves_the_capacity(person: Person) -> None:
    await add_staff("王顾问", openid="o_clerk1")
    appointment = await book(person, "maintenance", at("11-29 15:00"))
    moved = await booking.reschedule(appointment, at("11-30 09:00"), NOW)
    assert (moved.start_at, moved.end_at, moved.changes) == (at("11-30 09:00"), at("11-30 10:00"), 1)
    assert [await load(at(t)) for t in ("11-29 15:00", "11-29 15:30", "11-30 09:00", "11-30 09:30")] == [0, 0, 1, 1]
    again = await booking.reschedule(moved, at("11-30 14:00"), NOW)
    assert again.changes == 2
    rows = await OutboxMessage.filter(dedupe_key__contains=":changed:").order_by("id")
    assert [row.dedupe_key for row in rows] == [
        f"appt:{appointment.id}:changed:1",
        f"appt:{appointment.id}:changed:1:staff",
        f"appt:{appointment.id}:changed:2",
        f"appt:{appointment.id}:changed:2:staff",
    ]
    await assert_loads_match_appointments()


async def test_moving_to_the_same_time_changes_nothing(person: Person) -> None:
    appointment = await book(person, "maintenance", at("11-29 15:00"))
    same = await booking.reschedule(appointment, at("11-29 15:00"), NOW)
    assert same.changes == 0 and await load(at("11-29 15:00")) == 1


async def test_a_move_may_overlap_its_own_full_slots(person: Person) -> None:
    mine = await book(person, "maintenance", at("11-29 15:00"))
    for _ in range(2):
        await book(person, "inspection", at("11-29 15:30"))  # 15:30 is now full, one place being mine
    moved = await booking.reschedule(mine, at("11-29 15:30"), NOW)
    assert moved.start_at == at("11-29 15:30")
    assert [await load(at(f"11-29 {t}")) for t in ("15:00", "15:30", "16:00")] == [0, 3, 1]
    await assert_loads_match_appointments()


async def test_a_move_to_a_full_time_offers_others_but_not_the_current_one(person: Person) -> None:
    mine = await book(person, "inspection", at("11-29 15:30"))
    for _ in range(3):
        await book(person, "inspection", at("11-29 15:00"))
    with pytest.raises(booking.SlotUnavailable) as refused:
        await booking.reschedule(mine, at("11-29 15:00"), NOW)
    assert refused.value.check.reason == "full"
    assert refused.value.check.alternatives == [at("11-29 14:00"), at("11-29 14:30"), at("11-29 16:00")]
    assert await load(at("11-29 15:30")) == 1  # nothing moved


async def test_a_move_onto_another_own_appointment_is_refused(person: Person) -> None:
    customer, vehicle = await person()
    first = await booking.create(customer, vehicle, "maintenance", at("11-29 10:00"), NOW)
    second = await booking.create(customer, vehicle, "maintenance", at("11-29 14:00"), NOW)
    with pytest.raises(booking.Overlap) as overlap:
        await booking.reschedule(second, at("11-29 10:30"), NOW)
    assert overlap.value.existing.id == first.id
    await second.refresh_from_db()
    assert second.start_at == at("11-29 14:00")


async def test_crossing_moves_do_not_deadlock(person: Person) -> None:
    a = [await book(person, "inspection", at("11-29 10:00")) for _ in range(3)]
    b = [await book(person, "inspection", at("11-29 11:00")) for _ in range(3)]
    results = await asyncio.gather(
        *(booking.reschedule(x, at("11-29 11:00"), NOW) for x in a),
        *(booking.reschedule(x, at("11-29 10:00"), NOW) for x in b),
        return_exceptions=True,
    )
    assert all(isinstance(r, Appointment | booking.SlotUnavailable) for r in results), results
    await assert_loads_match_appointments()


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (at("11-29 15:00"), "11月29日（周日）15:00"),
        (at("11-30 08:30"), "11月30日（周一）08:30"),
        (at("12-05 17:00").astimezone(UTC), "12月5日（周六）17:00"),
    ],
)
def test_format_when(moment: object, text: str) -> None:
    assert booking.format_when(moment, TZ) == text  # type: ignore[arg-type]
