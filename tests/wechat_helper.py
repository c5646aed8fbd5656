"""The `wechat` test helper: posts XML to the real webhook exactly as WeChat does, and reads the replies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from bot.wechat.peer import SignedRequest, WeChatPeer
from bot.wechat.sandbox import SandboxState


@dataclass
class Answer:
    status: int
    body: bytes
    text: str | None  # the reply as the user sees it; None for "success"


class WeChatTester:
    """Drives the webhook through aiohttp's test client; `user()` gives a persona that chats."""

    def __init__(self, client: TestClient[Any, Any], peer: WeChatPeer, sandbox: SandboxState) -> None:
        self.client = client
        self.peer = peer
        self.sandbox = sandbox

    async def post(self, request: SignedRequest) -> Answer:
        resp = await self.client.post("/wechat", params=request.query, data=request.body)
        body = await resp.read()
        text = self.peer.open_reply(request, body) if resp.status == 200 else None
        return Answer(resp.status, body, text)

    async def send(self, xml: str, **sign: Any) -> Answer:
        return await self.post(self.peer.sign(xml, **sign))

    def user(self, openid: str) -> User:
        self.sandbox.follow(openid)
        return User(self, openid)


@dataclass
class User:
    wechat: WeChatTester
    openid: str
    last_event_time: int = 0

    async def says(self, text: str) -> str | None:
        """Send a text message like the user would; return the reply they see."""
        self.wechat.sandbox.touch(self.openid)
        answer = await self.wechat.send(self.wechat.peer.text(self.openid, text))
        assert answer.status == 200, answer.body
        return answer.text

    async def speaks(self, recognition: str | None) -> str | None:
        self.wechat.sandbox.touch(self.openid)
        answer = await self.wechat.send(self.wechat.peer.voice(self.openid, recognition))
        assert answer.status == 200, answer.body
        return answer.text

    async def event(self, event: str, key: str | None = None, **kw: Any) -> str | None:
        """Send an event. Events have no MsgId and are deduplicated by user, CreateTime, Event and key, so the
        same event twice in one second is a retry; a person's successive events get successive CreateTimes here."""
        if "create_time" not in kw:
            kw["create_time"] = self.last_event_time = max(int(time.time()), self.last_event_time + 1)
        answer = await self.wechat.send(self.wechat.peer.event(self.openid, event, key, **kw))
        assert answer.status == 200, answer.body
        return answer.text

    def inbox(self) -> list[Any]:
        return list(self.wechat.sandbox.inbox(self.openid))


async def eventually(check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `check()` holds (background delivery), failing after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
