"""Customer ownership: moving customers between staff, every change written to the owner audit log."""

# Each move updates the customers and writes their OwnerChange rows in one transaction (the caller's, or
# our own): the log can never disagree with who owns whom. The customers being moved are locked first
# (FOR UPDATE on PostgreSQL; SQLite has one writer at a time), so a concurrent move cannot slip between
# reading the owner and writing the log.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, cast

from bot.models import Customer, OwnerChange, Staff
from bot.services.outbox import atomic

CHUNK: Final = 500  # ids per IN (...) list: well under SQLite's parameter limit


class Reason(StrEnum):
    TRANSFER = "transfer"  # 转移客户
    TRANSFER_ALL = "transfer_all"  # 转移全部客户
    HANDOVER = "handover"  # 停用店员 … 交接给
    SPREAD = "spread"  # 停用店员 … 平均分配


class CustomerNotFound(Exception):
    pass


class SameOwner(Exception):
    """The customer already belongs to the staff member named."""

    def __init__(self, customer: Customer) -> None:
        super().__init__(customer.id)
        self.customer = customer


@dataclass(frozen=True, slots=True)
class Transferred:
    """A customer as it was before the move (`owner_id` the old owner), and the old owner's name."""

    customer: Customer
    from_name: str | None


@dataclass(frozen=True, slots=True)
class OwnerEntry:
    """One line of a customer's ownership history; names are None for "nobody" or a deleted record."""

    at: datetime
    from_name: str | None
    to_name: str | None
    by_name: str | None
    reason: str


async def transfer(
    customer_id: int, to_staff_id: int, *, by_staff_id: int | None, now: datetime, reason: str = Reason.TRANSFER
) -> Transferred:
    """Give one customer to `to_staff_id`. Raises CustomerNotFound, SameOwner."""
    now = now.astimezone(UTC)
    async with atomic():
        customer = await Customer.filter(id=customer_id).select_for_update().first()
        if customer is None:
            raise CustomerNotFound
        if customer.owner_id == to_staff_id:
            raise SameOwner(customer)
        await Customer.filter(id=customer_id).update(owner_id=to_staff_id, updated_at=now)
        await OwnerChange.create(
            customer_id=customer_id,
            from_staff_id=customer.owner_id,
            to_staff_id=to_staff_id,
            by_staff_id=by_staff_id,
            reason=reason,
            at=now,
        )
        from_name = None
        if customer.owner_id is not None:
            from_name = cast(str, await Staff.filter(id=customer.owner_id).first().values_list("name", flat=True))
    return Transferred(customer, from_name)


async def transfer_all(
    from_staff_id: int,
    to_staff_id: int,
    *,
    by_staff_id: int | None,
    now: datetime,
    reason: str = Reason.TRANSFER_ALL,
) -> int:
    """Give every customer of `from_staff_id` to `to_staff_id`; returns how many moved."""
    return sum((await spread(from_staff_id, [to_staff_id], by_staff_id=by_staff_id, now=now, reason=reason)).values())


async def spread(
    from_staff_id: int,
    to_staff_ids: Sequence[int],
    *,
    by_staff_id: int | None,
    now: datetime,
    reason: str = Reason.SPREAD,
) -> dict[int, int]:
    """Deal the customers of `from_staff_id` round-robin over `to_staff_ids` (in customer id order);
    returns staff id -> how many each received (staff who received none are left out)."""
    now = now.astimezone(UTC)
    targets = [t for t in to_staff_ids if t != from_staff_id]
    if not targets:
        raise ValueError("no one to give the customers to")
    async with atomic():
        ids = [
            c.id for c in await Customer.filter(owner_id=from_staff_id).select_for_update().order_by("id").only("id")
        ]
        dealt: dict[int, list[int]] = {}
        for n, customer_id in enumerate(ids):
            dealt.setdefault(targets[n % len(targets)], []).append(customer_id)
        for target, customer_ids in dealt.items():
            for start in range(0, len(customer_ids), CHUNK):
                chunk = customer_ids[start : start + CHUNK]
                await Customer.filter(id__in=chunk).update(owner_id=target, updated_at=now)
            await OwnerChange.bulk_create(
                [
                    OwnerChange(
                        customer_id=customer_id,
                        from_staff_id=from_staff_id,
                        to_staff_id=target,
                        by_staff_id=by_staff_id,
                        reason=reason,
                        at=now,
                    )
                    for customer_id in customer_ids
                ],
                batch_size=CHUNK,
            )
    return {target: len(customer_ids) for target, customer_ids in dealt.items()}


async def history(customer_id: int, limit: int | None = None) -> list[OwnerEntry]:
    """A customer's ownership changes, newest first (`limit` of them when given)."""
    query = OwnerChange.filter(customer_id=customer_id).order_by("-at", "-id")
    if limit is not None:
        query = query.limit(limit)
    rows = cast(
        list[tuple[datetime, str | None, str | None, str | None, str]],
        await query.values_list("at", "from_staff__name", "to_staff__name", "by_staff__name", "reason"),
    )
    return [OwnerEntry(*row) for row in rows]
