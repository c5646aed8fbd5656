"""An in-process emulator of the WeChat Official Account API, for sandbox mode, the chat simulator and tests.

It answers like WeChat (same paths, payloads and errcodes) for what 4S Desk uses: stable_token, template
and customer-service messages, menus, QR codes, user info and tags. State is in memory, one
`SandboxState` per emulator. Routes are relative (`/cgi-bin/...`, `/admin/...`) so the app can be mounted
at `/sandbox` inside the service or served on its own. The `/admin/...` routes let the chat simulator and
tests follow/unfollow users, open the 48-hour window, read the inbox and inject faults; they exist only
in the sandbox, which never runs in production mode.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web

Fault = Literal["5xx", "timeout", "busy", "expire"] | int | str
DeliveryKind = Literal["template", "text"]

WECHAT_TZ = ZoneInfo("Asia/Shanghai")  # WeChat's daily quotas reset at midnight Beijing time
# Non-forced stable_token already returns the next token in the current one's last 5 minutes.
RENEW_BEFORE_S = 300
CS_WINDOW = timedelta(hours=48)
MAX_TEMPLATE_VALUE = 20
MAX_TEXT_BYTES = 2048
MAX_QR_EXPIRE_S = 2592000
DEFAULT_QR_EXPIRE_S = 60
MAX_SCENE_STR = 64
MAX_TAGS = 100
MAX_TAGS_PER_USER = 20
MAX_TAG_NAME_BYTES = 30
MAX_TAG_BATCH = 50
FIRST_TAG_ID = 100  # 0-2 are WeChat's reserved tags
MENU_TYPES = frozenset(
    {
        "click",
        "view",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
        "media_id",
        "article_id",
        "article_view_limited",
        "miniprogram",
    }
)
QR_ACTIONS = {
    "QR_SCENE": (False, False),  # (permanent, string scene)
    "QR_STR_SCENE": (False, True),
    "QR_LIMIT_SCENE": (True, False),
    "QR_LIMIT_STR_SCENE": (True, True),
}
# Paths that deliver messages: `latency` applies to them.
SEND_PATHS = frozenset({"/cgi-bin/message/template/send", "/cgi-bin/message/custom/send"})
# Paths that work without an access token.
NO_TOKEN_PATHS = frozenset({"/cgi-bin/stable_token", "/cgi-bin/showqrcode"})

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45056: "too many tags",
    45059: "user has too many tags",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    65301: "no such conditional menu",
    65303: "there is no selfmenu, please create selfmenu first",
    65304: "match rule empty",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SandboxError(Exception):
    """An errcode the emulator answers instead of a result."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        self.errcode = errcode
        self.errmsg = ERRMSG.get(errcode, "error") + (f" {detail}" if detail else "")
        super().__init__(f"{errcode}: {self.errmsg}")


@dataclass
class SandboxUser:
    """A WeChat user as the emulator knows them."""

    openid: str
    nickname: str = ""
    subscribed: bool = True
    subscribe_time: datetime | None = None
    # The last message, click, scan or follow: it opens the 48-hour customer-service window.
    last_interaction: datetime | None = None
    # Customer-service messages sent since the last interaction.
    cs_sent: int = 0
    tags: set[int] = field(default_factory=set)
    refuses_templates: bool = False

    def to_json(self) -> dict[str, Any]:
        """The user as the admin routes show them."""
        return {
            "openid": self.openid,
            "nickname": self.nickname,
            "subscribed": self.subscribed,
            "subscribe_time": self.subscribe_time.isoformat() if self.subscribe_time else None,
            "last_interaction": self.last_interaction.isoformat() if self.last_interaction else None,
            "cs_sent": self.cs_sent,
            "tags": sorted(self.tags),
            "refuses_templates": self.refuses_templates,
        }


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message that reached a user's inbox: `payload` is the request body WeChat accepted."""

    index: int
    at: datetime
    kind: DeliveryKind
    payload: dict[str, Any]
    msgid: int | None

    def to_json(self) -> dict[str, Any]:
        """The delivery as `GET /admin/inbox/{openid}` shows it."""
        return {
            "index": self.index,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "payload": self.payload,
            "msgid": self.msgid,
        }


@dataclass
class _Fault:
    path: str
    fault: Literal["5xx", "timeout", "expire"] | int
    remaining: int


@dataclass(frozen=True, slots=True)
class _Ticket:
    scene: str
    expires_at: datetime | None


class SandboxState:
    """Everything one emulated Official Account knows: tokens, users, inboxes, menus, QR codes, tags.

    `templates` maps template ids to their field keys (`{"TPL_BOOKED": ["thing1", "time2"]}`).
    `clock` drives token expiry, the 48-hour window, dedupe windows and daily quotas; inject it in tests.
    `timeout_delay` is how long a "timeout" fault stalls (longer than the client's timeout).
    `client_msg_id_window` is how long a template's client_msg_id deduplicates: 10 minutes, as WeChat
    documents it.
    `latency` delays every message send (template and customer-service) by that many seconds before it is
    handled, to keep sends in flight (a dispatcher killed mid-batch; a benchmark against a slow WeChat).
    `errors` counts the errcodes answered, faults included (a test asserts "one 42001 per affected call").
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        token_ttl: int = 7200,
        clock: Callable[[], datetime] = _utcnow,
        *,
        templates: Mapping[str, Iterable[str]] | None = None,
        timeout_delay: float = 1.0,
        template_daily_limit: int = 100_000,
        cs_quota: int = 5,
        client_msg_id_window: float = 600.0,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.token_ttl = token_ttl
        self.clock = clock
        self.timeout_delay = timeout_delay
        self.template_daily_limit = template_daily_limit
        self.cs_quota = cs_quota
        self.client_msg_id_window = timedelta(seconds=client_msg_id_window)
        self.templates: dict[str, tuple[str, ...]] = {}
        for template_id, fields in (templates or {}).items():
            self.add_template(template_id, fields)
        # Requests per API path ("/cgi-bin/stable_token"), faults included.
        self.calls: Counter[str] = Counter()
        self.errors: Counter[int] = Counter()
        self.latency = 0.0
        self.in_flight: set[asyncio.Task[web.StreamResponse]] = set()
        self.menu: dict[str, Any] | None = None
        self.conditional_menus: dict[str, dict[str, Any]] = {}
        self.tags: dict[int, str] = {}
        self._users: dict[str, SandboxUser] = {}
        self._inboxes: dict[str, list[Delivered]] = {}
        self._tokens: dict[str, datetime] = {}
        self._current_token: str | None = None
        self._faults: list[_Fault] = []
        self._sent_ids: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._daily: Counter[tuple[str, date]] = Counter()
        self._tickets: dict[str, _Ticket] = {}
        self._msgids = itertools.count(3_000_000_001)
        self._tag_ids = itertools.count(FIRST_TAG_ID)
        self._menuids = itertools.count(400_000_001)

    # --- set-up and inspection (tests, the chat simulator, the admin routes) -----------------------

    def add_template(self, template_id: str, fields: Iterable[str]) -> None:
        """Register a template the account may send, with its field keys."""
        self.templates[template_id] = tuple(fields)

    def follow(self, openid: str, nickname: str = "") -> SandboxUser:
        """The user follows (again); following counts as an interaction, so the 48-hour window opens."""
        now = self.clock()
        user = self._users.get(openid)
        if user is None:
            user = self._users[openid] = SandboxUser(openid, nickname)
        elif nickname:
            user.nickname = nickname
        user.subscribed = True
        user.subscribe_time = now
        user.last_interaction = now
        user.cs_sent = 0
        return user

    def unfollow(self, openid: str) -> None:
        """The user unfollows; sends to them now fail with 43004. KeyError for an unknown openid."""
        self._users[openid].subscribed = False

    def touch(self, openid: str) -> None:
        """The user just messaged the account: open the 48-hour window and refill the message quota."""
        user = self._users[openid]
        user.last_interaction = self.clock()
        user.cs_sent = 0

    def refuse_templates(self, openid: str, refuse: bool = True) -> None:
        """The user blocks (or unblocks) the account's template messages: 43101 for template sends."""
        self._users[openid].refuses_templates = refuse

    def user(self, openid: str) -> SandboxUser | None:
        """The user, or None if this openid never followed."""
        return self._users.get(openid)

    def inbox(self, openid: str) -> list[Delivered]:
        """Every message delivered to the user, oldest first."""
        return list(self._inboxes.get(openid, ()))

    def scene_for_ticket(self, ticket: str) -> str | None:
        """The scene a QR code carries, so the simulator can "scan" it; None if unknown or expired."""
        found = self._tickets.get(ticket)
        if found is None or (found.expires_at is not None and found.expires_at <= self.clock()):
            return None
        return found.scene

    def inject(self, path: str, fault: Fault, times: int = 1) -> None:
        """Make the next `times` calls to APIs ending in `path` ("*" for any) fail.

        `fault` is "5xx" (HTTP 503), "timeout" (stall `timeout_delay` seconds, then answer "system busy"
        without doing anything), "busy" (errcode -1), "expire" (every token issued so far expires just
        before this call, so it and the calls in flight with the old token get 42001: WeChat expiring the
        token in the middle of a batch), or any errcode as an int or a numeric string.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        kind: Literal["5xx", "timeout", "expire"] | int
        if fault in ("5xx", "timeout", "expire"):
            kind = "5xx" if fault == "5xx" else "timeout" if fault == "timeout" else "expire"
        elif fault == "busy":
            kind = -1
        elif isinstance(fault, int):
            kind = fault
        else:
            try:
                kind = int(fault)
            except ValueError:
                raise ValueError(f"unknown fault {fault!r}") from None
        self._faults.append(_Fault(path, kind, times))

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (calls with one get 42001)."""
        now = self.clock()
        for token in self._tokens:
            self._tokens[token] = now

    # --- the API's behaviour ----------------------------------------------------------------------

    def take_fault(self, path: str) -> Literal["5xx", "timeout", "expire"] | int | None:
        """The injected fault for this call, if any, counting it down."""
        for fault in self._faults:
            if fault.path == "*" or path.endswith(fault.path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault.fault
        return None

    def stable_token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Like WeChat: the same token while it is valid, unless forced; forcing invalidates the old one."""
        if body.get("grant_type") != "client_credential":
            raise SandboxError(40002)
        if body.get("appid") != self.appid:
            raise SandboxError(40013)
        if body.get("secret") != self.secret:
            raise SandboxError(40125)
        now = self.clock()
        current = self._current_token
        renew_before = timedelta(seconds=min(RENEW_BEFORE_S, self.token_ttl // 2))
        if body.get("force_refresh") is True:
            if current is not None:
                self._tokens.pop(current, None)
        elif current is not None and self._tokens.get(current, now) - now > renew_before:
            return {"access_token": current, "expires_in": int((self._tokens[current] - now).total_seconds())}
        token = secrets.token_urlsafe(96)
        self._tokens[token] = now + timedelta(seconds=self.token_ttl)
        self._current_token = token
        return {"access_token": token, "expires_in": self.token_ttl}

    def check_token(self, token: str | None) -> None:
        """41001 without a token, 40001 for one never issued (or replaced by a forced refresh), 42001 expired."""
        if not token:
            raise SandboxError(41001)
        expires_at = self._tokens.get(token)
        if expires_at is None:
            raise SandboxError(40001)
        if expires_at <= self.clock():
            raise SandboxError(42001)

    def _known_user(self, openid: object) -> SandboxUser:
        user = self._users.get(openid) if isinstance(openid, str) else None
        if user is None:
            raise SandboxError(40003)
        return user

    def _deliver(self, user: SandboxUser, kind: DeliveryKind, payload: dict[str, Any], msgid: int | None) -> Delivered:
        inbox = self._inboxes.setdefault(user.openid, [])
        delivered = Delivered(len(inbox), self.clock(), kind, payload, msgid)
        inbox.append(delivered)
        return delivered

    def send_template(self, body: Mapping[str, Any]) -> int:
        """Validate and deliver a template message; returns its msgid."""
        user = self._known_user(body.get("touser"))
        fields = self.templates.get(str(body.get("template_id")))
        if fields is None:
            raise SandboxError(40037)
        data = body.get("data")
        if not isinstance(data, dict):
            raise SandboxError(47003, "data is missing")
        for key in fields:
            if key not in data:
                raise SandboxError(47003, f"data.{key} is missing")
        for key, item in data.items():
            if key not in fields:
                raise SandboxError(47003, f"data.{key} is not a field of the template")
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(value, str) or not value:
                raise SandboxError(47003, f"data.{key}.value is empty")
            if len(value) > MAX_TEMPLATE_VALUE:
                raise SandboxError(47003, f"data.{key}.value exceeds {MAX_TEMPLATE_VALUE} characters")
        if not user.subscribed:
            raise SandboxError(43004)
        if user.refuses_templates:
            raise SandboxError(43101)
        now = self.clock()
        client_msg_id = body.get("client_msg_id")
        if isinstance(client_msg_id, str) and client_msg_id:
            earlier = self._sent_ids.get((user.openid, client_msg_id))
            if earlier is not None and now - earlier[1] < self.client_msg_id_window:
                return earlier[0]
        today = ("template", now.astimezone(WECHAT_TZ).date())
        if self._daily[today] >= self.template_daily_limit:
            raise SandboxError(45009)
        self._daily[today] += 1
        msgid = next(self._msgids)
        if isinstance(client_msg_id, str) and client_msg_id:
            self._sent_ids[(user.openid, client_msg_id)] = (msgid, now)
        self._deliver(user, "template", dict(body), msgid)
        return msgid

    def send_custom(self, body: Mapping[str, Any]) -> None:
        """Validate and deliver a customer-service message (text only, the kind 4S Desk sends)."""
        user = self._known_user(body.get("touser"))
        if body.get("msgtype") != "text":
            raise SandboxError(40008)
        text = body.get("text")
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str) or not content:
            raise SandboxError(47003, "text.content is empty")
        if len(content.encode()) > MAX_TEXT_BYTES:
            raise SandboxError(45002)
        if not user.subscribed:
            raise SandboxError(43004)
        if user.last_interaction is None or self.clock() - user.last_interaction > CS_WINDOW:
            raise SandboxError(45015)
        if user.cs_sent >= self.cs_quota:
            raise SandboxError(45047)
        user.cs_sent += 1
        self._deliver(user, "text", dict(body), None)

    def create_menu(self, body: Mapping[str, Any]) -> None:
        """Replace the default menu."""
        _validate_menu(body)
        self.menu = {"button": body["button"]}

    def delete_menu(self) -> None:
        """Delete the default menu and every conditional menu, as WeChat does."""
        self.menu = None
        self.conditional_menus.clear()

    def add_conditional_menu(self, body: Mapping[str, Any]) -> str:
        """Add a conditional menu; a default menu must exist. Returns the menuid."""
        _validate_menu(body)
        if self.menu is None:
            raise SandboxError(65303)
        rule = body.get("matchrule")
        if not isinstance(rule, dict) or not any(rule.values()):
            raise SandboxError(65304)
        if rule.get("tag_id") not in (None, "") and _int_or_none(rule["tag_id"]) not in self.tags:
            raise SandboxError(45159)
        menuid = str(next(self._menuids))
        self.conditional_menus[menuid] = {"button": body["button"], "matchrule": rule, "menuid": menuid}
        return menuid

    def delete_conditional_menu(self, body: Mapping[str, Any]) -> None:
        """Delete one conditional menu by menuid."""
        if self.conditional_menus.pop(str(body.get("menuid")), None) is None:
            raise SandboxError(65301)

    def get_menu(self) -> dict[str, Any]:
        """The menus as /cgi-bin/menu/get shows them."""
        if self.menu is None:
            raise SandboxError(46003)
        result: dict[str, Any] = {"menu": self.menu}
        if self.conditional_menus:
            result["conditionalmenu"] = list(self.conditional_menus.values())
        return result

    def create_qrcode(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A temporary or permanent parametric QR code; remembers its scene for `scene_for_ticket`."""
        action = QR_ACTIONS.get(str(body.get("action_name")))
        if action is None:
            raise SandboxError(40052)
        permanent, string_scene = action
        info = body.get("action_info")
        scene = info.get("scene") if isinstance(info, dict) else None
        if not isinstance(scene, dict):
            raise SandboxError(40053)
        if string_scene:
            value = scene.get("scene_str")
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_SCENE_STR:
                raise SandboxError(40053, "scene_str must be 1 to 64 characters")
            scene_value = value
        else:
            number = _int_or_none(scene.get("scene_id"))
            if number is None or number <= 0:
                raise SandboxError(40053, "scene_id must be a positive integer")
            scene_value = str(number)
        ticket = secrets.token_urlsafe(48)
        url = f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}"
        if permanent:
            self._tickets[ticket] = _Ticket(scene_value, None)
            return {"ticket": ticket, "url": url}
        seconds = _int_or_none(body.get("expire_seconds"))
        # WeChat defaults to 60 s and caps at 30 days rather than refusing.
        seconds = DEFAULT_QR_EXPIRE_S if seconds is None or seconds <= 0 else min(seconds, MAX_QR_EXPIRE_S)
        self._tickets[ticket] = _Ticket(scene_value, self.clock() + timedelta(seconds=seconds))
        return {"ticket": ticket, "expire_seconds": seconds, "url": url}

    def user_info(self, openid: str | None) -> dict[str, Any]:
        """The user as /cgi-bin/user/info answers; only `subscribe` and `openid` once they unfollowed."""
        user = self._known_user(openid)
        if not user.subscribed:
            return {"subscribe": 0, "openid": user.openid, "tagid_list": []}
        return {
            "subscribe": 1,
            "openid": user.openid,
            "nickname": user.nickname,
            "language": "zh_CN",
            "subscribe_time": int(user.subscribe_time.timestamp()) if user.subscribe_time else 0,
            "remark": "",
            "groupid": 0,
            "tagid_list": sorted(user.tags),
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        }

    def create_tag(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new user tag; names are unique and at most 30 bytes."""
        tag = body.get("tag")
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not name:
            raise SandboxError(45157)
        if len(name.encode()) > MAX_TAG_NAME_BYTES:
            raise SandboxError(45158)
        if name in self.tags.values():
            raise SandboxError(45157, "tag name already exists")
        if len(self.tags) >= MAX_TAGS:
            raise SandboxError(45056)
        tag_id = next(self._tag_ids)
        self.tags[tag_id] = name
        return {"tag": {"id": tag_id, "name": name}}

    def get_tags(self) -> dict[str, Any]:
        """Every tag with its member count, as /cgi-bin/tags/get answers."""
        counts = Counter(tag for user in self._users.values() for tag in user.tags)
        return {"tags": [{"id": tag_id, "name": name, "count": counts[tag_id]} for tag_id, name in self.tags.items()]}

    def batch_tagging(self, body: Mapping[str, Any], *, add: bool) -> None:
        """Tag or untag up to 50 users at once; nothing changes unless every openid is valid."""
        openids = body.get("openid_list")
        if not isinstance(openids, list) or not 1 <= len(openids) <= MAX_TAG_BATCH:
            raise SandboxError(40032)
        tag_id = _int_or_none(body.get("tagid"))
        if tag_id is None or tag_id not in self.tags:
            raise SandboxError(45159)
        users = [self._known_user(openid) for openid in openids]
        if add:
            for user in users:
                if tag_id not in user.tags and len(user.tags) >= MAX_TAGS_PER_USER:
                    raise SandboxError(45059)
        for user in users:
            if add:
                user.tags.add(tag_id)
            else:
                user.tags.discard(tag_id)


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _validate_menu(body: Mapping[str, Any]) -> None:
    """WeChat's menu shape: 1-3 buttons of at most 16 bytes, each a typed button or 1-5 sub_buttons."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise SandboxError(40016)
    for button in buttons:
        if not isinstance(button, dict):
            raise SandboxError(40017)
        name = button.get("name")
        if not isinstance(name, str) or not 1 <= len(name.encode()) <= 16:
            raise SandboxError(40018)
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list) or len(subs) > 5:
                raise SandboxError(40023)
            for sub in subs:
                if not isinstance(sub, dict):
                    raise SandboxError(40024)
                sub_name = sub.get("name")
                if not isinstance(sub_name, str) or not 1 <= len(sub_name.encode()) <= 60:
                    raise SandboxError(40025)
                _validate_action(sub, type_error=40024)
        else:
            _validate_action(button, type_error=40017)


def _validate_action(button: Mapping[str, Any], *, type_error: int) -> None:
    kind = button.get("type")
    if kind not in MENU_TYPES:
        raise SandboxError(type_error)
    if kind == "click" and not (isinstance(button.get("key"), str) and 1 <= len(button["key"].encode()) <= 128):
        raise SandboxError(40019)
    if kind == "view" and not button.get("url"):
        raise SandboxError(47003, "view button needs a url")


SANDBOX_STATE = web.AppKey("sandbox_state", SandboxState)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_dumps = partial(json.dumps, ensure_ascii=False)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _ok(**extra: Any) -> web.Response:
    return _json({"errcode": 0, "errmsg": "ok", **extra})


def _error(errcode: int, errmsg: str | None = None) -> web.Response:
    # WeChat appends a request id to every error message; code that matches errmsg exactly breaks on it.
    message = errmsg if errmsg is not None else ERRMSG.get(errcode, "error")
    return _json({"errcode": errcode, "errmsg": f"{message} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"})


def _api_path(path: str) -> str | None:
    index = path.find("/cgi-bin/")
    return None if index < 0 else path[index:]


@web.middleware
async def _wechat_edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the call, apply an injected fault, check the token, and render SandboxError as WeChat does."""
    path = _api_path(request.path)
    if path is None:
        return await handler(request)
    state = request.app[SANDBOX_STATE]
    state.calls[path] += 1
    if path not in SEND_PATHS:
        return await _carry_out(request, handler, state, path)
    # Like WeChat, a message that arrived in full is carried out even if the caller hangs up meanwhile
    # (a worker killed mid-send): the test server would otherwise cancel the handler with the connection.
    await request.read()
    task = asyncio.get_running_loop().create_task(_carry_out(request, handler, state, path))
    state.in_flight.add(task)
    task.add_done_callback(state.in_flight.discard)
    return await asyncio.shield(task)


async def _carry_out(request: web.Request, handler: Handler, state: SandboxState, path: str) -> web.StreamResponse:
    if state.latency and path in SEND_PATHS:
        await asyncio.sleep(state.latency)
    fault = state.take_fault(path)
    if fault == "5xx":
        return web.Response(status=503, text="503 Service Temporarily Unavailable")
    if fault == "timeout":
        await asyncio.sleep(state.timeout_delay)
        state.errors[-1] += 1
        return _error(-1)
    if fault == "expire":
        state.expire_tokens()
    elif isinstance(fault, int):
        state.errors[fault] += 1
        return _error(fault)
    try:
        if path not in NO_TOKEN_PATHS:
            state.check_token(request.query.get("access_token"))
        return await handler(request)
    except SandboxError as exc:
        state.errors[exc.errcode] += 1
        return _error(exc.errcode, exc.errmsg)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        raise SandboxError(44002)
    try:
        data = json.loads(raw)
    except ValueError:
        raise SandboxError(47001) from None
    if not isinstance(data, dict):
        raise SandboxError(47001)
    return data


def _state(request: web.Request) -> SandboxState:
    return request.app[SANDBOX_STATE]


async def _stable_token(request: web.Request) -> web.Response:
    return _json(_state(request).stable_token(await _body(request)))


async def _template_send(request: web.Request) -> web.Response:
    return _ok(msgid=_state(request).send_template(await _body(request)))


async def _custom_send(request: web.Request) -> web.Response:
    _state(request).send_custom(await _body(request))
    return _ok()


async def _menu_create(request: web.Request) -> web.Response:
    _state(request).create_menu(await _body(request))
    return _ok()


async def _menu_delete(request: web.Request) -> web.Response:
    _state(request).delete_menu()
    return _ok()


async def _menu_get(request: web.Request) -> web.Response:
    return _json(_state(request).get_menu())


async def _menu_addconditional(request: web.Request) -> web.Response:
    return _json({"menuid": _state(request).add_conditional_menu(await _body(request))})


async def _menu_delconditional(request: web.Request) -> web.Response:
    _state(request).delete_conditional_menu(await _body(request))
    return _ok()


async def _qrcode_create(request: web.Request) -> web.Response:
    return _json(_state(request).create_qrcode(await _body(request)))


async def _showqrcode(request: web.Request) -> web.Response:
    scene = _state(request).scene_for_ticket(request.query.get("ticket", ""))
    if scene is None:
        return web.Response(status=404, text="unknown or expired ticket")
    return web.Response(text=f"sandbox QR code, scene {scene}")


async def _user_info(request: web.Request) -> web.Response:
    return _json(_state(request).user_info(request.query.get("openid")))


async def _tags_create(request: web.Request) -> web.Response:
    return _json(_state(request).create_tag(await _body(request)))


async def _tags_get(request: web.Request) -> web.Response:
    return _json(_state(request).get_tags())


async def _tags_batchtagging(request: web.Request) -> web.Response:
    _state(request).batch_tagging(await _body(request), add=True)
    return _ok()


async def _tags_batchuntagging(request: web.Request) -> web.Response:
    _state(request).batch_tagging(await _body(request), add=False)
    return _ok()


# --- admin routes -------------------------------------------------------------------------------------


async def _admin_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _admin_user(request: web.Request) -> SandboxUser:
    user = _state(request).user(request.match_info["openid"])
    if user is None:
        raise web.HTTPNotFound(text="unknown openid")
    return user


async def _admin_follow(request: web.Request) -> web.Response:
    body = await _admin_body(request)
    user = _state(request).follow(request.match_info["openid"], str(body.get("nickname", "")))
    return _json(user.to_json())


async def _admin_unfollow(request: web.Request) -> web.Response:
    user = _admin_user(request)
    _state(request).unfollow(user.openid)
    return _json(user.to_json())


async def _admin_touch(request: web.Request) -> web.Response:
    user = _admin_user(request)
    _state(request).touch(user.openid)
    return _json(user.to_json())


async def _admin_user_get(request: web.Request) -> web.Response:
    return _json(_admin_user(request).to_json())


async def _admin_inbox(request: web.Request) -> web.Response:
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="since must be an integer") from None
    inbox = _state(request).inbox(request.match_info["openid"])
    return _json([item.to_json() for item in inbox[max(since, 0) :]])


async def _admin_faults(request: web.Request) -> web.Response:
    body = await _admin_body(request)
    try:
        _state(request).inject(str(body["path"]), body["fault"], int(body.get("times", 1)))
    except (KeyError, TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"expected {{path, fault, times}}: {exc}") from None
    return _json({"ok": True})


async def _admin_expire_tokens(request: web.Request) -> web.Response:
    _state(request).expire_tokens()
    return _json({"ok": True})


async def _admin_qrcode(request: web.Request) -> web.Response:
    scene = _state(request).scene_for_ticket(request.match_info["ticket"])
    if scene is None:
        raise web.HTTPNotFound(text="unknown or expired ticket")
    return _json({"scene_str": scene})


async def _admin_calls(request: web.Request) -> web.Response:
    return _json(dict(_state(request).calls))


def create_sandbox_app(state: SandboxState) -> web.Application:
    """The emulator as an aiohttp app: mount it (`app.add_subapp("/sandbox", ...)`) or serve it alone."""
    app = web.Application(middlewares=[_wechat_edge])
    app[SANDBOX_STATE] = state
    add = app.router
    add.add_post("/cgi-bin/stable_token", _stable_token)
    add.add_post("/cgi-bin/message/template/send", _template_send)
    add.add_post("/cgi-bin/message/custom/send", _custom_send)
    add.add_post("/cgi-bin/menu/create", _menu_create)
    add.add_get("/cgi-bin/menu/delete", _menu_delete)
    add.add_get("/cgi-bin/menu/get", _menu_get)
    add.add_post("/cgi-bin/menu/addconditional", _menu_addconditional)
    add.add_post("/cgi-bin/menu/delconditional", _menu_delconditional)
    add.add_post("/cgi-bin/qrcode/create", _qrcode_create)
    add.add_get("/cgi-bin/showqrcode", _showqrcode)
    add.add_get("/cgi-bin/user/info", _user_info)
    add.add_post("/cgi-bin/tags/create", _tags_create)
    add.add_get("/cgi-bin/tags/get", _tags_get)
    add.add_post("/cgi-bin/tags/members/batchtagging", _tags_batchtagging)
    add.add_post("/cgi-bin/tags/members/batchuntagging", _tags_batchuntagging)
    add.add_post("/admin/users/{openid}/follow", _admin_follow)
    add.add_post("/admin/users/{openid}/unfollow", _admin_unfollow)
    add.add_post("/admin/users/{openid}/touch", _admin_touch)
    add.add_get("/admin/users/{openid}", _admin_user_get)
    add.add_get("/admin/inbox/{openid}", _admin_inbox)
    add.add_post("/admin/faults", _admin_faults)
    add.add_post("/admin/expire-tokens", _admin_expire_tokens)
    add.add_get("/admin/qrcodes/{ticket}", _admin_qrcode)
    add.add_get("/admin/calls", _admin_calls)
    return app
