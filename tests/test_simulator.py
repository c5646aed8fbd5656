"""`python -m bot chat`: the local WeChat simulator, talking to the real service over HTTP."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from bot.app import create_app
from bot.simulator import run_chat
from tests.conftest import Clock, make_settings


async def test_a_booking_in_the_simulator_prints_its_notice_right_after_the_confirmation(
    aiohttp_client: Any,
    database: str,
    sandbox_url: str,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The outbox polls every 2 s here: a fixed short pause after each reply would print the notice under a
    # later message (as `make chat` once did), or not at all.
    settings = make_settings(database, sandbox_url, outbox_poll_interval=2.0)
    service = await aiohttp_client(create_app(settings, clock=clock))
    typed = ["明天下午3点 粤A12345 保养", "张三", "13800138000", "确认", "我的预约", "/quit"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(typed) + "\n"))
    assert await run_chat(settings, "o_sim_user", str(service.make_url("")).rstrip("/")) == 0
    lines = capsys.readouterr().out.splitlines()
    booked = next(i for i, line in enumerate(lines) if line.startswith("预约成功"))
    listed = next(i for i, line in enumerate(lines) if line.startswith("您的预约"))
    reference = lines[booked].split()[-1]
    pushes = [i for i, line in enumerate(lines) if line.startswith("[") and reference in line]
    assert len(pushes) == 1 and booked < pushes[0] < listed, "\n".join(lines)
