"""查客户: reading the query kind, and index-served lookups on both databases."""

from __future__ import annotations

import pytest
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from bot.models import Customer, Vehicle
from bot.services import customer_search
from bot.services.customer_search import Kind, Query, TooShort, classify
from tests.services.conftest import NOW


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("138", Query(Kind.MOBILE_PREFIX, "138")),
        (" 138 0013 ", Query(Kind.MOBILE_PREFIX, "1380013")),
        ("13800138000", Query(Kind.MOBILE_PREFIX, "13800138000")),
        ("尾号5678", Query(Kind.MOBILE_SUFFIX, "8765")),
        ("后四位 5678", Query(Kind.MOBILE_SUFFIX, "8765")),
        ("手机尾号678", Query(Kind.MOBILE_SUFFIX, "876")),
        ("粤A12345", Query(Kind.PLATE, "粤A12345", exact=True)),
        ("粤a·d12345", Query(Kind.PLATE, "粤AD12345", exact=True)),
        ("粤A12", Query(Kind.PLATE, "粤A12")),
        ("12345", Query(Kind.PLATE_TAIL, "54321")),  # 12… cannot start a mobile
        ("0168", Query(Kind.PLATE_TAIL, "8610")),
        ("a123", Query(Kind.PLATE_TAIL, "321A")),
        ("张", Query(Kind.NAME, "张")),
        ("张三丰", Query(Kind.NAME, "张三丰")),
    ],
)
def test_classify(text: str, query: Query) -> None:
    assert classify(text) == query


@pytest.mark.parametrize("text", ["", "  ", "12", "尾号12", "ABC", "1234567", "张三138", "hello world"])
def test_too_short_or_unreadable_queries(text: str) -> None:
    with pytest.raises(TooShort):
        classify(text)


def test_a_short_mobile_start_falls_back_to_plate_digits() -> None:
    assert customer_search.fallback(Query(Kind.MOBILE_PREFIX, "13579")) == Query(Kind.PLATE_TAIL, "97531")
    assert customer_search.fallback(Query(Kind.MOBILE_PREFIX, "1380013")) is None


async def seed() -> None:
    for n, (name, mobile, plate) in enumerate(
        [
            ("张三", "13800001234", "粤A12345"),
            ("张三丰", "13800005678", "粤B15678"),
            ("李四", "13900005678", "京A00001"),
        ]
    ):
        customer = await Customer.create(name=name, mobile=mobile, created_at=NOW)
        await Vehicle.create(customer=customer, plate=plate, model=f"车型{n}", created_at=NOW)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("138", ["张三", "张三丰"]),
        ("尾号5678", ["张三丰", "李四"]),  # mobile_rev order: 8765000083… before 8765000093…
        ("粤A12345", ["张三"]),
        ("粤", []),  # a lone province character reads as a name: nobody is called 粤…
        ("粤B", ["张三丰"]),
        ("5678", ["张三丰"]),
        ("张", ["张三", "张三丰"]),
        ("张三丰", ["张三丰"]),
        ("王", []),
    ],
)
async def test_search(database: str, text: str, names: list[str]) -> None:
    await seed()
    found = await customer_search.search(classify(text))
    assert [h.name for h in found.hits] == names and not found.more


async def test_hits_carry_cars_and_owner_and_the_limit_tells_there_are_more(database: str) -> None:
    await seed()
    [hit] = (await customer_search.search(classify("张三丰"))).hits
    assert hit.vehicles == (("粤B15678", "车型1"),) and hit.mobile == "13800005678" and hit.owner_name == ""
    found = await customer_search.search(classify("138"), limit=1)
    assert len(found.hits) == 1 and found.more


async def test_the_lookups_use_the_indexes(database: str) -> None:
    dialect = connections.get("default").capabilities.dialect
    for text in ("138", "尾号5678", "粤A12", "12345", "张三"):
        sql, params = customer_search.matching_sql(classify(text), dialect, 51)
        async with in_transaction() as conn:
            if dialect == "postgres":
                await conn.execute_script("SET LOCAL enable_seqscan = off")  # a tiny table is scanned otherwise
                rows = await conn.execute_query_dict(f"EXPLAIN {sql}", params)
                plan = "\n".join(str(r["QUERY PLAN"]) for r in rows)
                assert "Index" in plan and "Sort" not in plan, plan
            else:
                rows = await conn.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = "\n".join(str(r["detail"]) for r in rows)
                assert "SEARCH" in plan and "INDEX" in plan and "TEMP B-TREE" not in plan, plan
