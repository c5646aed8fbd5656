"""Ownership service: every move writes its audit row; round-robin deals in customer order; history reads back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.models import Customer, OwnerChange, StaffRole
from bot.services import ownership
from tests.services.conftest import NOW, add_staff


async def _customers(owner_id: int, n: int) -> list[Customer]:
    return [
        await Customer.create(name=f"客户{i}", mobile=f"138000{i:05d}", owner_id=owner_id, created_at=NOW)
        for i in range(n)
    ]


async def test_transfer_writes_the_audit_row_and_refuses_no_ops(database: str) -> None:
    boss = await add_staff("王店长", role=StaffRole.MANAGER)
    a = await add_staff("张三")
    b = await add_staff("李四")
    [customer] = await _customers(a.id, 1)
    moved = await ownership.transfer(customer.id, b.id, by_staff_id=boss.id, now=NOW)
    assert moved.from_name == "张三" and moved.customer.owner_id == a.id
    assert (await Customer.get(id=customer.id)).owner_id == b.id
    with pytest.raises(ownership.SameOwner):
        await ownership.transfer(customer.id, b.id, by_staff_id=boss.id, now=NOW)
    with pytest.raises(ownership.CustomerNotFound):
        await ownership.transfer(999999, b.id, by_staff_id=boss.id, now=NOW)
    await ownership.transfer(customer.id, a.id, by_staff_id=None, now=NOW + timedelta(hours=1))
    history = await ownership.history(customer.id)
    assert [(e.from_name, e.to_name, e.by_name, e.reason) for e in history] == [
        ("李四", "张三", None, "transfer"),
        ("张三", "李四", "王店长", "transfer"),
    ]
    assert len(await ownership.history(customer.id, limit=1)) == 1


async def test_spread_deals_round_robin_and_transfer_all_moves_everyone(database: str) -> None:
    a = await add_staff("张三")
    b = await add_staff("李四")
    c = await add_staff("赵六")
    owned = await _customers(a.id, 7)
    assert await ownership.spread(a.id, [b.id, c.id, a.id], by_staff_id=None, now=NOW) == {b.id: 4, c.id: 3}
    owners = [(await Customer.get(id=x.id)).owner_id for x in owned]
    assert owners == [b.id, c.id, b.id, c.id, b.id, c.id, b.id]
    assert await OwnerChange.filter(reason="spread", from_staff_id=a.id).count() == 7
    assert await ownership.transfer_all(b.id, c.id, by_staff_id=None, now=NOW) == 4
    assert await Customer.filter(owner_id=c.id).count() == 7
    assert await OwnerChange.filter(reason="transfer_all", to_staff_id=c.id).count() == 4
    assert await ownership.transfer_all(b.id, c.id, by_staff_id=None, now=NOW) == 0
