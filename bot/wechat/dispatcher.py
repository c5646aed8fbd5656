"""Sends outbox rows through the WeChat API client: after commit, retried with backoff, never twice.

What "never twice" rests on, and where it stops:
- Rows are claimed by one atomic UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL) with a lease
  (`outbox.CLAIM_SECONDS`): two dispatchers never hold the same row, and a dispatcher that dies leaves its
  rows to whoever claims them after the lease.
- Outcomes are written as each send returns, many at once (a write-behind batch), so the gap between
  "WeChat accepted it" and "the row says sent" is one database round trip, not a whole batch.
- A crash inside that gap means the row is sent again after the lease. A template carries the row's
  `client_msg_id`, which WeChat (and the emulator) use to drop a repeat within 10 minutes, and the
  lease is one minute: the repeat is not delivered. A customer-service text has no such key: in that
  one gap it may arrive twice (at-least-once, never lost).
- Transient failures (timeouts, 5xx, 45009, 45047) are retried with exponential backoff and jitter, then
  FAILED with the last error; permanent ones (43004, 40003, 43101, ...) are FAILED at once with the
  reason. A refused token (40001/42001) is refreshed once by the client, which then resends that call.
- A template kind with no configured template (production) is decided here, at send time, when the
  48-hour window is known exactly: a customer-service text inside it, UNDELIVERABLE outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import metrics, replies
from bot.models import OutboxKind, OutboxMessage, OutboxStatus
from bot.services import interactions, notify, outbox
from bot.services.batching import Coalescer
from bot.wechat.api import WeChatClient
from bot.wechat.errors import DailyLimitError, WeChatAPIError

log = logging.getLogger("bot.outbox")

WECHAT_TZ = ZoneInfo("Asia/Shanghai")  # WeChat's daily quotas reset at midnight Beijing time


# Sends in flight at once per worker. A pass may claim 200 rows: started all together, their requests were
# built in one stretch of the event loop while every chat message in flight waited (the booking benchmark's
# p99 on SQLite fell from 95-104 ms to 63-94 ms with 16), and WeChat got 200 calls at once from one worker.
SEND_CONCURRENCY = 16


def _utcnow() -> datetime:
    return datetime.now(UTC)


def next_quota_reset(now: datetime) -> datetime:
    """When WeChat's daily quotas are next reset (00:00 Beijing time), in UTC."""
    local = now.astimezone(WECHAT_TZ)
    return datetime.combine(local.date() + timedelta(days=1), time(0, 5), WECHAT_TZ).astimezone(UTC)


def _result(outcome: outbox.Outcome) -> str:
    """The send's result as /metrics counts it: sent, text_fallback, retry, failed or undeliverable."""
    if outcome.status == OutboxStatus.SENT:
        return outcome.delivery_status or "sent"
    return "retry" if outcome.status == OutboxStatus.PENDING else outcome.status.value


class OutboxDispatcher:
    """Claims due rows and sends them; one per worker process is safe (rows are claimed atomically)."""

    def __init__(
        self,
        client: WeChatClient,
        *,
        clock: Callable[[], datetime] = _utcnow,
        poll_interval: float = 1.0,
        batch: int = 200,
        concurrency: int = SEND_CONCURRENCY,
    ) -> None:
        self.client = client
        self.clock = clock
        self.poll_interval = poll_interval
        self.batch = batch
        self.concurrency = concurrency
        self.wakeup = asyncio.Event()
        self._record: Coalescer[outbox.Outcome, None] = Coalescer(outbox.record)

    async def run_once(self) -> int:
        """Send every row due now (one claimed batch); return how many were attempted."""
        rows = await outbox.claim_due(self.clock(), self.batch)
        by_user: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_user[row.openid].append(row)
        # One user's messages go in order (pages of one reply); different users in parallel, up to
        # `concurrency` at once.
        queue = list(by_user.values())
        queue.reverse()
        workers = min(self.concurrency, len(queue))
        await asyncio.gather(*(self._send_users(queue) for _ in range(workers)))
        return len(rows)

    async def _send_users(self, queue: list[list[OutboxMessage]]) -> None:
        while queue:
            await self._send_in_order(queue.pop())

    async def _send_in_order(self, rows: list[OutboxMessage]) -> None:
        for row in rows:
            outcome = await self._send(row)
            metrics.send_result(_result(outcome), outcome.error_code)
            await self._record(outcome)

    async def _send(self, row: OutboxMessage) -> outbox.Outcome:
        payload = row.payload
        try:
            if row.kind == OutboxKind.TEXT:
                await self.client.send_text(row.openid, payload["text"])
                return outbox.sent(row, self.clock())
            if payload.get("template_id") is None:
                return await self._fall_back(row)
            msgid = await self.client.send_template(
                row.openid,
                payload["template_id"],
                payload["data"],
                url=payload.get("url"),
                client_msg_id=row.client_msg_id,
            )
        except WeChatAPIError as exc:
            return self._failure(row, exc)
        except Exception as exc:
            log.exception("outbox row %s: unexpected error", row.id)
            return outbox.retry_later(row, self.clock(), None, repr(exc))
        return outbox.sent(row, self.clock(), msgid)

    async def _fall_back(self, row: OutboxMessage) -> outbox.Outcome:
        """No template is configured for this kind: a text inside the 48-hour window, else undeliverable."""
        now = self.clock()
        values = row.payload.get("values")
        if not row.purpose or values is None:
            return outbox.failed(row, now, None, replies.render("notify.no_values"), undeliverable=True)
        if not await interactions.within_window(row.openid, now):
            return outbox.failed(row, now, None, replies.render("notify.no_template"), undeliverable=True)
        await self.client.send_text(row.openid, notify.fallback_text(row.purpose, values))
        return outbox.sent(row, self.clock(), note="text_fallback")

    def _failure(self, row: OutboxMessage, exc: WeChatAPIError) -> outbox.Outcome:
        now = self.clock()
        if not exc.retryable:
            log.warning("outbox row %s: failed for good, errcode %s", row.id, exc.errcode)
            return outbox.failed(row, now, exc.errcode, str(exc))
        log.warning("outbox row %s: retry after errcode %s", row.id, exc.errcode)
        # The account's daily quota comes back at WeChat's reset: trying sooner only burns attempts.
        not_before = next_quota_reset(now) if isinstance(exc, DailyLimitError) else None
        return outbox.retry_later(row, now, exc.errcode, str(exc), not_before=not_before)

    async def run_forever(self) -> None:
        """Poll for due rows; an in-process enqueue sets `wakeup` so a late reply goes out at once."""
        while True:
            stop_if_cancelled()
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying")
                sent = 0
            if sent:
                continue
            self.wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 a cancel that lands as wait_for times out is
            # turned into TimeoutError, which this loop would swallow and then poll forever (a hung shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self.wakeup.wait()


def stop_if_cancelled() -> None:
    """Raise CancelledError when the current task was asked to stop.

    A background loop calls this each round: a library below it (a driver, a timeout helper) may swallow
    the one CancelledError a cancel delivers, and the loop would then run on forever, hanging shutdown.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
