"""The async WeChat Official Account API client: shared token, bounded retries, typed errors.

Sharp edges this client handles, so callers don't have to:
- The access token is shared by every process (see `bot.wechat.tokens`); refreshing it is single-flight
  inside a process (one lock) and across processes (the store's lease). A refused token (40001/40014/42001)
  is replaced and the call retried exactly once.
- Timeouts, connection errors, HTTP 5xx and errcode -1 ("system busy") are retried with exponential
  backoff and jitter, `max_attempts` in total, then raised as `TransientAPIError`.
- Every other errcode raises its typed error from `bot.wechat.errors` at once; `retryable` on the error
  tells the outbox whether trying later can help.
- The token and the AppSecret are never logged: log lines name the API path only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.wechat.errors import (
    HTTP_ERROR,
    SYSTEM_BUSY,
    TokenInvalidError,
    TransientAPIError,
    WeChatAPIError,
    error_for,
)
from bot.wechat.tokens import CachedToken, TokenStore

log = logging.getLogger(__name__)

SHOWQRCODE_BASE = "https://mp.weixin.qq.com"
MAX_QR_EXPIRE_SECONDS = 2592000  # 30 days, WeChat's longest temporary QR code
MAX_SCENE_STR = 64
TAG_BATCH = 50  # batchtagging / batchuntagging accept at most 50 openids per call
MENU_MISSING = 46003  # menu/get when the account has no menu
TAG_NAME_TAKEN = 45157  # tags/create with a name in use (also an invalid name)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class QRCode:
    """A parametric QR code: `ticket` for the image URL, `url` is what the code encodes."""

    ticket: str
    url: str
    expire_seconds: int | None  # None for a permanent code


def _plain(value: object) -> object:
    """JSON for the read-only mappings and sequences callers may pass (menus built from constants)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _Retry(Exception):
    """An attempt failed in a way another attempt may fix; `detail` is safe to log."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class WeChatClient:
    """One WeChat Official Account, over a shared aiohttp session.

    `store` must be shared by every process of the service (`token_store_for(settings.redis_url)`).
    `clock` decides token freshness; inject it in tests. `lease_seconds` bounds how long a crashed
    process can block a refresh; `poll_interval` is how often waiting processes look for the new token.
    A holder that overruns its lease (WeChat slower than `lease_seconds`) lets a second process fetch as
    well: an extra stable_token call, and at worst a saved token that is already stale, which the next
    call's 40001 replaces with WeChat's current one.
    A token is refreshed `refresh_margin` seconds before it expires: inside the last 5 minutes, in which
    WeChat's own stable_token already hands out the next token, so a non-forced call gets a new one.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        appid: str,
        secret: str,
        api_base: str,
        store: TokenStore,
        timeout: float = 5.0,
        max_attempts: int = 3,
        backoff: float = 0.2,
        clock: Callable[[], datetime] | None = None,
        lease_seconds: float = 10.0,
        poll_interval: float = 0.05,
        refresh_margin: float = 240.0,
        showqrcode_base: str = SHOWQRCODE_BASE,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._session = session
        self.appid = appid
        self._secret = secret
        self._api_base = api_base.rstrip("/")
        self._store = store
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._clock = clock or _utcnow
        self._lease_seconds = lease_seconds
        self._poll_interval = poll_interval
        self._refresh_margin = timedelta(seconds=refresh_margin)
        self._showqrcode_base = showqrcode_base.rstrip("/")
        # Unique per client so two clients in one process behave like two processes towards the lease.
        self._owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._lock = asyncio.Lock()
        self._cached: CachedToken | None = None

    # --- access token -------------------------------------------------------------------------------

    async def access_token(self) -> str:
        """A token that is valid for a while yet; fetched at most once at a time across all processes.

        It is a credential: never log it or put it in an error message.
        """
        fresh = self._fresh(self._cached)
        if fresh is not None:
            return fresh.token
        async with self._lock:
            # Whoever held the lock before us may have refreshed already.
            fresh = self._fresh(self._cached)
            if fresh is None:
                fresh = self._cached = await self._obtain(rejected=None)
            return fresh.token

    def _fresh(self, cached: CachedToken | None, rejected: str | None = None) -> CachedToken | None:
        """`cached` if it is not `rejected` and is not yet due for a refresh, else None."""
        if cached is None or cached.token == rejected:
            return None
        return cached if cached.expires_at - self._clock() > self._refresh_margin else None

    async def _replace_rejected(self, rejected: str) -> str:
        """A token other than `rejected`, which WeChat just refused."""
        await self._store.invalidate(self.appid, rejected)
        async with self._lock:
            # Another call that was refused at the same time may have replaced it already.
            fresh = self._fresh(self._cached, rejected)
            if fresh is None:
                fresh = self._cached = await self._obtain(rejected=rejected)
            return fresh.token

    async def _obtain(self, rejected: str | None) -> CachedToken:
        """The store's token if usable, else one fetched under the lease, waiting while another fetches."""
        loop = asyncio.get_running_loop()
        # A live holder finishes well within its lease; a dead one's lease runs out and we take over.
        # Past this deadline something is wrong with the store itself.
        deadline = loop.time() + 3 * self._lease_seconds + self._max_attempts * (self._timeout.total or 0)
        while True:
            fresh = self._fresh(await self._store.get(self.appid), rejected)
            if fresh is not None:
                return fresh
            if await self._store.acquire_lease(self.appid, self._owner, self._lease_seconds):
                try:
                    # The previous holder may have saved a token just before releasing the lease.
                    fresh = self._fresh(await self._store.get(self.appid), rejected)
                    if fresh is not None:
                        return fresh
                    fetched = await self._fetch_token(force=False)
                    if fetched.token == rejected:
                        # WeChat still hands out the token it refuses: only a forced refresh replaces it.
                        # Forcing is rationed (20 a day, 30 s apart) and invalidates the token in every
                        # process, so it is the last resort, never the first.
                        fetched = await self._fetch_token(force=True)
                    await self._store.save(self.appid, fetched.token, fetched.expires_at)
                    return fetched
                finally:
                    await self._store.release_lease(self.appid, self._owner)
            if loop.time() > deadline:
                raise TransientAPIError(SYSTEM_BUSY, "timed out waiting for another process to refresh the token")
            await asyncio.sleep(self._poll_interval)

    async def _fetch_token(self, *, force: bool) -> CachedToken:
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self._secret,
            "force_refresh": force,
        }
        log.info("fetching a WeChat access token for %s (force_refresh=%s)", self.appid, force)
        data = await self._send("POST", "/cgi-bin/stable_token", params={}, body=body)
        return CachedToken(str(data["access_token"]), self._clock() + timedelta(seconds=int(data["expires_in"])))

    # --- transport ----------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call an API with the access token; a refused token is replaced and the call retried once."""
        token = await self.access_token()
        try:
            return await self._send(method, path, params={**(params or {}), "access_token": token}, body=body)
        except TokenInvalidError as exc:
            log.info("WeChat refused the access token on %s (errcode %s); replacing it", path, exc.errcode)
        token = await self._replace_rejected(token)
        return await self._send(method, path, params={**(params or {}), "access_token": token}, body=body)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """One API request with bounded retries for transient failures; raises typed errors otherwise."""
        url = self._api_base + path
        # ensure_ascii=False: WeChat shows "\u" escape sequences literally in some message types.
        data = None if body is None else json.dumps(body, ensure_ascii=False, default=_plain).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._attempt(method, url, path, params=params, data=data, headers=headers)
            except _Retry as retry:
                if attempt == self._max_attempts:
                    raise TransientAPIError(
                        SYSTEM_BUSY, f"{path}: {retry.detail} (after {attempt} attempts)"
                    ) from retry
                delay = self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                log.warning("WeChat %s: %s; attempt %d, retrying in %.2fs", path, retry.detail, attempt, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        *,
        params: Mapping[str, str],
        data: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        try:
            async with self._session.request(
                method, url, params=params, data=data, headers=headers, timeout=self._timeout
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError as exc:
            raise _Retry("timed out") from exc
        except aiohttp.ClientError as exc:
            # The class name only: some aiohttp errors carry the URL, and the URL carries the token.
            raise _Retry(f"connection failed ({type(exc).__name__})") from exc
        if status >= 500:
            raise _Retry(f"HTTP {status}")
        try:
            payload = json.loads(raw)
        except ValueError:
            if status >= 400:
                raise WeChatAPIError(HTTP_ERROR, f"{path}: HTTP {status} with a non-JSON body") from None
            raise _Retry(f"HTTP {status} with a non-JSON body") from None
        if not isinstance(payload, dict):
            raise _Retry(f"HTTP {status} with unexpected JSON")
        errcode = int(payload.get("errcode") or 0)
        if errcode == SYSTEM_BUSY:
            raise _Retry("system busy (errcode -1)")
        if errcode != 0:
            raise error_for(errcode, str(payload.get("errmsg", "")))
        return payload

    # --- messages -----------------------------------------------------------------------------------

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = None,
        client_msg_id: str | None = None,
    ) -> int:
        """Send a template message; returns WeChat's msgid.

        - Works outside the 48-hour window, but only to followers (43004 `NotFollowingError`) who have not
          blocked the account's notifications (43101 `RefusedError`).
        - New-style templates: `data` maps field keys (`thing1`, `time2`, ...) to plain strings; no
          `first`/`remark`/colours. `thing` values are at most 20 characters, other field types have
          their own limits; WeChat answers 47003 when one is broken (render with those limits in mind).
        - `client_msg_id` is WeChat's idempotency key: a repeat with the same openid + client_msg_id is
          not delivered again. WeChat documents only 10 minutes for it, so it makes the client's own
          retries safe, not a retry by the outbox an hour later.
        - The account has a daily template quota (45009 `DailyLimitError`, retryable after the reset).
        """
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url is not None:
            body["url"] = url
        if client_msg_id is not None:
            body["client_msg_id"] = client_msg_id
        result = await self._call("POST", "/cgi-bin/message/template/send", body=body)
        return int(result["msgid"])

    async def send_text(self, openid: str, text: str) -> None:
        """Send a customer-service text message.

        - Only within 48 hours of the user's last interaction (a message, a click, a scan, following):
          45015 `OutsideWindowError` otherwise; use a template message for anything later.
        - WeChat caps how many customer-service messages follow one interaction (45047 `QuotaError`).
        - At most 2048 bytes of UTF-8 (45002); page long replies.
        - There is no idempotency key: a timeout that is retried may deliver the text twice. Prefer a
          duplicate to a lost reply, but keep texts self-contained so a repeat is harmless.
        """
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        await self._call("POST", "/cgi-bin/message/custom/send", body=body)

    # --- menus --------------------------------------------------------------------------------------

    async def create_menu(self, menu: Mapping[str, Any]) -> None:
        """Replace the default menu: `{"button": [...]}`, at most 3 buttons with at most 5 sub_buttons each.

        WeChat clients pick up a new menu lazily (on entering the chat, at most every 5 minutes).
        """
        await self._call("POST", "/cgi-bin/menu/create", body=menu)

    async def delete_menu(self) -> None:
        """Delete the default menu and, with it, every conditional menu."""
        await self._call("GET", "/cgi-bin/menu/delete")

    async def create_conditional_menu(self, menu: Mapping[str, Any], tag_id: int) -> str:
        """Add a menu shown only to users with `tag_id`; returns its menuid.

        A default menu must exist first (65303 otherwise).
        """
        body = {**menu, "matchrule": {"tag_id": str(tag_id)}}
        result = await self._call("POST", "/cgi-bin/menu/addconditional", body=body)
        return str(result["menuid"])

    async def delete_conditional_menu(self, menuid: str) -> None:
        """Delete one conditional menu (65301 if there is no such menuid)."""
        await self._call("POST", "/cgi-bin/menu/delconditional", body={"menuid": menuid})

    async def get_menu(self) -> dict[str, Any] | None:
        """The menus WeChat has: `{"menu": {...}, "conditionalmenu": [{..., "matchrule", "menuid"}]}`;
        None when no menu exists (46003)."""
        try:
            return await self._call("GET", "/cgi-bin/menu/get")
        except WeChatAPIError as exc:
            if exc.errcode == MENU_MISSING:
                return None
            raise

    # --- QR codes -----------------------------------------------------------------------------------

    async def create_qrcode(
        self, scene_str: str, *, permanent: bool = False, expire_seconds: int = MAX_QR_EXPIRE_SECONDS
    ) -> QRCode:
        """A parametric QR code whose scan reaches the webhook as a subscribe/SCAN event with `scene_str`.

        `scene_str` is 1 to 64 characters. Temporary codes live at most 30 days; permanent codes are
        limited in number per account (100,000), so create them for fixed places (a showroom desk), not
        per customer.
        """
        if not 1 <= len(scene_str) <= MAX_SCENE_STR:
            raise ValueError(f"scene_str must be 1 to {MAX_SCENE_STR} characters")
        body: dict[str, Any] = {"action_info": {"scene": {"scene_str": scene_str}}}
        if permanent:
            body["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            if not 1 <= expire_seconds <= MAX_QR_EXPIRE_SECONDS:
                raise ValueError(f"expire_seconds must be 1 to {MAX_QR_EXPIRE_SECONDS}")
            body["action_name"] = "QR_STR_SCENE"
            body["expire_seconds"] = expire_seconds
        result = await self._call("POST", "/cgi-bin/qrcode/create", body=body)
        expires = result.get("expire_seconds")
        return QRCode(
            ticket=str(result["ticket"]),
            url=str(result["url"]),
            expire_seconds=None if permanent or expires is None else int(expires),
        )

    def qrcode_image_url(self, ticket: str) -> str:
        """Where the QR code's image is served; needs no access token, so it can be shown to users."""
        return f"{self._showqrcode_base}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"

    # --- users and tags -----------------------------------------------------------------------------

    async def get_user_info(self, openid: str) -> dict[str, Any]:
        """WeChat's record of a user: `subscribe` (0 once they unfollowed), `subscribe_time`, `tagid_list`...

        Since December 2021 the real WeChat no longer returns a nickname or avatar here (the sandbox still
        does), so never build replies that depend on them.
        """
        return await self._call("GET", "/cgi-bin/user/info", params={"openid": openid, "lang": "zh_CN"})

    async def create_tag(self, name: str) -> int:
        """Create a user tag (at most 30 bytes, unique per account); returns its id."""
        result = await self._call("POST", "/cgi-bin/tags/create", body={"tag": {"name": name}})
        return int(result["tag"]["id"])

    async def get_tags(self) -> dict[str, int]:
        """The account's user tags, name -> id (WeChat's reserved tags included)."""
        result = await self._call("GET", "/cgi-bin/tags/get")
        return {str(tag["name"]): int(tag["id"]) for tag in result.get("tags", [])}

    async def tag_id(self, name: str) -> int:
        """The id of the tag called `name`, created when the account has none yet.

        Two processes creating it at once: the loser's 45157 (name taken) is answered by reading it back."""
        found = (await self.get_tags()).get(name)
        if found is not None:
            return found
        try:
            return await self.create_tag(name)
        except WeChatAPIError as exc:
            if exc.errcode != TAG_NAME_TAKEN:
                raise
        found = (await self.get_tags()).get(name)
        if found is None:
            raise WeChatAPIError(TAG_NAME_TAKEN, f"tag {name!r} is refused but not listed")
        return found

    async def tag_users(self, tag_id: int, openids: Sequence[str]) -> None:
        """Put users under a tag, 50 per call as WeChat requires; a user carries at most 20 tags."""
        await self._batch_tagging("/cgi-bin/tags/members/batchtagging", tag_id, openids)

    async def untag_users(self, tag_id: int, openids: Sequence[str]) -> None:
        """Remove a tag from users, 50 per call."""
        await self._batch_tagging("/cgi-bin/tags/members/batchuntagging", tag_id, openids)

    async def _batch_tagging(self, path: str, tag_id: int, openids: Sequence[str]) -> None:
        for start in range(0, len(openids), TAG_BATCH):
            chunk = list(openids[start : start + TAG_BATCH])
            await self._call("POST", path, body={"openid_list": chunk, "tagid": tag_id})
