"""Who the customer is: WeChat users linked to the store's customer records, their vehicles and owners."""

# One record per person and one per vehicle. A first booking links the openid to the record the store
# already keeps for that mobile number (preferring the one that owns the plate); a plate on another
# person's record is never moved to the speaker.

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, cast

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import connections
from tortoise.models import Model

from bot.models import Appointment, Customer, StaffRole, Vehicle
from bot.models.booking import reverse
from bot.nlu.phone import parse_mobile
from bot.nlu.plate import is_plate, parse_plate
from bot.services.outbox import atomic, insert_columns, insert_unless_taken, placeholder
from bot.sqlite_engine import runs_inline

OWNER_COUNTER: Final = "owner_round_robin"
NAME_MAX = 32


class PlateTaken(Exception):
    """The plate is registered to another customer; the store, not the bot, sorts that out."""

    def __init__(self, plate: str) -> None:
        super().__init__(f"plate {plate} belongs to another customer")
        self.plate = plate


class Identified(NamedTuple):
    customer: Customer
    vehicle: Vehicle
    # A record made just now, in the caller's transaction: nobody else sees it and it has no appointments.
    created: bool


# A read of by_openid started ahead of the turn that needs it (`reading_ahead`): (openid, its task).
_ahead: ContextVar[tuple[str, asyncio.Task[Customer | None]] | None] = ContextVar("customer_ahead", default=None)


@contextlib.contextmanager
def reading_ahead(openid: str) -> Iterator[None]:
    """Start reading the customer linked to `openid` now; the first `by_openid(openid)` of this turn (this
    task) takes the result. The router opens it beside the session load of a command whose first read is
    the customer (预约): the user waits for one round trip instead of two in a row."""
    if runs_inline():  # SQLite: the read costs no wait, and a task would add one turn of the loop
        yield
        return
    task = asyncio.ensure_future(_by_openid(openid))
    # A read nobody takes runs to its end (a query is not cut off half-way); a failure of it is dropped,
    # not reported as never retrieved: whoever needs the customer reads again.
    task.add_done_callback(_drop_outcome)
    token = _ahead.set((openid, task))
    try:
        yield
    finally:
        _ahead.reset(token)


def _drop_outcome(task: asyncio.Task[Customer | None]) -> None:
    if not task.cancelled():
        task.exception()


async def by_openid(openid: str) -> Customer | None:
    """The customer linked to this WeChat user; None for a stranger. One query: callers that need the
    vehicles ask `vehicles_of`, so the many that do not (listing, cancelling, booking) pay nothing for them."""
    ahead = _ahead.get()
    # Not inside a transaction: a read made before it began is not part of its snapshot.
    if ahead is not None and ahead[0] == openid and not isinstance(connections.get("default"), TransactionalDBClient):
        _ahead.set(None)
        return await ahead[1]
    return await _by_openid(openid)


async def _by_openid(openid: str) -> Customer | None:
    p = placeholder()
    found = await _customers(f'"openid" = {p}1', [openid])
    return found[0] if found else None


async def vehicles_of(customer: Customer) -> list[Vehicle]:
    """The customer's vehicles, first registered first."""
    return await Vehicle.filter(customer_id=customer.id).order_by("created_at", "id")


async def identify(openid: str, *, name: str, mobile: str, plate: str, now: datetime) -> Identified:
    """Link `openid` to its customer record and return it with the vehicle for `plate`.

    The record is, in this order: the one already linked to `openid`; the dealership's unlinked record
    that owns `plate` under the same mobile; the dealership's oldest unlinked record with that mobile; a
    new one. The vehicle is re-used when it is theirs (or on an unlinked duplicate record of the same
    mobile, which is moved over), created when new. A customer without an owner gets the next active clerk
    in rotation (None when the store has no clerk). `PlateTaken` is raised before anything is written.

    Raises ValueError for an invalid plate, mobile or empty openid, `PlateTaken` for another's plate.
    """
    if not openid:
        raise ValueError("openid is required")
    plate = normalise_plate(plate)
    mobile = normalise_mobile(mobile)
    name = name.strip()[:NAME_MAX]
    # No savepoint inside the caller's transaction (a booking's confirmation): another person's plate is
    # refused before anything is written. Only a plate someone else registers at this very moment is found
    # after the speaker's record was linked; that link (their own record) then stays with the caller's commit.
    async with atomic():
        if connections.get("default").capabilities.dialect == "postgres":
            # The lookup and, when it finds nobody the store knows, the new record and its vehicle: one statement.
            found, vehicle, created_now = await _candidates_or_create(openid, name, mobile, plate, now)
            if created_now is not None:
                return created_now
            if not found:  # the openid was linked a moment ago (another worker): as below
                found, vehicle = await _candidates(openid, mobile, plate)
        else:
            found, vehicle = await _candidates(openid, mobile, plate)
        customer = next((record for record in found if record.openid == openid), None)
        if vehicle is not None and not _may_take(vehicle, customer, mobile):
            raise PlateTaken(plate)
        created = False
        if customer is None:
            unlinked = [record for record in found if _same_person(record, mobile)]
            customer, created = await _link(openid, name, mobile, vehicle, unlinked, now)
        else:
            await _complete(customer, name, mobile)
        vehicle = await _attach(customer, plate, vehicle, now)
        if not created:  # a new record's owner was picked with it (None: the store has no clerk)
            await _ensure_owner(customer)
    return Identified(customer, vehicle, created)


async def add_vehicle(customer: Customer, plate: str, now: datetime) -> Vehicle:
    """The vehicle with `plate` for a known customer: theirs if already registered, else added.

    Raises ValueError for an invalid plate and `PlateTaken` when it is registered to someone else.
    """
    plate = normalise_plate(plate)
    # PlateTaken is raised before anything is written, so only moving a duplicate's car needs atomicity.
    async with atomic():
        vehicle = await _vehicle_by_plate(plate)
        return await _attach(customer, plate, vehicle, now)


async def _customers(where: str, params: list[Any]) -> list[Customer]:
    """Customer records matching a raw WHERE clause, oldest first.

    These reads run on every booking (its first message and its confirmation): raw SQL skips the ORM's
    query building, which cost more CPU than the query itself; rows become models by the ORM's own loader.
    """
    sql = f'SELECT * FROM "customer" WHERE {where} ORDER BY "created_at", "id"'
    rows = await connections.get("default").execute_query_dict(sql, params)
    return [Customer._init_from_db(**row) for row in rows]


def _projection(model: type[Model], table: str, prefix: str) -> str:
    return ", ".join(
        f'{table}."{column}" AS "{prefix}{column}"' for column in model._meta.fields_db_projection.values()
    )


@functools.cache
def _vehicle_with_owner_sql() -> str:
    # Built on first use: the foreign keys' columns (owner_id, customer_id) join the models' projections
    # only when Tortoise initialises, after this module is imported.
    return (
        f"SELECT {_projection(Vehicle, 'v', 'v.')}, {_projection(Customer, 'c', 'c.')} "
        'FROM "vehicle" v JOIN "customer" c ON c."id" = v."customer_id" WHERE v."plate" = '
    )


async def _vehicle_by_plate(plate: str) -> Vehicle | None:
    """The vehicle with this (normalised) plate and, in `vehicle.customer`, its owner's record: one raw
    statement (every booking's confirmation reads it; the ORM's select_related cost more than the query)."""
    rows = await connections.get("default").execute_query_dict(_vehicle_with_owner_sql() + f"{placeholder()}1", [plate])
    if not rows:
        return None
    row = rows[0]
    vehicle = Vehicle._init_from_db(**{k[2:]: v for k, v in row.items() if k.startswith("v.")})
    vehicle.customer = Customer._init_from_db(**{k[2:]: v for k, v in row.items() if k.startswith("c.")})
    return vehicle


@functools.cache
def _candidates_sql(p: str) -> str:
    return (
        f"SELECT {_projection(Customer, 'c', '')}, {_projection(Vehicle, 'v', 'v.')} "
        f'FROM "customer" c LEFT JOIN "vehicle" v ON v."customer_id" = c."id" AND v."plate" = {p}3 '
        f'WHERE c."openid" = {p}1 OR c."mobile" = {p}2 '
        f'OR c."id" = (SELECT "customer_id" FROM "vehicle" WHERE "plate" = {p}3) '
        'ORDER BY c."created_at", c."id"'
    )


async def _candidates(openid: str, mobile: str, plate: str) -> tuple[list[Customer], Vehicle | None]:
    """What a first booking can be linked to, in one statement: the record already linked to `openid`, the
    records of `mobile` (oldest first; the caller keeps the unlinked ones), and the record owning `plate`,
    whoever's it is; with that vehicle (its `customer` set) or None.

    Each condition is a plain equality on its own index. ("mobile = ? AND openid IS NULL" led SQLite to
    search the openid index for NULL: every unlinked record the store ever imported.)"""
    rows = await connections.get("default").execute_query_dict(_candidates_sql(placeholder()), [openid, mobile, plate])
    return _found(rows)


def _found(rows: list[dict[str, Any]]) -> tuple[list[Customer], Vehicle | None]:
    """`_candidates_sql`'s rows as records and the plate's vehicle; a row with no record ("id" NULL) is skipped."""
    found: list[Customer] = []
    vehicle: Vehicle | None = None
    for row in rows:
        if row["id"] is None:
            continue
        customer = Customer._init_from_db(**{k: v for k, v in row.items() if "." not in k})
        found.append(customer)
        if row["v.id"] is not None:
            vehicle = Vehicle._init_from_db(**{k[2:]: v for k, v in row.items() if k.startswith("v.")})
            vehicle.customer = customer
    return found, vehicle


def normalise_plate(text: str) -> str:
    """The plate as stored (粤A12345); ValueError unless `text` is exactly one plate."""
    if not is_plate(text):
        raise ValueError(f"not a licence plate: {text!r}")
    return cast(str, parse_plate(text))


def normalise_mobile(text: str) -> str:
    """The mainland mobile as 11 digits; ValueError when there is none."""
    mobile = parse_mobile(text)
    if mobile is None:
        raise ValueError(f"not a mainland mobile number: {text!r}")
    return mobile


async def _link(
    openid: str, name: str, mobile: str, vehicle: Vehicle | None, unlinked: list[Customer], now: datetime
) -> tuple[Customer, bool]:
    """The record `openid` now uses, and whether it is new: the unlinked one owning the plate, else the
    oldest unlinked one of the mobile (`unlinked`, oldest first), else a new one with the next clerk in
    rotation as its owner."""
    candidates: list[Customer] = []
    if vehicle is not None and _same_person(vehicle.customer, mobile):
        candidates.append(vehicle.customer)
    candidates += [record for record in unlinked if record.openid is None]
    for record in candidates:
        # Conditional, so a record another user linked a moment ago is not taken over.
        if await Customer.filter(id=record.id, openid__isnull=True).update(openid=openid):
            await record.refresh_from_db()
            await _complete(record, name, mobile)
            return record, False
    customer = Customer(
        openid=openid,
        name=name,
        mobile=mobile,
        mobile_rev=reverse(mobile),
        created_at=now.astimezone(UTC),
        owner_id=await _next_clerk(),
    )
    if await insert_unless_taken(customer, "openid"):
        return customer, True
    # The same user's other message linked them first (a second worker, no shared lock).
    return await Customer.get(openid=openid), False


async def _complete(customer: Customer, name: str, mobile: str) -> None:
    """Fill in what the record lacks; a known name or mobile is kept (the store's data wins)."""
    updates: dict[str, str | None] = {}
    if not customer.name and name:
        updates["name"] = name
    if customer.mobile is None:
        updates["mobile"] = mobile
        updates["mobile_rev"] = reverse(mobile)
    if updates:
        await Customer.filter(id=customer.id).update(**updates)
        for field, value in updates.items():
            setattr(customer, field, value)


def _may_take(vehicle: Vehicle, customer: Customer | None, mobile: str) -> bool:
    """Whether the speaker (`customer`, their linked record, or None for a first link by `mobile`) may book
    with this registered vehicle: theirs, or on the store's unlinked record of the same person."""
    if customer is not None and vehicle.customer_id == customer.id:
        return True
    return _same_person(vehicle.customer, (customer.mobile if customer else None) or mobile)


def _same_person(record: Customer, mobile: str | None) -> bool:
    """An unlinked record of the store under the same mobile: this person's, not someone else's."""
    return record.openid is None and mobile is not None and record.mobile == mobile


async def _attach(customer: Customer, plate: str, vehicle: Vehicle | None, now: datetime) -> Vehicle:
    if vehicle is None:
        new = Vehicle(customer_id=customer.id, plate=plate, plate_rev=reverse(plate), created_at=now.astimezone(UTC))
        if await insert_unless_taken(new, "plate"):
            return new
        # Registered a moment ago by someone else's booking.
        vehicle = await _vehicle_by_plate(plate)
        assert vehicle is not None
    if vehicle.customer_id == customer.id:
        return vehicle
    if not _same_person(vehicle.customer, customer.mobile):
        raise PlateTaken(plate)
    # The store keeps a duplicate record of this person with the car on it: move the car, and its
    # appointments, to the record the person now uses.
    await Vehicle.filter(id=vehicle.id).update(customer_id=customer.id)
    await Appointment.filter(vehicle_id=vehicle.id, customer_id=vehicle.customer_id).update(customer_id=customer.id)
    return await Vehicle.get(id=vehicle.id)


async def _ensure_owner(customer: Customer) -> None:
    """Give an ownerless customer the next active clerk in rotation (none when the store has no clerk)."""
    if customer.owner_id is not None:
        return
    clerk = await _next_clerk()
    if clerk is not None and await Customer.filter(id=customer.id, owner_id__isnull=True).update(owner_id=clerk):
        customer.owner_id = clerk


def _clerk_at(turn: str, role: str, active: str) -> str:
    """A scalar subquery: the active clerk (in id order) at round-robin `turn` (an SQL expression), NULL
    when the store has no active clerk. `role` and `active` are the parameters holding the clerk role and
    TRUE ("$1", "$2")."""
    clerks = f'FROM "staff" WHERE "role" = {role} AND "active" = {active}'
    offset = f"COALESCE(({turn} - 1) % NULLIF((SELECT COUNT(*) {clerks}), 0), 0)"
    return f'(SELECT "id" {clerks} ORDER BY "id" LIMIT 1 OFFSET {offset})'


# PostgreSQL's next turn: a sequence, which takes no lock (see `_next_clerk`).
_PG_TURN = f"(SELECT nextval('{OWNER_COUNTER}') AS turn) t"


async def _next_clerk() -> int | None:
    """The active clerk (in id order) at the next round-robin turn, or None when the store has no active
    clerk. The clerk is picked among the clerks as they are when the turn is taken, so one deactivated a
    moment ago is never given a customer.

    The turn comes from a PostgreSQL sequence, which takes no lock: a counter row would stay locked until the
    booking's commit and make every concurrent first booking wait for it. SQLite, which has no sequences
    and runs one writer at a time anyway, counts in the `store_counter` row."""
    conn = connections.get("default")
    params: list[Any] = [StaffRole.CLERK.value, True]
    if conn.capabilities.dialect == "postgres":
        sql = f'SELECT {_clerk_at("t.turn", "$1", "$2")} AS "clerk" FROM {_PG_TURN}'
    else:
        counted = await conn.execute_query_dict(
            'INSERT INTO "store_counter" ("name", "value") VALUES (?1, 1) '
            'ON CONFLICT ("name") DO UPDATE SET "value" = "store_counter"."value" + 1 RETURNING "value"',
            [OWNER_COUNTER],
        )
        sql, params = f'SELECT {_clerk_at("?3", "?1", "?2")} AS "clerk"', [*params, counted[0]["value"]]
    clerk = (await conn.execute_query_dict(sql, params))[0]["clerk"]
    return int(clerk) if clerk is not None else None


async def _candidates_or_create(
    openid: str, name: str, mobile: str, plate: str, now: datetime
) -> tuple[list[Customer], Vehicle | None, Identified | None]:
    """PostgreSQL: `_candidates`, and when they find nobody, the new customer (the next clerk in rotation as
    owner) and their vehicle, in one statement instead of two round trips inside the booking's transaction.

    Returns what `_candidates` returns and None when someone was found; ([], None, the new record) when it
    was created; ([], None, None) when the openid was linked meanwhile (another worker), for the caller to
    look again. When the plate was registered meanwhile the customer is kept and the vehicle goes the usual
    way (`_attach`: the same person's car is moved over, another's is refused and rolls the booking back)."""
    stamp = now.astimezone(UTC)
    customer = Customer(openid=openid, name=name, mobile=mobile, mobile_rev=reverse(mobile), created_at=stamp)
    vehicle = Vehicle(plate=plate, plate_rev=reverse(plate), created_at=stamp)
    sql, params = _candidates_or_create_sql(customer, vehicle)
    rows = await connections.get("default").execute_query_dict(sql, params)
    found, registered = _found(rows)
    if found:
        return found, registered, None
    (row,) = rows  # nobody found: the one row says what was created
    if row["new.customer_id"] is None:
        return [], None, None
    customer.pk, customer.owner_id = row["new.customer_id"], row["new.owner_id"]
    customer._saved_in_db = True
    if row["new.vehicle_id"] is None:
        return [], None, Identified(customer, await _attach(customer, plate, None, now), True)
    vehicle.pk, vehicle.customer_id = row["new.vehicle_id"], customer.pk
    vehicle._saved_in_db = True
    return [], None, Identified(customer, vehicle, True)


def _candidates_or_create_sql(customer: Customer, vehicle: Vehicle) -> tuple[str, list[Any]]:
    """The statement of `_candidates_or_create`: `_candidates_sql` as `f`, the inserts as data-modifying
    CTEs that write only when `f` is empty, and `f`'s rows, or else one row of NULLs, with the new ids."""
    # $1-$3: `_candidates_sql`'s (openid, mobile, plate); $4, $5: `_clerk_at`'s.
    params: list[Any] = [customer.openid, customer.mobile, vehicle.plate, StaffRole.CLERK.value, True]

    def values(instance: Model, computed: dict[str, str]) -> tuple[str, str]:
        names, db_values = insert_columns(instance)
        meta = instance._meta
        columns, exprs = [], []
        for field, value in zip(names, db_values, strict=True):
            column = meta.fields_db_projection[field]
            columns.append(f'"{column}"')
            if column in computed:
                exprs.append(computed[column])
            else:
                params.append(value)
                exprs.append(f"${len(params)}")
        return ", ".join(columns), ", ".join(exprs)

    owner = f"(SELECT {_clerk_at('t.turn', '$4', '$5')} FROM {_PG_TURN})"
    c_columns, c_values = values(customer, {"owner_id": owner})
    v_columns, v_values = values(vehicle, {"customer_id": 'c."id"'})
    sql = (
        f"WITH f AS ({_candidates_sql('$')}), "
        f'c AS (INSERT INTO "customer" ({c_columns}) SELECT {c_values} WHERE NOT EXISTS (SELECT 1 FROM f) '
        'ON CONFLICT ("openid") DO NOTHING RETURNING "id", "owner_id"), '
        f'v AS (INSERT INTO "vehicle" ({v_columns}) SELECT {v_values} FROM c '
        'ON CONFLICT ("plate") DO NOTHING RETURNING "id") '
        'SELECT f.*, n."customer_id" AS "new.customer_id", n."owner_id" AS "new.owner_id", '
        'n."vehicle_id" AS "new.vehicle_id" FROM (SELECT 1) AS one LEFT JOIN f ON TRUE '
        'LEFT JOIN (SELECT c."id" AS "customer_id", c."owner_id", v."id" AS "vehicle_id" FROM c LEFT JOIN v ON TRUE) '
        'AS n ON TRUE ORDER BY f."created_at", f."id"'
    )
    return sql, params
