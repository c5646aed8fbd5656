"""WeChat's side of the webhook protocol: the XML WeChat sends, signed and encrypted as WeChat does it.

Used by the chat simulator, the tests and the benchmark. It deliberately encrypts and decrypts with
wechatpy's implementation, not ours, so every test is also a cross-check of `bot.wechat.crypto`.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import string
import time
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from bot.settings import Settings, WechatMode

SANDBOX_ACCOUNT = "gh_4sdesk_sandbox"
_msg_ids = itertools.count(int(time.time() * 1000) * 1000 + random.randrange(1000))


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    query: dict[str, str]
    body: bytes


@dataclass
class WeChatPeer:
    """Builds, signs and (in compat/safe mode) encrypts inbound messages; opens the webhook's replies."""

    token: str
    appid: str
    aes_key: str | None
    mode: WechatMode = "safe"
    account: str = SANDBOX_ACCOUNT
    _crypto: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.aes_key:
            self._crypto = WeChatCrypto(self.token, self.aes_key, self.appid)

    @classmethod
    def for_settings(cls, settings: Settings) -> WeChatPeer:
        return cls(settings.wechat_token, settings.wechat_appid, settings.wechat_aes_key, settings.wechat_mode)

    # --- message bodies, exactly as WeChat writes them ---------------------------------------------------
    def _xml(self, openid: str, msg_type: str, inner: str, create_time: int | None, msg_id: int | None) -> str:
        ts = int(time.time()) if create_time is None else create_time
        tail = "" if msg_type == "event" else f"<MsgId>{next(_msg_ids) if msg_id is None else msg_id}</MsgId>"
        return (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{_cdata(openid)}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{inner}{tail}</xml>"
        )

    def text(self, openid: str, content: str, *, msg_id: int | None = None, create_time: int | None = None) -> str:
        return self._xml(openid, "text", f"<Content><![CDATA[{_cdata(content)}]]></Content>", create_time, msg_id)

    def voice(self, openid: str, recognition: str | None, *, msg_id: int | None = None) -> str:
        inner = "<MediaId><![CDATA[media_voice]]></MediaId><Format><![CDATA[amr]]></Format>"
        if recognition is not None:
            inner += f"<Recognition><![CDATA[{_cdata(recognition)}]]></Recognition>"
        return self._xml(openid, "voice", inner, None, msg_id)

    def image(self, openid: str) -> str:
        inner = "<PicUrl><![CDATA[http://sandbox.invalid/p.jpg]]></PicUrl><MediaId><![CDATA[media_img]]></MediaId>"
        return self._xml(openid, "image", inner, None, None)

    def location(self, openid: str, x: float = 23.13, y: float = 113.32, label: str = "广州市天河区") -> str:
        inner = (
            f"<Location_X>{x}</Location_X><Location_Y>{y}</Location_Y><Scale>15</Scale>"
            f"<Label><![CDATA[{_cdata(label)}]]></Label>"
        )
        return self._xml(openid, "location", inner, None, None)

    def link(self, openid: str, url: str = "http://sandbox.invalid/a") -> str:
        inner = (
            "<Title><![CDATA[链接]]></Title><Description><![CDATA[描述]]></Description>"
            f"<Url><![CDATA[{_cdata(url)}]]></Url>"
        )
        return self._xml(openid, "link", inner, None, None)

    def event(
        self,
        openid: str,
        event: str,
        key: str | None = None,
        *,
        ticket: str | None = None,
        create_time: int | None = None,
        extra: str = "",
    ) -> str:
        """An event; `event` is passed as WeChat spells it (subscribe, SCAN, CLICK, VIEW, ...)."""
        inner = f"<Event><![CDATA[{event}]]></Event>"
        if key is not None:
            inner += f"<EventKey><![CDATA[{_cdata(key)}]]></EventKey>"
        if ticket is not None:
            inner += f"<Ticket><![CDATA[{ticket}]]></Ticket>"
        return self._xml(openid, "event", inner + extra, create_time, None)

    # --- signing and encryption ----------------------------------------------------------------------
    def sign(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> SignedRequest:
        """Query string and body for a POST to the webhook, as WeChat would send `xml` in this mode."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nc = nonce or "".join(random.choices(string.digits, k=10))
        query = {
            "signature": _sig(self.token, ts, nc),
            "timestamp": ts,
            "nonce": nc,
            "openid": _openid_of(xml),
        }
        if self.mode == "plain":
            return SignedRequest(query, xml.encode())
        encrypted = PrpCrypto(self._crypto.key).encrypt(xml, self.appid).decode()
        query["encrypt_type"] = "aes"
        query["msg_signature"] = _sig(self.token, ts, nc, encrypted)
        if self.mode == "compat":
            # Compatibility mode carries the plaintext fields and the ciphertext side by side.
            body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        else:
            body = (
                f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        return SignedRequest(query, body.encode())

    def verify_query(self, echostr: str = "sandbox-echo") -> dict[str, str]:
        ts = str(int(time.time()))
        nc = "".join(random.choices(string.digits, k=10))
        return {"signature": _sig(self.token, ts, nc), "timestamp": ts, "nonce": nc, "echostr": echostr}

    def open_reply(self, request: SignedRequest, body: bytes) -> str | None:
        """The reply's text as the user would see it; None for "success" or an empty answer."""
        if body in (b"", b"success"):
            return None
        xml = body.decode()
        if "encrypt_type" in request.query:
            if "<Encrypt>" not in xml:
                raise AssertionError("the reply to an encrypted message was not encrypted")
            env = _envelope(xml)
            xml = self._crypto.decrypt_message(xml, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
        reply = parse_message(xml)
        if reply.type != "text":
            raise AssertionError(f"unexpected reply type {reply.type}")
        return str(reply.content)


def _sig(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _openid_of(xml: str) -> str:
    start = xml.find("<FromUserName><![CDATA[")
    if start < 0:
        return ""
    start += len("<FromUserName><![CDATA[")
    return xml[start : xml.find("]]>", start)]


def _envelope(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(xml)}
