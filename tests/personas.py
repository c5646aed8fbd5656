"""Persona helpers for transcripts: bound staff (clerks, managers) and customers with records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count

from bot.models import Customer, Staff, StaffRole, Vehicle
from bot.models.booking import reverse
from bot.services import roles
from tests.wechat_helper import User, WeChatTester


@dataclass
class StaffUser(User):
    """A staff member chatting with the account: `record` is their (bound, active) Staff row."""

    record: Staff | None = None

    @property
    def staff(self) -> Staff:
        assert self.record is not None
        return self.record


class People:
    """Makes bound staff and customer records for one test: `await people.clerk("张三")`."""

    def __init__(self, wechat: WeChatTester, now: datetime) -> None:
        self.wechat = wechat
        self.now = now
        self._numbers = count(1)

    async def staff(
        self, name: str, role: StaffRole, *, openid: str | None = None, mobile: str | None = None
    ) -> StaffUser:
        n = next(self._numbers)
        openid = openid or f"o_staff{n}"
        record = await Staff.create(
            name=name,
            mobile=mobile or f"1390000{n:04d}",
            role=role,
            openid=openid,
            active=True,
            bound_at=self.now.astimezone(UTC),
            created_at=self.now.astimezone(UTC),
        )
        roles.invalidate()
        self.wechat.sandbox.follow(openid)
        return StaffUser(self.wechat, openid, record=record)

    async def clerk(self, name: str, **kw: str) -> StaffUser:
        return await self.staff(name, StaffRole.CLERK, **kw)

    async def manager(self, name: str, **kw: str) -> StaffUser:
        return await self.staff(name, StaffRole.MANAGER, **kw)

    async def customer(
        self,
        name: str,
        mobile: str,
        plate: str | None = None,
        *,
        owner: Staff | None = None,
        openid: str | None = None,
        model: str | None = None,
    ) -> Customer:
        """A customer record the store keeps (not necessarily on WeChat), with a car when `plate` is given."""
        created = self.now.astimezone(UTC)
        customer = await Customer.create(
            name=name, mobile=mobile, openid=openid, owner_id=owner.id if owner else None, created_at=created
        )
        if plate:
            await Vehicle.create(
                customer=customer, plate=plate, plate_rev=reverse(plate), model=model, created_at=created
            )
        return customer
