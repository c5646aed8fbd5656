"""outbox.claim_due: one UPDATE claims the due, unclaimed rows, oldest first, at most `limit`."""

from __future__ import annotations

from datetime import UTC, timedelta

from bot.models import OutboxMessage, OutboxStatus
from bot.services import outbox
from tests.services.conftest import NOW


async def test_claim_due_takes_due_free_rows_in_order_up_to_the_limit(database: str) -> None:
    now = NOW.astimezone(UTC)
    rows = [
        await outbox.enqueue_text(f"o_{n}", "hi", now=now - timedelta(minutes=10 - n), dedupe_key=f"k{n}")
        for n in range(5)
    ]
    later = await outbox.enqueue_text("o_later", "hi", now=now + timedelta(minutes=1))
    await OutboxMessage.filter(id=rows[4].id).update(status=OutboxStatus.SENT)
    first = await outbox.claim_due(now, limit=2)
    assert [row.id for row in first] == [rows[0].id, rows[1].id]
    assert all(row.claimed_until == now + timedelta(seconds=outbox.CLAIM_SECONDS) for row in first)
    # The claim returns whole rows, read back as the ORM reads them: the dispatcher sends from these.
    stored = await OutboxMessage.get(id=rows[0].id)
    claimed = first[0]
    assert (claimed.kind, claimed.status, claimed.openid, claimed.payload) == (
        stored.kind, OutboxStatus.PENDING, "o_0", stored.payload,
    )  # fmt: skip
    assert (claimed.next_attempt_at, claimed.created_at, claimed.client_msg_id) == (
        stored.next_attempt_at, stored.created_at, stored.client_msg_id,
    )  # fmt: skip
    assert isinstance(claimed.status, OutboxStatus) and isinstance(claimed.payload, dict) and claimed.payload
    second = await outbox.claim_due(now, limit=10)
    assert [row.id for row in second] == [rows[2].id, rows[3].id]  # not the claimed, sent or not-yet-due rows
    assert await outbox.claim_due(now, limit=10) == []
    # A dispatcher that died: its claims lapse and the rows are picked up again.
    after = now + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
    again = await outbox.claim_due(after, limit=10)
    assert [row.id for row in again] == [rows[0].id, rows[1].id, rows[2].id, rows[3].id, later.id]
