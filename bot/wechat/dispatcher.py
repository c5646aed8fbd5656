"""Sends outbox rows through the WeChat API client: after commit, retried with backoff, never twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from bot.models import OutboxKind, OutboxMessage
from bot.services import outbox
from bot.wechat.api import WeChatClient
from bot.wechat.errors import WeChatAPIError

log = logging.getLogger("bot.outbox")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxDispatcher:
    """Claims due rows and sends them; one per worker process is safe (rows are claimed atomically)."""

    def __init__(
        self,
        client: WeChatClient,
        *,
        clock: Callable[[], datetime] = _utcnow,
        poll_interval: float = 1.0,
        batch: int = 50,
    ) -> None:
        self.client = client
        self.clock = clock
        self.poll_interval = poll_interval
        self.batch = batch
        self.wakeup = asyncio.Event()

    async def run_once(self) -> int:
        """Send every row due now (one claimed batch); return how many were attempted."""
        rows = await outbox.claim_due(self.clock(), self.batch)
        by_user: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_user[row.openid].append(row)
        # One user's messages go in order (pages of one reply); different users in parallel.
        await asyncio.gather(*(self._send_in_order(user_rows) for user_rows in by_user.values()))
        return len(rows)

    async def _send_in_order(self, rows: list[OutboxMessage]) -> None:
        for row in rows:
            await self._send(row)

    async def _send(self, row: OutboxMessage) -> None:
        payload = row.payload
        try:
            msgid: int | None = None
            if row.kind == OutboxKind.TEXT:
                await self.client.send_text(row.openid, payload["text"])
            else:
                msgid = await self.client.send_template(
                    row.openid,
                    payload["template_id"],
                    payload["data"],
                    url=payload.get("url"),
                    client_msg_id=row.client_msg_id,
                )
        except WeChatAPIError as exc:
            now = self.clock()
            if exc.retryable:
                log.warning("outbox row %s: retry after errcode %s", row.id, exc.errcode)
                await outbox.mark_retry(row, now, exc.errcode, str(exc))
            else:
                log.warning("outbox row %s: failed for good, errcode %s", row.id, exc.errcode)
                await outbox.mark_failed(row, now, exc.errcode, str(exc))
            return
        except Exception as exc:
            log.exception("outbox row %s: unexpected error", row.id)
            await outbox.mark_retry(row, self.clock(), None, repr(exc))
            return
        await outbox.mark_sent(row, self.clock(), msgid)

    async def run_forever(self) -> None:
        """Poll for due rows; an in-process enqueue sets `wakeup` so a late reply goes out at once."""
        while True:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying")
                sent = 0
            if sent:
                continue
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.poll_interval)
