"""`python -m bot chat --as <openid>`: chat with the running service as a WeChat user, through the sandbox.

It plays WeChat's servers: each line you type becomes the XML WeChat would post, signed (and encrypted in
safe/compat mode) with the service's sandbox credentials; it prints the passive reply and anything the
service pushed to you afterwards (customer-service and template messages landing in the sandbox inbox).
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import aiohttp

from bot.settings import Settings
from bot.wechat.peer import WeChatPeer

HELP = """命令（其余输入按文字消息发送）：
  /subscribe [scene]   关注公众号（可带二维码场景，如 book、campaign:spring）
  /unsubscribe         取消关注
  /scan <scene>        已关注时扫码
  /click <key>         点击菜单（BOOK、MY_APPTS、CONTACT）
  /voice <text>        发送语音（<text> 为语音识别结果；留空表示没识别出来）
  /image  /location    发送图片 / 位置
  /help                显示本说明
  /quit                退出"""

# How long to wait, after a reply, for the notifications that message queued (the outbox polls once a second).
SETTLE_TIMEOUT_S = 3.0
_PENDING = re.compile(r'^fourdesk_outbox_depth\{status="pending"\} (\d+)$', re.MULTILINE)


class ChatSession:
    """One simulated WeChat user talking to the webhook at `base_url`."""

    def __init__(self, http: aiohttp.ClientSession, settings: Settings, openid: str, base_url: str) -> None:
        self.http = http
        self.peer = WeChatPeer.for_settings(settings)
        self.openid = openid
        self.base_url = base_url.rstrip("/")
        self.api_base = settings.api_base
        self.seen = 0

    async def _admin(self, method: str, path: str) -> Any:
        async with self.http.request(method, f"{self.api_base}/admin{path}") as resp:
            resp.raise_for_status()
            return await resp.json()

    async def start(self) -> None:
        await self._admin("POST", f"/users/{self.openid}/follow")
        self.seen = len(await self._admin("GET", f"/inbox/{self.openid}"))

    def build(self, line: str) -> str | None:
        """The XML WeChat would send for what the user typed (None for local commands)."""
        p, o = self.peer, self.openid
        cmd, _, arg = line.partition(" ")
        arg = arg.strip()
        match cmd:
            case "/subscribe":
                return p.event(o, "subscribe", f"qrscene_{arg}" if arg else None, ticket="SIM" if arg else None)
            case "/unsubscribe":
                return p.event(o, "unsubscribe")
            case "/scan":
                return p.event(o, "SCAN", arg, ticket="SIM")
            case "/click":
                return p.event(o, "CLICK", arg)
            case "/voice":
                return p.voice(o, arg)
            case "/image":
                return p.image(o)
            case "/location":
                return p.location(o)
        return p.text(o, line)

    async def send(self, xml: str) -> str | None:
        if "<MsgType><![CDATA[event]]>" not in xml:
            await self._admin("POST", f"/users/{self.openid}/touch")
        if "<Event><![CDATA[subscribe]]>" in xml:
            await self._admin("POST", f"/users/{self.openid}/follow")
        if "<Event><![CDATA[unsubscribe]]>" in xml:
            await self._admin("POST", f"/users/{self.openid}/unfollow")
        request = self.peer.sign(xml)
        async with self.http.post(f"{self.base_url}/wechat", params=request.query, data=request.body) as resp:
            body = await resp.read()
            if resp.status != 200:
                return f"[HTTP {resp.status}] {body.decode(errors='replace')}"
            return self.peer.open_reply(request, body)

    async def pending(self) -> int | None:
        """Outbox rows the service has yet to send (its /metrics), or None when it does not say."""
        try:
            async with self.http.get(f"{self.base_url}/metrics") as resp:
                text = await resp.text() if resp.status == 200 else ""
        except aiohttp.ClientError:
            return None
        found = _PENDING.search(text)
        return int(found.group(1)) if found else None

    async def settle(self, before: int | None, timeout: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until the outbox is back to `before` pending rows, i.e. what the last message queued (a booking's
        confirmation, a late reply) has gone out, or until `timeout`; a short pause when the service does not
        report its outbox. Rows due later (a retry, tomorrow's reminders) were already counted in `before`."""
        if before is None:
            await asyncio.sleep(0.3)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            now = await self.pending()
            if now is None or now <= before:
                return
            await asyncio.sleep(0.05)

    async def pushed(self) -> list[str]:
        """Messages pushed to this user since the last call, rendered for the terminal."""
        inbox = await self._admin("GET", f"/inbox/{self.openid}")
        new, self.seen = inbox[self.seen :], len(inbox)
        return [_render_push(item) for item in new]


def _render_push(item: dict[str, Any]) -> str:
    payload = item.get("payload", {})
    if item.get("kind") == "template":
        fields = ", ".join(
            f"{k}={v.get('value', v) if isinstance(v, dict) else v}" for k, v in payload.get("data", {}).items()
        )
        return f"[模板消息 {payload.get('template_id', '')}] {fields}"
    text = payload.get("text", {})
    return f"[客服消息] {text.get('content', text) if isinstance(text, dict) else text}"


async def run_chat(settings: Settings, openid: str, url: str | None) -> int:
    """Read lines from stdin until EOF or /quit; print replies and pushes. Returns a process exit code."""
    base_url = url or f"http://{settings.host}:{settings.port}"
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        chat = ChatSession(http, settings, openid, base_url)
        try:
            await chat.start()
        except aiohttp.ClientError as exc:
            print(f"无法连接 {settings.api_base}（{exc}）。请先在另一个终端运行 make run。", file=sys.stderr)
            return 1
        print(f"以 {openid} 的身份与 {base_url}/wechat 对话。输入 /help 查看命令，/quit 退出。")
        while True:
            if sys.stdin.isatty():
                print("> ", end="", flush=True)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            if line == "/help":
                print(HELP)
                continue
            xml = chat.build(line)
            if xml is None:
                continue
            before = await chat.pending()
            try:
                reply = await chat.send(xml)
            except aiohttp.ClientError as exc:
                print(f"[连接失败] {exc}")
                continue
            print(reply if reply is not None else "（无回复）")
            await chat.settle(before)  # let the outbox deliver what this message queued, so it prints here
            for push in await chat.pushed():
                print(push)
            print()
    return 0
