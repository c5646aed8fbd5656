"""`python -m bot serve` as an operator runs it: a real process that answers, then stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from bot.models import OutboxMessage, OutboxStatus
from bot.settings import Settings
from bot.wechat.peer import WeChatPeer
from tests.wechat_helper import eventually

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_healthy(base: str, proc: asyncio.subprocess.Process, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None, "the service exited while starting"
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert loop.time() < deadline, "the service did not come up"
            await asyncio.sleep(0.1)


async def test_serve_answers_and_stops_cleanly_even_when_signalled_twice(database: str, database_url: str) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_"))}  # sandbox mode
    env |= {"BOT_DATABASE_URL": database_url, "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_healthy(base, proc)
        peer = WeChatPeer.for_settings(Settings.from_env(env))
        async with aiohttp.ClientSession() as http:
            for text in ("预约", "粤B66666", "保养", "后天上午10点", "王芳", "13700001234", "确认"):
                request = peer.sign(peer.text("o_serve_test", text))
                async with http.post(f"{base}/wechat", params=request.query, data=request.body) as resp:
                    assert resp.status == 200
                    reply = peer.open_reply(request, await resp.read())
        assert reply is not None and reply.startswith("预约成功"), reply
        # The confirmation template goes out through the service's own sandbox WeChat API.
        await eventually(lambda: OutboxMessage.filter(openid="o_serve_test", status=OutboxStatus.SENT).exists(), 20)

        # GNU timeout signals the process and then its whole group; people press Ctrl-C twice.
        os.kill(proc.pid, signal.SIGTERM)
        os.kill(proc.pid, signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.stdout is not None
    log = (await proc.stdout.read()).decode()
    assert code == 0, log
    assert log.rstrip().endswith("INFO bot stopped"), log
