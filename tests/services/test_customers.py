"""Who the customer is: linking WeChat users to the store's records, one per person and per car."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable

import pytest
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from bot.models import Appointment, Customer, StaffRole, StoreCounter, Vehicle
from bot.services import booking, customers, outbox
from bot.services.customers import Identified
from tests.conftest import TEST_DATABASE
from tests.services.conftest import NOW, Person, add_staff, at


async def dealership_record(name: str, mobile: str | None, *plates: str) -> Customer:
    """A customer the store entered before the person ever wrote to us."""
    record = await Customer.create(name=name, mobile=mobile, created_at=NOW)
    for plate in plates:
        await Vehicle.create(customer=record, plate=plate, created_at=NOW)
    return record


async def test_a_new_customer_is_created_with_the_car(store: None) -> None:
    customer, vehicle, created = await customers.identify(
        "o_new", name=" 张伟 ", mobile="+86 138-0013-8000", plate="粤a·12345", now=NOW
    )
    assert created
    assert (customer.openid, customer.name, customer.mobile, customer.owner_id) == (
        "o_new",
        "张伟",
        "13800138000",
        None,
    )
    assert (vehicle.plate, vehicle.customer_id) == ("粤A12345", customer.id)


async def test_new_customers_get_active_clerks_in_turn(person: Person) -> None:
    first = await add_staff("王顾问")
    await add_staff("赵经理", role=StaffRole.MANAGER)
    await add_staff("离职顾问", active=False)
    second = await add_staff("李顾问")
    owners = [(await person())[0].owner_id for _ in range(5)]
    assert owners == [first.id, second.id, first.id, second.id, first.id]


async def test_the_stores_record_is_linked_by_mobile_and_plate_not_duplicated(store: None) -> None:
    owner = await add_staff("王顾问")
    record = await dealership_record("张先生", "13800138000", "粤A12345")
    await Customer.filter(id=record.id).update(owner_id=owner.id)
    customer, vehicle, created = await customers.identify(
        "o_zhang", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW
    )
    assert not created
    assert customer.id == record.id and vehicle.customer_id == record.id
    assert (customer.openid, customer.name, customer.owner_id) == ("o_zhang", "张先生", owner.id)
    assert await Customer.all().count() == 1 and await Vehicle.all().count() == 1


async def test_the_stores_record_is_linked_by_mobile_with_a_new_car(store: None) -> None:
    record = await dealership_record("", "13800138000", "粤A12345")
    customer, vehicle, created = await customers.identify(
        "o_zhang", name="张伟", mobile="13800138000", plate="粤B88888", now=NOW
    )
    assert not created
    assert customer.id == record.id and customer.name == "张伟"
    assert [v.plate for v in await customers.vehicles_of(customer)] == ["粤A12345", "粤B88888"]
    assert vehicle.plate == "粤B88888"


async def test_of_two_records_with_the_mobile_the_one_with_the_car_wins(store: None) -> None:
    await dealership_record("张伟", "13800138000", "粤A11111")
    with_car = await dealership_record("张伟", "13800138000", "粤A12345")
    customer, _, _ = await customers.identify("o_zhang", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW)
    assert customer.id == with_car.id


async def test_a_duplicate_record_hands_its_car_to_the_linked_one(store: None) -> None:
    linked = await dealership_record("张伟", "13800138000", "粤A11111")
    duplicate = await dealership_record("张伟", "13800138000", "粤A12345")
    customer, _, _ = await customers.identify("o_zhang", name="张伟", mobile="13800138000", plate="粤A11111", now=NOW)
    assert customer.id == linked.id
    car = await Vehicle.get(plate="粤A12345")
    old = await Appointment.create(
        reference="A9999",
        customer_id=duplicate.id,
        vehicle_id=car.id,
        service="maintenance",
        start_at=at("11-20 10:00"),
        end_at=at("11-20 11:00"),
        status="completed",
        created_at=NOW,
        updated_at=NOW,
    )
    vehicle = await customers.add_vehicle(customer, "粤A12345", NOW)
    assert vehicle.id == car.id and vehicle.customer_id == linked.id
    await old.refresh_from_db()
    assert old.customer_id == linked.id


async def test_a_returning_customer_is_found_by_openid(person: Person) -> None:
    customer, vehicle = await person(openid="o_back")
    found = await customers.by_openid("o_back")
    assert found is not None and found.id == customer.id
    assert [v.plate for v in await customers.vehicles_of(found)] == [vehicle.plate]
    assert await customers.by_openid("o_stranger") is None
    again, same_car, _ = await customers.identify(
        "o_back", name="别名", mobile="13900000000", plate=vehicle.plate, now=NOW
    )
    assert (again.id, same_car.id, again.name, again.mobile) == (
        customer.id,
        vehicle.id,
        customer.name,
        customer.mobile,
    )
    assert await Customer.all().count() == 1 and await Vehicle.all().count() == 1


async def test_another_persons_plate_is_not_taken_and_nothing_is_linked(person: Person) -> None:
    await dealership_record("李四", "13900001111", "粤A12345")
    with pytest.raises(customers.PlateTaken) as taken:
        await customers.identify("o_zhang", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW)
    assert taken.value.plate == "粤A12345"
    assert await customers.by_openid("o_zhang") is None and await Customer.all().count() == 1


async def test_a_plate_on_a_linked_account_stays_there_even_with_the_same_mobile(person: Person) -> None:
    await person(openid="o_dad", mobile="13800138000", plate="粤A12345")
    with pytest.raises(customers.PlateTaken):
        await customers.identify("o_son", name="小张", mobile="13800138000", plate="粤A12345", now=NOW)


async def test_a_plate_on_a_record_without_a_mobile_is_not_handed_out(store: None) -> None:
    await dealership_record("王五", None, "粤A12345")
    with pytest.raises(customers.PlateTaken):
        await customers.identify("o_wang", name="王五", mobile="13800138000", plate="粤A12345", now=NOW)


async def test_add_vehicle_for_a_returning_customer(person: Person) -> None:
    customer, first = await person()
    _, others = await person()
    added = await customers.add_vehicle(customer, "粤B 6666D", NOW)
    assert added.plate == "粤B6666D" and added.customer_id == customer.id
    assert (await customers.add_vehicle(customer, first.plate, NOW)).id == first.id
    with pytest.raises(customers.PlateTaken):
        await customers.add_vehicle(customer, others.plate, NOW)
    assert [v.plate for v in await customers.vehicles_of(customer)] == [first.plate, "粤B6666D"]


@pytest.mark.parametrize(
    ("mobile", "plate"), [("12345", "粤A12345"), ("13800138000", "A12345"), ("13800138000", "粤A12345 粤B12345")]
)
async def test_bad_contact_details_are_refused(store: None, mobile: str, plate: str) -> None:
    with pytest.raises(ValueError):
        await customers.identify("o_x", name="张伟", mobile=mobile, plate=plate, now=NOW)


async def test_one_user_identified_twice_at_once_is_one_customer(store: None) -> None:
    results = await asyncio.gather(
        customers.identify("o_twice", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW),
        customers.identify("o_twice", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert await Customer.all().count() == 1 and await Vehicle.all().count() == 1


async def test_a_customer_never_sees_another_customers_appointments(person: Person) -> None:
    mine, _ = await person()
    theirs, their_car = await person()
    await booking.create(theirs, their_car, "maintenance", at("11-29 10:00"), NOW)
    assert await booking.upcoming(mine, NOW) == []


async def test_a_taken_unique_value_is_skipped_and_the_transaction_stays_usable(person: Person) -> None:
    customer, vehicle = await person()
    async with in_transaction():
        duplicate = Vehicle(customer_id=customer.id, plate=vehicle.plate, created_at=NOW)
        assert not await outbox.insert_unless_taken(duplicate, "plate")
        assert duplicate.pk is None
        fresh = Vehicle(customer_id=customer.id, plate="粤B99999", created_at=NOW)
        assert await outbox.insert_unless_taken(fresh, "plate")
    assert (await Vehicle.get(id=fresh.pk)).plate == "粤B99999"
    assert await Vehicle.filter(plate=vehicle.plate).count() == 1


async def test_a_linked_record_without_an_owner_gets_the_next_clerk_in_turn(store: None) -> None:
    first, second = await add_staff("王顾问"), await add_staff("李顾问")
    record = await dealership_record("张先生", "13800138000", "粤A12345")
    newcomer, _, created = await customers.identify(
        "o_new", name="赵六", mobile="13900000001", plate="粤B00001", now=NOW
    )
    assert created and newcomer.owner_id == first.id
    linked, _, created = await customers.identify(
        "o_zhang", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW
    )
    assert not created and linked.id == record.id and linked.owner_id == second.id
    assert (await Customer.get(id=record.id)).owner_id == second.id  # type: ignore[attr-defined]
    # The turn is counted outside any row lock on PostgreSQL (a sequence), in a row on SQLite.
    if connections.get("default").capabilities.dialect == "postgres":
        turn = await connections.get("default").execute_query_dict(f"SELECT last_value FROM {customers.OWNER_COUNTER}")
        assert turn[0]["last_value"] == 2
    else:
        assert (await StoreCounter.get(name=customers.OWNER_COUNTER)).value == 2


async def test_a_first_bookings_lookup_reads_by_index_not_every_unlinked_record(store: None) -> None:
    """A store that imported many customers has many records without a WeChat link: the lookup must not
    read them all (it once searched the openid index for NULL)."""
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    sql = customers._candidates_sql(outbox.placeholder())
    params = ["o_zhang", "13800138000", "粤A12345"]
    async with in_transaction() as tx:
        if dialect == "postgres":
            await tx.execute_script("SET LOCAL enable_seqscan = off")  # a tiny table is scanned otherwise
            rows = await tx.execute_query_dict(f"EXPLAIN {sql}", params)
            plan = "\n".join(str(r["QUERY PLAN"]) for r in rows)
            assert "Seq Scan" not in plan and "openid IS NULL" not in plan, plan
            # The same lookup as the first part of the statement that also creates the record (PostgreSQL).
            both, both_params = customers._candidates_or_create_sql(
                Customer(openid="o_zhang", name="张伟", mobile="13800138000", mobile_rev="00083100831", created_at=NOW),
                Vehicle(plate="粤A12345", plate_rev="54321A粤", created_at=NOW),
            )
            rows = await tx.execute_query_dict(f"EXPLAIN {both}", both_params)
            plan = "\n".join(str(r["QUERY PLAN"]) for r in rows)
            assert "Seq Scan" not in plan.replace("Seq Scan on staff", "") and "openid IS NULL" not in plan, plan
        else:
            rows = await tx.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = "\n".join(str(r["detail"]) for r in rows)
            assert "SCAN" not in plan.replace("SCALAR", "") and "(mobile=?)" in plan, plan


async def _while_another_worker_writes(write: Callable[[], Awaitable[object]]) -> Identified:
    """Zhang's first booking (o_zhang, 13800138000, 粤A12345) while another worker's `write` is made in its own
    transaction, committed only once the booking waits for it: on PostgreSQL an INSERT whose key another
    transaction has just written waits to see whether it commits. The booking read before that commit, so
    it met the other write only at its own insert, the race the lookup cannot see."""
    written, commit = asyncio.Event(), asyncio.Event()

    async def other_worker() -> None:
        async with in_transaction():
            await write()
            written.set()
            await commit.wait()

    other = asyncio.create_task(other_worker(), context=contextvars.Context())
    await written.wait()
    booking = asyncio.create_task(
        customers.identify("o_zhang", name="张伟", mobile="13800138000", plate="粤A12345", now=NOW),
        context=contextvars.Context(),
    )
    try:
        waiting = (
            "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(500):
            if (await connections.get("default").execute_query_dict(waiting))[0]["n"] or booking.done():
                break
            await asyncio.sleep(0.01)
        assert not booking.done()  # it waits for the other worker
    finally:
        commit.set()
        await other
    return await booking


concurrent_writers = pytest.mark.skipif(
    TEST_DATABASE != "postgres", reason="a second writer while the booking's transaction is open (PostgreSQL)"
)


@concurrent_writers
async def test_a_plate_registered_to_someone_else_meanwhile_refuses_and_keeps_nothing(store: None) -> None:
    other = await dealership_record("李四", "13900009999")
    with pytest.raises(customers.PlateTaken):
        await _while_another_worker_writes(lambda: Vehicle.create(customer=other, plate="粤A12345", created_at=NOW))
    assert [c.name for c in await Customer.all()] == ["李四"]  # the new record was rolled back with it
    assert (await Vehicle.get(plate="粤A12345")).customer_id == other.id  # type: ignore[attr-defined]


@concurrent_writers
async def test_the_same_persons_car_registered_meanwhile_moves_to_the_new_record(store: None) -> None:
    async def store_enters_the_car() -> None:
        await dealership_record("张先生", "13800138000", "粤A12345")

    customer, vehicle, created = await _while_another_worker_writes(store_enters_the_car)
    assert created and customer.openid == "o_zhang"
    assert vehicle.customer_id == customer.id and (await Vehicle.get(plate="粤A12345")).customer_id == customer.id


@concurrent_writers
async def test_an_openid_linked_meanwhile_is_used_not_duplicated(store: None) -> None:
    clerk = await add_staff("王顾问")
    customer, vehicle, created = await _while_another_worker_writes(
        lambda: Customer.create(openid="o_zhang", name="张伟", mobile="13800138000", owner=clerk, created_at=NOW)
    )
    assert not created and customer.owner_id == clerk.id
    assert await Customer.all().count() == 1
    assert vehicle.customer_id == customer.id and await Vehicle.all().count() == 1
