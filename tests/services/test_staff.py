"""Staff service: adding staff, codes, binding, the wrong-code count, lookups, deactivation."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from bot.models import BindingAttempt, Customer, OwnerChange, Staff, StaffRole
from bot.services import staff
from tests.services.conftest import NOW, add_staff


async def test_codes_are_unambiguous_and_single_use(database: str) -> None:
    issued = await staff.add("张三", "138-0000-1111", StaffRole.CLERK, NOW, employee_no="E001")
    code = issued.code.code
    assert len(code) == staff.CODE_LENGTH and set(code) <= set(staff.CODE_ALPHABET)
    assert issued.code.expires_at == (NOW + timedelta(hours=24)).astimezone(UTC)
    bound = await staff.bind("o_zhang", f" {code.lower()[:4]}-{code[4:]} ", NOW)
    assert bound.staff.openid == "o_zhang" and bound.previous_openid is None
    with pytest.raises(staff.CodeUsed):
        await staff.bind("o_other", code, NOW)
    with pytest.raises(staff.AlreadyBound):
        await staff.bind("o_zhang", "whatever", NOW)


async def test_add_refuses_bad_values_and_taken_numbers(database: str) -> None:
    with pytest.raises(staff.InvalidStaff) as bad:
        await staff.add(" ", "13800001111", StaffRole.CLERK, NOW)
    assert bad.value.field == "name"
    with pytest.raises(staff.InvalidStaff):
        await staff.add("张三", "1234", StaffRole.CLERK, NOW)
    await staff.add("张三", "13800001111", StaffRole.CLERK, NOW, employee_no="E001")
    with pytest.raises(staff.EmployeeNoTaken):
        await staff.add("李四", "13800002222", StaffRole.CLERK, NOW, employee_no="E001")
    await Staff.filter(name="张三").update(openid="o_zhang")
    with pytest.raises(staff.MobileTaken):
        await staff.add("张三", "13800001111", StaffRole.CLERK, NOW)


async def test_wrong_codes_spread_over_more_than_an_hour_do_not_lock(database: str) -> None:
    for hour in range(6):
        with pytest.raises(staff.CodeInvalid):
            await staff.bind("o_slow", "WRONG234", NOW + timedelta(hours=hour, minutes=hour * 13))
    attempt = await BindingAttempt.get(openid="o_slow")
    assert attempt.locked_until is None and attempt.failures < staff.MAX_FAILURES


async def test_the_lock_lifts_after_an_hour_and_counting_starts_again(database: str) -> None:
    for _ in range(4):
        with pytest.raises(staff.CodeInvalid):
            await staff.bind("o_guess", "WRONG234", NOW)
    with pytest.raises(staff.BindingLocked) as locked:
        await staff.bind("o_guess", "WRONG234", NOW)
    assert locked.value.until == (NOW + timedelta(hours=1)).astimezone(UTC)
    with pytest.raises(staff.BindingLocked):
        await staff.bind("o_guess", "WRONG234", NOW + timedelta(minutes=59))
    with pytest.raises(staff.CodeInvalid) as again:
        await staff.bind("o_guess", "WRONG234", NOW + timedelta(minutes=60))
    assert again.value.remaining == staff.MAX_FAILURES - 1


async def test_find_by_name_employee_number_and_mobile(database: str) -> None:
    one = await add_staff("张三")
    two = await add_staff("张三")
    await Staff.filter(id=two.id).update(employee_no="E002", mobile="13812345678")
    with pytest.raises(staff.Ambiguous) as which:
        await staff.find("张三")
    assert [m.id for m in which.value.candidates] == [one.id, two.id]
    assert (await staff.find("E002")).id == two.id
    assert (await staff.find("138 1234 5678")).id == two.id
    await Staff.filter(id=one.id).update(active=False)
    assert (await staff.find("@张三")).id == two.id
    with pytest.raises(staff.NotFound):
        await staff.find("李四")


async def test_a_deactivated_member_comes_back_only_with_a_new_code(database: str) -> None:
    boss = await add_staff("王店长", role=StaffRole.MANAGER, openid="o_boss")
    issued = await staff.add("张三", "13800001111", StaffRole.CLERK, NOW)
    await staff.bind("o_zhang", issued.code.code, NOW)
    spare = await staff.issue_code(issued.staff, NOW)
    customer = await Customer.create(name="王五", mobile="13800009999", owner_id=issued.staff.id, created_at=NOW)
    with pytest.raises(staff.SuccessorNeeded):
        await staff.deactivate(issued.staff, NOW, by=boss)
    done = await staff.deactivate(issued.staff, NOW, by=boss, successor=boss)
    assert done.moved == {boss.id: 1} and not done.staff.active
    assert (await Customer.get(id=customer.id)).owner_id == boss.id
    assert await OwnerChange.filter(customer_id=customer.id, reason="handover").count() == 1
    with pytest.raises(staff.CodeInvalid):  # codes issued before the deactivation are gone
        await staff.bind("o_zhang", spare.code, NOW)
    with pytest.raises(staff.AlreadyInactive):
        await staff.deactivate(done.staff, NOW, by=boss)
    later = NOW + timedelta(days=3)
    fresh = await staff.issue_code(done.staff, later)
    back = await staff.bind("o_zhang", fresh.code, later)
    assert back.staff.active and back.staff.deactivated_at is None and back.staff.openid == "o_zhang"


async def test_binding_a_new_phone_moves_the_account(database: str) -> None:
    issued = await staff.add("张三", "13800001111", StaffRole.CLERK, NOW)
    await staff.bind("o_old_phone", issued.code.code, NOW)
    await staff.mark_tagged(issued.staff.id, True)
    fresh = await staff.issue_code(issued.staff, NOW)
    moved = await staff.bind("o_new_phone", fresh.code, NOW)
    assert moved.previous_openid == "o_old_phone" and moved.staff.openid == "o_new_phone"
    assert not moved.staff.tagged
    assert [m.id for m in await staff.to_tag()] == [issued.staff.id]


async def test_the_owner_clerks_openid_is_read_inside_a_transaction_while_the_staff_map_reloads(
    database: str,
) -> None:
    import asyncio

    from tortoise.transactions import in_transaction

    from bot.services import roles

    clerk = await add_staff("王顾问", openid="o_wang")
    gone = await add_staff("李顾问", openid="o_li", active=False)
    roles.invalidate()
    # A message outside the transaction starts the shared reload of the staff map just before it; on SQLite
    # the reload then waits for the transaction's connection, so waiting for the reload inside would hang.
    reload = asyncio.ensure_future(roles.speaker_of("o_someone"))
    async with in_transaction():
        await asyncio.sleep(0.01)
        assert await asyncio.wait_for(roles.staff_openid(clerk.id), 5) == "o_wang"
        assert await roles.staff_openid(gone.id) is None
        assert await roles.staff_openid(None) is None
    await reload
    assert await roles.staff_openid(clerk.id) == "o_wang"  # from the map now


async def test_another_workers_staff_change_is_seen_after_the_ttl_without_making_messages_wait(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import roles

    manager = await add_staff("赵经理", role=StaffRole.MANAGER, openid="o_zhao")
    roles.invalidate()
    clock = [1000.0]
    monkeypatch.setattr(roles, "_monotonic", lambda: clock[0])
    assert (await roles.speaker_of("o_zhao")).is_manager
    # Another worker deactivates the manager: this worker's map does not know yet.
    await Staff.filter(id=manager.id).update(active=False)
    clock[0] += roles.TTL / 2
    assert (await roles.speaker_of("o_zhao")).is_manager  # still fresh: no reload
    clock[0] += roles.TTL
    # Past the TTL: the message is answered from the map at once while it reloads in the background.
    assert (await roles.speaker_of("o_zhao")).is_manager
    assert roles._loading is not None
    await roles._loading
    assert not (await roles.speaker_of("o_zhao")).is_staff
    # A map older than MAX_STALE (the database was unreachable) is not trusted: the message waits for it.
    await Staff.filter(id=manager.id).update(active=True)
    clock[0] += roles.MAX_STALE + 1
    assert (await roles.speaker_of("o_zhao")).is_manager
