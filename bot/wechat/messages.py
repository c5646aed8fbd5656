"""Inbound WeChat XML parsed once into a small typed message, and passive replies rendered back to XML."""

from __future__ import annotations

import time
from dataclasses import dataclass
from xml.etree import ElementTree

MAX_BODY = 64 * 1024
# WeChat cuts a text reply at 2048 bytes. A reply up to REPLY_BYTES goes whole; a longer one is split into
# pages of PAGE_BYTES, which leaves room for the "第1/3页，回复“下一页”继续" hint under REPLY_BYTES.
REPLY_BYTES = 1950
PAGE_BYTES = 1800

# The standard library's expat parser: on these tiny documents it is as fast as lxml and, unlike lxml, it
# does not release the GIL mid-parse (which cost ~10 µs a message under load, waiting to get it back from
# the database thread). Expat never fetches external entities, and any DTD or entity declaration, the
# only route to XXE or entity expansion, is refused before parsing (see `reject_dtd`).


class MalformedMessage(ValueError):
    """The body is not a WeChat XML message we can read."""


def reject_dtd(body: bytes) -> None:
    """Refuse any XML with a DTD or entity declarations (XXE and billion-laughs)."""
    head = body.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise MalformedMessage("XML with a DTD or entities is refused")


def parse_xml(body: bytes) -> dict[str, str]:
    """Top-level children of <xml> as a flat dict of text (WeChat messages are flat but for a few events)."""
    reject_dtd(body)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise MalformedMessage("body is not well-formed XML") from exc
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        fields[child.tag] = (child.text or "").strip() if len(child) == 0 else _flatten(child)
    return fields


_ENCRYPT_OPEN = b"<Encrypt><![CDATA["
_ENCRYPT_CLOSE = b"]]></Encrypt>"


def encrypted_field(body: bytes) -> str | None:
    """The <Encrypt> value of a well-shaped safe-mode envelope, without parsing it; None if not so shaped.

    Raises MalformedMessage for a DTD or entities, like `parse_xml`."""
    reject_dtd(body)
    stripped = body.strip()
    if not (stripped.startswith(b"<xml>") and stripped.endswith(b"</xml>")):
        return None
    start = stripped.find(_ENCRYPT_OPEN)
    end = stripped.find(_ENCRYPT_CLOSE, start)
    if start < 0 or end < 0 or stripped.find(_ENCRYPT_OPEN, start + 1) >= 0:
        return None
    value = stripped[start + len(_ENCRYPT_OPEN) : end]
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        return None


def _flatten(el: ElementTree.Element) -> str:
    # Nested payloads (e.g. SendLocationInfo) are rare; keep their text so nothing is silently dropped.
    return " ".join(t.strip() for t in el.itertext() if t.strip())


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message or event from a user, as the handlers see it."""

    msg_type: str  # text, voice, image, location, link, event, ... (lower case)
    openid: str  # FromUserName
    account: str  # ToUserName: the Official Account's original id (gh_...)
    create_time: int
    msg_id: str | None
    content: str = ""  # text; a voice message's Recognition
    event: str = ""  # lower case: subscribe, unsubscribe, scan, click, view, templatesendjobfinish
    event_key: str = ""  # CLICK key, VIEW url, SCAN scene, subscribe scene without the qrscene_ prefix
    ticket: str = ""
    status: str = ""  # TEMPLATESENDJOBFINISH status
    raw: dict[str, str] | None = None

    @property
    def dedupe_key(self) -> str:
        """WeChat retries carry the same MsgId. Events have none: FromUserName+CreateTime (WeChat's advice), with
        the event and its key, so that two menu clicks within one second are two events, and a retry of one
        (the same fields again) is still the same. The event key is cut to 64 characters, so that the whole
        fits the processed-message record's key (160)."""
        if self.msg_id:
            return f"m:{self.msg_id}"
        return f"e:{self.openid}:{self.create_time}:{self.event}:{self.event_key[:64]}"

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"


def to_message(fields: dict[str, str]) -> InboundMessage:
    """Build an InboundMessage from parsed XML fields; raise MalformedMessage when required ones are missing."""
    msg_type = fields.get("MsgType", "").lower()
    openid = fields.get("FromUserName", "")
    if not msg_type or not openid:
        raise MalformedMessage("MsgType and FromUserName are required")
    try:
        create_time = int(fields.get("CreateTime") or 0)
    except ValueError as exc:
        raise MalformedMessage("CreateTime is not a number") from exc
    event = fields.get("Event", "").lower()
    key = fields.get("EventKey", "")
    if event == "subscribe" and key.startswith("qrscene_"):
        key = key.removeprefix("qrscene_")
    content = fields.get("Content", "")
    if msg_type == "voice":
        content = fields.get("Recognition", "")
    msg_id = fields.get("MsgId") or fields.get("MsgID") or None
    if event == "templatesendjobfinish":
        # Its MsgID is the template message's id, not an inbound message id: dedupe it as an event.
        key = msg_id or ""
        msg_id = None
    return InboundMessage(
        msg_type=msg_type,
        openid=openid,
        account=fields.get("ToUserName", ""),
        create_time=create_time,
        msg_id=msg_id,
        content=content.strip(),
        event=event,
        event_key=key,
        ticket=fields.get("Ticket", ""),
        status=fields.get("Status", ""),
        raw=fields,
    )


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


def render_text_reply(to_openid: str, from_account: str, content: str, now: int | None = None) -> bytes:
    """The passive text reply XML (plaintext; the webhook encrypts it in safe and compat mode)."""
    ts = int(time.time()) if now is None else now
    return (
        f"<xml><ToUserName><![CDATA[{_cdata(to_openid)}]]></ToUserName>"
        f"<FromUserName><![CDATA[{_cdata(from_account)}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{_cdata(content)}]]></Content></xml>"
    ).encode()


def paginate(text: str, limit: int = PAGE_BYTES, whole_up_to: int = REPLY_BYTES) -> list[str]:
    """Split text into pages under `limit` UTF-8 bytes, breaking at line ends where possible.

    Text up to `whole_up_to` bytes stays one page: splitting a reply that fits would only annoy."""
    if len(text.encode()) <= max(limit, whole_up_to):
        return [text]
    pages: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:
            # A single over-long line: cut it by characters.
            cut = _fit(line, limit - len(current.encode()))
            if cut == 0:
                pages.append(current.rstrip("\n"))
                current = ""
                continue
            current += line[:cut]
            line = line[cut:]
            pages.append(current.rstrip("\n"))
            current = ""
        if len((current + line).encode()) > limit:
            pages.append(current.rstrip("\n"))
            current = ""
        current += line
    if current.strip():
        pages.append(current.rstrip("\n"))
    return [p for p in pages if p]


def _fit(text: str, budget: int) -> int:
    used = 0
    for i, ch in enumerate(text):
        used += len(ch.encode())
        if used > budget:
            return i
    return len(text)
