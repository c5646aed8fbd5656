"""查客户: what kind of query staff typed, and the index-served lookup that answers it."""

# Every lookup is a prefix range on one indexed column, ordered by that column and cut with LIMIT, so a
# query costs the same with a thousand customers or a million:
# - SQLite compares text as BINARY (UTF-8 bytes, i.e. code-point order): `col >= 'x' AND col < 'y'`, where
#   'y' is 'x' with its last character moved up by one, is an index range.
# - PostgreSQL: the varchar_pattern_ops indexes order text byte-wise too; the same range is written with
#   their operators (`~>=~`, `~<~`) and `ORDER BY col USING ~<~`, so the index also gives the order and
#   the scan stops after LIMIT rows. A range with parameters stays index-served in the generic plan PG
#   may cache for asyncpg's prepared statements, where `LIKE $1` could not (the pattern is unknown then).
# Suffixes ("尾号5678", a plate's last digits) are prefixes of the reversed columns mobile_rev / plate_rev.

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from tortoise.connection import connections

from bot.nlu.plate import PROVINCES, is_plate, parse_plate

LIMIT: Final = 50
PAGE_SIZE: Final = 5
MIN_MOBILE_PREFIX: Final = 3
MIN_SUFFIX: Final = 3
MIN_PLATE_TAIL: Final = 3
PLATE_SERIAL_MAX: Final = 6  # the part after province and city letter: 5 characters, 6 on new-energy plates


class Kind(StrEnum):
    MOBILE_PREFIX = "mobile_prefix"
    MOBILE_SUFFIX = "mobile_suffix"
    PLATE = "plate"  # a whole plate, or its start with province and city letter (粤A12)
    PLATE_TAIL = "plate_tail"  # the last characters of a plate (12345, A123)
    NAME = "name"


@dataclass(frozen=True, slots=True)
class Query:
    kind: Kind
    value: str  # what the indexed column starts with (already reversed for suffix kinds)
    exact: bool = False  # a whole plate: one equality lookup


class TooShort(Exception):
    """The query cannot be served (empty, 1-2 digits, mixed text): the reply shows examples."""


_SUFFIX_RE: Final = re.compile(r"^(?:手机)?(?:尾号|尾数|后四位|后4位|末四位|末4位)(\d+)$")
_PLATE_START_RE: Final = re.compile(rf"^[{PROVINCES}][A-Z][A-HJ-NP-Z0-9]{{0,6}}$")
_PLATE_TAIL_RE: Final = re.compile(r"^[A-HJ-NP-Z0-9]+$")
_NAME_RE: Final = re.compile(r"^[\u3400-\u9fff·]+$")
_MOBILE_START_RE: Final = re.compile(r"^1[3-9]\d*$")


def classify(text: str) -> Query:
    """Read a 查客户 query.

    - 尾号5678 / 后四位5678 (3+ digits) -> mobile suffix;
    - digits starting 13-19, 3 to 11 of them -> mobile prefix (mainland mobiles are 1[3-9]...);
    - a whole plate -> that plate; province + city letter + a few characters -> plates starting so;
    - other digits or letters with digits, 3 to 6 of them (12345, A123, 0168) -> a plate's last characters
      (a plate's serial is at most 6 characters; 12345 cannot start a mobile, so it is a plate tail);
    - Chinese characters -> names starting with them (张 finds every 张…, capped like every list).
    Raises `TooShort` for anything else (empty, 1-2 digits, 7+ digits that are no mobile start, mixed text).
    """
    normal = "".join(unicodedata.normalize("NFKC", text).split()).upper().strip("。.，,")
    if not normal:
        raise TooShort
    suffix = _SUFFIX_RE.match(normal)
    if suffix is not None:
        digits = suffix[1]
        if not MIN_SUFFIX <= len(digits) <= 11:
            raise TooShort
        return Query(Kind.MOBILE_SUFFIX, digits[::-1])
    if is_plate(normal):
        return Query(Kind.PLATE, str(parse_plate(normal)), exact=True)
    if _PLATE_START_RE.match(normal):
        return Query(Kind.PLATE, normal)
    if normal.isdigit() and _MOBILE_START_RE.match(normal) and len(normal) >= MIN_MOBILE_PREFIX:
        if len(normal) > 11:
            raise TooShort
        return Query(Kind.MOBILE_PREFIX, normal)
    tail_like = _PLATE_TAIL_RE.match(normal) and any(ch.isdigit() for ch in normal)
    if tail_like and MIN_PLATE_TAIL <= len(normal) <= PLATE_SERIAL_MAX:
        return Query(Kind.PLATE_TAIL, normal[::-1])
    if _NAME_RE.match(normal):
        return Query(Kind.NAME, normal)
    raise TooShort


def fallback(query: Query) -> Query | None:
    """What else a query that found nobody may mean: a short mobile start (13-19, up to 6 digits) may be the
    last digits of a plate ("13579")."""
    if query.kind is Kind.MOBILE_PREFIX and len(query.value) <= PLATE_SERIAL_MAX:
        return Query(Kind.PLATE_TAIL, query.value[::-1])
    return None


@dataclass(frozen=True, slots=True)
class Hit:
    """One customer found: enough for one line of the result list."""

    customer_id: int
    name: str
    mobile: str | None
    owner_id: int | None
    owner_name: str
    vehicles: tuple[tuple[str, str | None], ...]  # (plate, model), first registered first


@dataclass(frozen=True, slots=True)
class Found:
    hits: list[Hit]
    more: bool  # more than LIMIT matched; only the first LIMIT are in `hits`
    query: Query


def _upper_bound(prefix: str) -> str:
    """The smallest string above every string starting with `prefix` (code-point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# (table, column) per kind; `customer_id` is what a vehicle row contributes.
_COLUMNS: Final[dict[Kind, tuple[str, str]]] = {
    Kind.MOBILE_PREFIX: ("customer", "mobile"),
    Kind.MOBILE_SUFFIX: ("customer", "mobile_rev"),
    Kind.NAME: ("customer", "name"),
    Kind.PLATE: ("vehicle", "plate"),
    Kind.PLATE_TAIL: ("vehicle", "plate_rev"),
}


def matching_sql(query: Query, dialect: str, limit: int) -> tuple[str, list[Any]]:
    """The SQL that lists matching customer ids in index order, with its parameters."""
    table, column = _COLUMNS[query.kind]
    selected = '"id"' if table == "customer" else '"customer_id"'
    if query.exact:
        p = "$1" if dialect == "postgres" else "?"
        return f'SELECT {selected} FROM "{table}" WHERE "{column}" = {p}', [query.value]
    params: list[Any] = [query.value, _upper_bound(query.value), limit]
    if dialect == "postgres":
        where = f'"{column}" ~>=~ $1 AND "{column}" ~<~ $2'
        order = f'"{column}" USING ~<~'
        cut = "LIMIT $3"
    else:
        where = f'"{column}" >= ? AND "{column}" < ?'
        order = f'"{column}"'
        cut = "LIMIT ?"
    return f'SELECT {selected} FROM "{table}" WHERE {where} ORDER BY {order} {cut}', params


async def _matching_ids(query: Query, limit: int) -> list[int]:
    conn = connections.get("default")
    sql, params = matching_sql(query, conn.capabilities.dialect, limit)
    rows = await conn.execute_query_dict(sql, params)
    ids: list[int] = []
    for row in rows:
        cid = int(next(iter(row.values())))
        if cid not in ids:  # a customer with two matching cars is listed once
            ids.append(cid)
    return ids


def details_sql(count: int, dialect: str) -> str:
    """One statement for the customers found: each with owner name and cars (a row per car, first first)."""
    # PostgreSQL takes the ids as one array, so the statement text (and its prepared plan) is always the same.
    where = 'c."id" = ANY($1::int[])' if dialect == "postgres" else f'c."id" IN ({", ".join("?" * count)})'
    return (
        'SELECT c."id", c."name", c."mobile", c."owner_id", s."name" AS "owner_name", v."plate", v."model" '
        'FROM "customer" c LEFT JOIN "staff" s ON s."id" = c."owner_id" '
        'LEFT JOIN "vehicle" v ON v."customer_id" = c."id" '
        f'WHERE {where} ORDER BY v."created_at", v."id"'
    )


async def search(query: Query, limit: int = LIMIT) -> Found:
    """Customers matching `query`, in index order, at most `limit` (`more` tells there were others).

    Two statements whatever the query: the matching ids (at most limit + 1 index entries), then those
    customers with their owners' names and cars."""
    ids = await _matching_ids(query, limit + 1)
    if not ids:
        other = fallback(query)
        if other is not None:
            query = other
            ids = await _matching_ids(query, limit + 1)
    more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return Found([], False, query)
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    params: list[Any] = [ids] if dialect == "postgres" else list(ids)
    rows = await conn.execute_query_dict(details_sql(len(ids), dialect), params)
    people: dict[int, dict[str, Any]] = {}
    cars: dict[int, list[tuple[str, str | None]]] = {}
    for row in rows:
        people.setdefault(row["id"], row)
        if row["plate"] is not None:
            cars.setdefault(row["id"], []).append((row["plate"], row["model"]))
    hits = [
        Hit(
            customer_id=cid,
            name=people[cid]["name"],
            mobile=people[cid]["mobile"],
            owner_id=people[cid]["owner_id"],
            owner_name=people[cid]["owner_name"] or "",
            vehicles=tuple(cars.get(cid, ())),
        )
        for cid in ids
        if cid in people
    ]
    return Found(hits, more, query)
