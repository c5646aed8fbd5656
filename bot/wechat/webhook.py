"""The /wechat webhook: verify, decrypt, parse, drop WeChat's retries, answer within the reply budget.

Sharp edges, all handled here so nothing below has to think about them:
- WeChat waits 5 s for an answer, then retries the same message up to 3 times. Messages are known by MsgId,
  or FromUserName+CreateTime+Event; a retry gets the first attempt's reply, or "success" while it runs, and is
  never processed again (`bot.services.dedupe` explains the memory + durable record behind this).
- A handler slower than `reply_budget` (~4 s) does not lose its reply: the webhook answers "success" and the
  reply goes out as a customer-service message through the outbox once the handler finishes.
- Replies are encrypted whenever the request was (safe and compat mode); plaintext is refused in safe mode.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web

from bot import metrics, replies
from bot.handlers import HandlerResult, Turn, dispatch
from bot.services import dedupe, interactions, outbox, paging
from bot.settings import Settings
from bot.wechat import crypto
from bot.wechat.api import WeChatClient
from bot.wechat.messages import (
    InboundMessage,
    MalformedMessage,
    encrypted_field,
    paginate,
    parse_xml,
    render_text_reply,
    to_message,
)

log = logging.getLogger("bot.webhook")

# Events WeChat counts as an interaction that opens the 48-hour customer-service window (besides every
# message the user sends): following, scanning a QR code, and the menu clicks that push an event.
OPENS_WINDOW = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})

Outcome = Literal["replied", "silent", "late", "retry", "retry_running", "error"]


@functools.lru_cache(maxsize=65536)
def hash_openid(openid: str) -> str:
    """A stable pseudonym for logs: never log an openid in the clear."""
    return hashlib.sha256(openid.encode()).hexdigest()[:12]


RUNNING = dedupe.Seen(done=False)
ANSWERED_SUCCESS = dedupe.Seen(done=True)


class _Late:
    """The reply budget ran out before the handler finished."""


_LATE = _Late()


@dataclass(slots=True)
class _Run:
    """One message's processing, shared between the request that waits for it and the task that runs it."""

    waiter: asyncio.Future[bytes | _Late | None]
    received_at: datetime
    late: bool = False  # the webhook gave up waiting and answered "success"
    decided: bool = False  # the task committed to a passive reply (the webhook must wait for it)
    handler: str = "-"


@dataclass
class Webhook:
    settings: Settings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _crypto: crypto.MessageCrypto | None = field(init=False, default=None)
    _tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _recent: dedupe.RecentMessages = field(init=False, default_factory=dedupe.RecentMessages)
    outbox_wakeup: asyncio.Event | None = None
    api: WeChatClient | None = None  # for handlers that call WeChat in the turn (a binding QR code)

    def __post_init__(self) -> None:
        s = self.settings
        if s.aes_keys:
            self._crypto = crypto.MessageCrypto(s.wechat_token, s.aes_keys, s.wechat_appid)

    def now(self) -> datetime:
        return self.clock()

    # --- GET: WeChat's URL verification -------------------------------------------------------------------
    async def get(self, request: web.Request) -> web.Response:
        q = request.query
        if not self._signed(q.get("signature"), q.get("timestamp", ""), q.get("nonce", "")):
            log.warning("GET /wechat refused: bad signature")
            raise web.HTTPForbidden(text="invalid signature")
        return web.Response(text=q.get("echostr", ""))

    def _signed(self, signature: str | None, timestamp: str, nonce: str) -> bool:
        return crypto.verify(signature, self.settings.wechat_token, timestamp, nonce)

    # --- POST: a message or event ----------------------------------------------------------------------
    async def post(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not self._signed(q.get("signature"), timestamp, nonce):
            log.warning("POST /wechat refused: missing or bad signature")
            raise web.HTTPForbidden(text="invalid signature")
        if not self._fresh(timestamp):
            log.warning("POST /wechat refused: timestamp outside BOT_MAX_MESSAGE_AGE")
            raise web.HTTPForbidden(text="stale message")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # over client_max_size (64 KiB)
            log.warning("POST /wechat refused: body over 64 KiB")
            raise
        encrypted = q.get("encrypt_type", "raw").lower() == "aes"
        try:
            msg = self._open(body, encrypted, q.get("msg_signature"), timestamp, nonce)
        except web.HTTPException:
            raise
        except crypto.AppIdMismatch:
            log.warning("POST /wechat refused: payload for another AppID")
            raise web.HTTPBadRequest(text="wrong appid") from None
        except (MalformedMessage, crypto.CryptoError) as exc:
            log.warning("POST /wechat refused: %s", exc)
            raise web.HTTPBadRequest(text="bad message") from None

        if not msg.is_event or msg.event in OPENS_WINDOW:
            interactions.touch(msg.openid, self.now())
        reply, outcome, handler = await self._answer(msg)
        kind = (msg.event and f"event.{msg.event}") or msg.msg_type
        elapsed = time.perf_counter() - started
        metrics.message_handled(kind, outcome, elapsed)
        log.info(
            "msg user=%s type=%s handler=%s latency_ms=%.1f outcome=%s",
            hash_openid(msg.openid),
            kind,
            handler,
            elapsed * 1000,
            outcome,
        )
        if reply is None:
            return web.Response(text="success")
        if encrypted and self._crypto is not None:
            reply = self._crypto.envelope(reply, nonce, timestamp)
        return web.Response(body=reply, content_type="application/xml", charset="utf-8")

    def _fresh(self, timestamp: str) -> bool:
        max_age = self.settings.max_message_age
        if max_age <= 0:
            return True
        try:
            ts = int(timestamp)
        except ValueError:
            return False
        return abs(time.time() - ts) <= max_age

    def _open(
        self, body: bytes, encrypted: bool, msg_signature: str | None, timestamp: str, nonce: str
    ) -> InboundMessage:
        mode = self.settings.wechat_mode
        if encrypted:
            if self._crypto is None:
                raise MalformedMessage("encrypted message but no WECHAT_AES_KEY configured")
            # One XML parse per message: the envelope's <Encrypt> is sliced out, and is authenticated by
            # msg_signature below; anything that does not look like a plain envelope gets the full parse.
            payload = encrypted_field(body) or parse_xml(body).get("Encrypt", "")
            if not payload:
                raise MalformedMessage("encrypt_type=aes but no <Encrypt>")
            if not self._crypto.verify_msg_signature(msg_signature, timestamp, nonce, payload):
                log.warning("POST /wechat refused: bad msg_signature")
                raise web.HTTPForbidden(text="invalid msg_signature")
            return to_message(parse_xml(self._crypto.decrypt(payload)))
        if mode == "safe":
            raise MalformedMessage("plaintext message refused in safe mode")
        return to_message(parse_xml(body))

    async def _answer(self, msg: InboundMessage) -> tuple[bytes | None, Outcome, str]:
        """Reply XML (plaintext) or None for "success", with the outcome and handler for the log line."""
        key = msg.dedupe_key
        seen = self._recent.get(key)
        if seen is None and dedupe.may_be_retry(msg.create_time):
            try:
                seen = await dedupe.lookup(key)
            except Exception:
                log.exception("dedupe store unavailable")
                return self._error_reply(msg), "error", "-"
        if seen is not None:
            if seen.done:
                return (seen.reply.encode() if seen.reply else None), "retry", "-"
            return None, "retry_running", "-"
        self._recent.put(key, RUNNING)
        loop = asyncio.get_running_loop()
        run = _Run(loop.create_future(), received_at=self.now())
        task = loop.create_task(self._process(msg, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # One timer and one future instead of wait_for(shield(...)): this runs for every message.
        timer = loop.call_later(self.settings.reply_budget, self._budget_over, msg, run)
        try:
            reply = await run.waiter
        except Exception:
            return self._error_reply(msg), "error", run.handler
        finally:
            timer.cancel()
        if reply is _LATE:
            return None, "late", run.handler
        assert not isinstance(reply, _Late)
        return reply, ("replied" if reply else "silent"), run.handler

    def _budget_over(self, msg: InboundMessage, run: _Run) -> None:
        if run.decided or run.waiter.done():
            return
        run.late = True
        task = asyncio.get_running_loop().create_task(self._answer_late(msg, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_late(self, msg: InboundMessage, run: _Run) -> None:
        # Before answering "success", make sure a retry reaching another worker will see it running; but
        # not for long: on SQLite the slow turn itself may hold the only connection.
        try:
            await asyncio.wait_for(asyncio.shield(dedupe.record_running(msg.dedupe_key, run.received_at)), 0.3)
        except TimeoutError:
            log.warning("recording a running message is slow; answering anyway")
        except Exception:
            log.exception("could not record a running message")
        if not run.waiter.done():
            run.waiter.set_result(_LATE)

    async def _process(self, msg: InboundMessage, run: _Run) -> None:
        key = msg.dedupe_key
        now = run.received_at
        try:
            result: HandlerResult = await dispatch(Turn(msg=msg, now=now, settings=self.settings, api=self.api))
            run.handler = result.handler
            if run.late:
                await self._deliver_late(msg, result)
                self._recent.put(key, ANSWERED_SUCCESS)
                dedupe.record(key, now, done=True)
                return
            run.decided = True
            reply = await self._render(msg, result, now)
            text = reply.decode() if reply else None
            self._recent.put(key, dedupe.Seen(done=True, reply=text))
            dedupe.record(key, now, done=True, reply=text)
        except Exception as exc:
            log.exception("handler failed (user=%s handler=%s)", hash_openid(msg.openid), run.handler)
            self._recent.forget(key)  # let WeChat's retry run it again
            if not run.waiter.done():
                run.waiter.set_exception(exc)
            return
        if not run.waiter.done():
            run.waiter.set_result(reply)

    async def _render(self, msg: InboundMessage, result: HandlerResult, now: datetime) -> bytes | None:
        pages = _pages(result)
        if not pages:
            return None
        text = pages[0]
        if len(pages) > 1:
            await paging.keep_rest(msg.openid, pages, now)
            text += "\n" + replies.render("next_page_hint", page=1, pages=len(pages))
        return render_text_reply(msg.openid, msg.account, text)

    async def _deliver_late(self, msg: InboundMessage, result: HandlerResult) -> None:
        """The handler outlived the reply budget: its reply goes out as customer-service messages."""
        now = self.now()
        for i, page in enumerate(_pages(result)):
            await outbox.enqueue_text(msg.openid, page, now=now, dedupe_key=f"late:{msg.dedupe_key}:{i}")
        if self.outbox_wakeup is not None:
            self.outbox_wakeup.set()

    def _error_reply(self, msg: InboundMessage) -> bytes | None:
        if msg.is_event and msg.event not in ("subscribe", "click", "scan"):
            return None
        return render_text_reply(msg.openid, msg.account, replies.render("error", phone=self.settings.store_phone))

    async def drain(self, timeout: float) -> None:
        """Graceful shutdown: let in-flight messages (late ones too) finish and record their replies."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        await asyncio.wait_for(dedupe.flush(), timeout)
        await asyncio.wait_for(interactions.flush(), timeout)

    async def prune(self) -> int:
        return await dedupe.prune(self.now(), timedelta(seconds=self.settings.dedupe_retention_s))


def _pages(result: HandlerResult) -> list[str]:
    """The reply cut into pages: as the handler cut it, else by WeChat's size limit; [] for no reply."""
    if result.pages:
        return [piece for page in result.pages for piece in paginate(page)]
    return paginate(result.text) if result.text else []
