"""The webhook as WeChat drives it: signatures, modes, message kinds, events, retries, budget and bad input."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from bot import db
from bot.app import create_app
from bot.handlers import router
from bot.handlers.commands import Command, CommandTable
from bot.handlers.turn import Handler, HandlerResult, Turn
from bot.models import OutboxMessage, OutboxStatus, ProcessedMessage
from bot.services import dedupe
from bot.services.roles import EVERYONE
from bot.settings import Settings
from bot.wechat.peer import WeChatPeer
from bot.wechat.sandbox import SandboxState
from tests.conftest import make_settings
from tests.wechat_helper import WeChatTester, eventually


async def webhook_for(aiohttp_client: Any, sandbox: SandboxState, settings: Settings) -> WeChatTester:
    client = await aiohttp_client(create_app(settings))
    return WeChatTester(client, WeChatPeer.for_settings(settings), sandbox)


# --- URL verification ---------------------------------------------------------------------------------


async def test_get_echoes_echostr_only_with_a_valid_signature(wechat: WeChatTester) -> None:
    query = wechat.peer.verify_query("4s-echo-123")
    resp = await wechat.client.get("/wechat", params=query)
    assert resp.status == 200
    assert await resp.text() == "4s-echo-123"
    query["signature"] = "0" * 40
    assert (await wechat.client.get("/wechat", params=query)).status == 403
    assert (await wechat.client.get("/wechat", params={"echostr": "x"})).status == 403


# --- modes ----------------------------------------------------------------------------------------------


async def test_safe_mode_reply_is_encrypted_and_readable_by_wechat(wechat: WeChatTester) -> None:
    owner = wechat.user("o_cust1")
    request = wechat.peer.sign(wechat.peer.text("o_cust1", "帮助"))
    answer = await wechat.post(request)
    assert answer.status == 200
    assert b"<Encrypt>" in answer.body and "帮助".encode() not in answer.body
    assert answer.text is not None and "预约" in answer.text
    assert "预约" in (await owner.says("帮助") or "")


@pytest.mark.parametrize("mode", ["plain", "compat"])
async def test_plain_and_compat_modes(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str, mode: str
) -> None:
    wechat = await webhook_for(aiohttp_client, sandbox, make_settings(database, sandbox_url, wechat_mode=mode))
    request = wechat.peer.sign(wechat.peer.text("o_cust1", "联系门店"))
    answer = await wechat.post(request)
    assert answer.status == 200
    assert (b"<Encrypt>" in answer.body) == (mode == "compat")
    assert answer.text is not None and "电话" in answer.text


async def test_safe_mode_refuses_plaintext(wechat: WeChatTester) -> None:
    plain = WeChatPeer(wechat.peer.token, wechat.peer.appid, None, "plain")
    answer = await wechat.post(plain.sign(plain.text("o_cust1", "帮助")))
    assert answer.status == 400
    assert await ProcessedMessage.all().count() == 0


async def test_key_rotation_accepts_the_previous_key(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str
) -> None:
    old_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    new_key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
    settings = make_settings(database, sandbox_url, wechat_aes_key=new_key, wechat_aes_key_previous=old_key)
    wechat = await webhook_for(aiohttp_client, sandbox, settings)
    old_peer = WeChatPeer(settings.wechat_token, settings.wechat_appid, old_key, "safe")
    request = old_peer.sign(old_peer.text("o_cust1", "帮助"))
    answer = await wechat.post(request)
    assert answer.status == 200
    # The reply is encrypted with the new key: WeChat (already rotated) reads it.
    assert wechat.peer.open_reply(request, answer.body) is not None


# --- message kinds and events ----------------------------------------------------------------------------


async def test_unknown_text_gets_help_listing_what_the_user_can_do(wechat: WeChatTester) -> None:
    reply = await wechat.user("o_cust1").says("今天天气怎么样")
    assert reply is not None
    assert "没有看懂" in reply and "预约" in reply and "我的预约" in reply


async def test_voice_uses_recognition_or_asks_to_type(wechat: WeChatTester) -> None:
    owner = wechat.user("o_cust1")
    assert "电话" in (await owner.speaks("联系门店。") or "")
    assert "打字" in (await owner.speaks("") or "")
    assert "打字" in (await owner.speaks(None) or "")


async def test_image_location_and_link_get_a_polite_reply(wechat: WeChatTester) -> None:
    for xml, word in (
        (wechat.peer.image("o_cust1"), "图片"),
        (wechat.peer.link("o_cust1"), "链接"),
        (wechat.peer.location("o_cust1"), "门店地址"),
    ):
        answer = await wechat.send(xml)
        assert answer.status == 200 and answer.text is not None and word in answer.text


async def test_subscribe_plain_and_via_qr_scene(wechat: WeChatTester, caplog: pytest.LogCaptureFixture) -> None:
    owner = wechat.user("o_new")
    now = int(time.time())
    assert "欢迎关注" in (await owner.event("subscribe", create_time=now - 10) or "")
    with caplog.at_level(logging.INFO):
        reply = await owner.event("subscribe", "qrscene_store_front", ticket="T1", create_time=now)
    assert reply is not None and "欢迎关注" in reply
    assert any("store_front" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("spelling", ["SCAN", "scan", "Scan"])
async def test_event_names_in_any_case(wechat: WeChatTester, spelling: str) -> None:
    assert "已关注" in (await wechat.user("o_cust1").event(spelling, "store_front", ticket="T2") or "")


async def test_click_keys(wechat: WeChatTester) -> None:
    owner = wechat.user("o_cust1")
    assert "电话" in (await owner.event("CLICK", "CONTACT") or "")
    assert "车牌" in (await owner.event("click", "BOOK") or "")
    assert "预约" in (await owner.event("CLICK", "NO_SUCH_KEY") or "")


@pytest.mark.parametrize("event", ["unsubscribe", "VIEW", "LOCATION", "some_future_event"])
async def test_silent_events_answer_success(wechat: WeChatTester, event: str) -> None:
    answer = await wechat.send(wechat.peer.event("o_cust1", event, "http://x.invalid"))
    assert answer.status == 200 and answer.body == b"success"


async def test_unknown_message_type_answers_success(wechat: WeChatTester) -> None:
    xml = wechat.peer.text("o_cust1", "x").replace("<![CDATA[text]]>", "<![CDATA[miniprogrampage]]>")
    answer = await wechat.send(xml)
    assert answer.status == 200 and answer.body == b"success"


async def test_template_job_finished_updates_the_outbox_row(wechat: WeChatTester) -> None:
    row = await OutboxMessage.create(
        kind="template",
        openid="o_cust1",
        payload={},
        next_attempt_at=_now(),
        client_msg_id="c1",
        status=OutboxStatus.SENT,
        wechat_msgid=200163836,
    )
    extra = "<Status><![CDATA[failed:user block]]></Status>"
    xml = wechat.peer.event("o_cust1", "TEMPLATESENDJOBFINISH", extra=f"<MsgID>200163836</MsgID>{extra}")
    answer = await wechat.send(xml)
    assert answer.body == b"success"
    await row.refresh_from_db()
    assert row.delivery_status == "failed:user block"


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# --- WeChat's retries -----------------------------------------------------------------------------------


async def test_a_retried_msgid_gets_the_same_reply_and_runs_once(
    wechat: WeChatTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = wechat.user("o_cust1")
    long_text = "\n".join(f"第{i}条：粤A{i:05d} 保养记录" for i in range(300))
    teach(monkeypatch, "长列表", _returns(long_text))
    first = await owner.says("长列表")
    assert first is not None and "下一页" in first
    xml = wechat.peer.text("o_cust1", "下一页", msg_id=88001)
    page2 = await wechat.send(xml)
    retry = await wechat.send(xml)
    assert page2.text == retry.text
    assert page2.text is not None and "第2/" in page2.text
    # The retry did not pop another page: the next real "下一页" is page 3.
    assert "第3/" in (await owner.says("下一页") or "")
    await dedupe.flush()
    assert await ProcessedMessage.filter(key="m:88001").count() == 1


async def test_same_event_twice_is_processed_once(wechat: WeChatTester) -> None:
    xml = wechat.peer.event("o_cust1", "subscribe", create_time=1764300000)
    first, retry = await wechat.send(xml), await wechat.send(xml)
    assert first.text == retry.text and first.text is not None
    await dedupe.flush()  # the durable record is written behind the reply
    assert await ProcessedMessage.all().count() == 1


async def test_two_menu_clicks_in_one_second_are_both_answered(wechat: WeChatTester) -> None:
    # Events carry no MsgId and are told apart by user and second; two different clicks share both.
    now = int(time.time())
    contact = await wechat.send(wechat.peer.event("o_cust1", "CLICK", "CONTACT", create_time=now))
    mine = await wechat.send(wechat.peer.event("o_cust1", "CLICK", "MY_APPTS", create_time=now))
    assert contact.text is not None and "电话" in contact.text
    assert mine.text is not None and "预约" in mine.text and "电话" not in mine.text


def teach(monkeypatch: pytest.MonkeyPatch, word: str, handler: Handler) -> None:
    """Give the router a test command for `word` for the length of one test."""

    async def run(turn: Turn, arg: str) -> HandlerResult:
        return await handler(turn)

    command = Command(f"test:{word}", (word,), run, EVERYONE)
    monkeypatch.setattr(router, "TABLE", CommandTable((command, *router.TABLE.commands)))


def _returns(text: str, delay: float = 0.0) -> Handler:
    calls: list[int] = []

    async def handler(turn: Turn) -> HandlerResult:
        calls.append(1)
        await asyncio.sleep(delay)
        return HandlerResult("test", f"{text}（第{len(calls)}次）" if delay else text)

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


async def test_concurrent_retries_run_the_handler_once(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wechat = await webhook_for(aiohttp_client, sandbox, make_settings(database, sandbox_url, reply_budget=2.0))
    slow = _returns("慢回复", delay=0.3)
    teach(monkeypatch, "慢", slow)
    xml = wechat.peer.text("o_cust1", "慢", msg_id=99001)
    answers = await asyncio.gather(*(wechat.send(xml) for _ in range(4)))
    texts = [a.text for a in answers]
    assert texts.count("慢回复（第1次）") == 1
    assert texts.count(None) == 3  # the retries that arrived while it ran got "success"
    assert len(slow.calls) == 1  # type: ignore[attr-defined]
    # A retry after it finished gets the very same reply.
    assert (await wechat.send(xml)).text == "慢回复（第1次）"


async def test_a_handler_past_the_budget_replies_through_the_outbox(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wechat = await webhook_for(aiohttp_client, sandbox, make_settings(database, sandbox_url, reply_budget=0.3))
    slow = _returns("查询结果：您的车辆已保养完毕", delay=1.0)
    teach(monkeypatch, "慢", slow)
    owner = wechat.user("o_late")
    xml = wechat.peer.text("o_late", "慢", msg_id=99002)
    sandbox.touch("o_late")
    started = time.perf_counter()
    first = await wechat.send(xml)
    assert first.body == b"success" and time.perf_counter() - started < 0.9
    await eventually(lambda: len(owner.inbox()) == 1)
    delivered = owner.inbox()[0]
    assert "已保养完毕" in str(delivered.payload)
    # WeChat's retry after the budget gets "success" and nothing is sent or run twice.
    assert (await wechat.send(xml)).body == b"success"
    await asyncio.sleep(0.2)
    assert len(owner.inbox()) == 1
    assert len(slow.calls) == 1  # type: ignore[attr-defined]
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 1


# --- bad input -------------------------------------------------------------------------------------------


async def test_forged_or_missing_signature_is_403_and_logged_once_without_secrets(
    wechat: WeChatTester, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    request = wechat.peer.sign(wechat.peer.text("o_cust1", "帮助"))
    forged = dict(request.query, signature="f" * 40)
    with caplog.at_level(logging.INFO):
        resp = await wechat.client.post("/wechat", params=forged, data=request.body)
    assert resp.status == 403
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert settings.wechat_token not in warnings[0] and "f" * 40 not in warnings[0]
    missing = {k: v for k, v in request.query.items() if k != "signature"}
    assert (await wechat.client.post("/wechat", params=missing, data=request.body)).status == 403
    bad_msg_sig = dict(request.query, msg_signature="0" * 40)
    assert (await wechat.client.post("/wechat", params=bad_msg_sig, data=request.body)).status == 403
    assert await ProcessedMessage.all().count() == 0


async def test_a_replayed_old_message_is_refused(wechat: WeChatTester) -> None:
    xml = wechat.peer.text("o_cust1", "帮助")
    assert (await wechat.send(xml, timestamp=int(time.time()) - 301)).status == 403
    assert (await wechat.send(xml, timestamp=int(time.time()) - 100)).status == 200


async def test_max_message_age_zero_turns_the_check_off(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str
) -> None:
    wechat = await webhook_for(aiohttp_client, sandbox, make_settings(database, sandbox_url, max_message_age=0))
    answer = await wechat.send(wechat.peer.text("o_cust1", "帮助"), timestamp=int(time.time()) - 86400)
    assert answer.status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>gh</ToUserName",
        b"this is not xml",
        b"",
        b"<notxml><a>1</a></notxml>",
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><xml><Encrypt>&lol2;</Encrypt></xml>',
        b"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[bm90IHZhbGlk]]></Encrypt></xml>",
    ],
)
async def test_malformed_bodies_are_400_and_store_nothing(wechat: WeChatTester, body: bytes) -> None:
    request = wechat.peer.sign(wechat.peer.text("o_cust1", "帮助"))
    encrypted = body.split(b"<Encrypt><![CDATA[")[-1].split(b"]]>")[0] if b"CDATA[bm90" in body else None
    query = dict(request.query)
    if encrypted is not None:
        from bot.wechat.crypto import signature

        query["msg_signature"] = signature(wechat.peer.token, query["timestamp"], query["nonce"], encrypted.decode())
    resp = await wechat.client.post("/wechat", params=query, data=body)
    assert resp.status == 400
    assert await ProcessedMessage.all().count() == 0


async def test_payload_for_another_appid_is_400(wechat: WeChatTester) -> None:
    other = WeChatPeer(wechat.peer.token, "wx0000000000000000", wechat.peer.aes_key, "safe")
    answer = await wechat.post(other.sign(other.text("o_cust1", "帮助")))
    assert answer.status == 400
    assert await ProcessedMessage.all().count() == 0


async def test_a_body_over_64_kib_is_413(wechat: WeChatTester) -> None:
    request = wechat.peer.sign(wechat.peer.text("o_cust1", "长" * 30000))
    assert len(request.body) > 64 * 1024
    resp = await wechat.client.post("/wechat", params=request.query, data=request.body)
    assert resp.status == 413


async def test_database_failure_gets_a_polite_reply(
    aiohttp_client: Any, sandbox: SandboxState, tmp_path: Any, sandbox_url: str
) -> None:
    broken = make_settings("postgres://postgres@127.0.0.1:1/nowhere", sandbox_url, run_background_tasks=False)
    wechat = await webhook_for(aiohttp_client, sandbox, broken)
    answer = await wechat.send(wechat.peer.text("o_cust1", "帮助"))
    assert answer.status == 200
    assert answer.text is not None and "稍后再试" in answer.text and broken.store_phone in answer.text


# --- health ---------------------------------------------------------------------------------------------


async def test_healthz_ok(wechat: WeChatTester) -> None:
    resp = await wechat.client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"


async def test_healthz_503_when_migrations_are_missing(aiohttp_client: Any, tmp_path: Any, sandbox_url: str) -> None:
    settings = make_settings(f"sqlite://{tmp_path / 'empty.sqlite3'}", sandbox_url, run_background_tasks=False)
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["reason"] == "migrations pending"


async def test_healthz_503_when_the_database_is_unreachable(aiohttp_client: Any, sandbox_url: str) -> None:
    settings = make_settings("postgres://postgres@127.0.0.1:1/nowhere", sandbox_url, run_background_tasks=False)
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["reason"] == "database unreachable"


async def test_shutdown_lets_an_in_flight_message_finish(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database, sandbox_url, reply_budget=3.0)
    wechat = await webhook_for(aiohttp_client, sandbox, settings)
    teach(monkeypatch, "慢", _returns("处理完毕", delay=0.5))
    xml = wechat.peer.text("o_cust1", "慢", msg_id=99003)
    in_flight = asyncio.create_task(wechat.send(xml))
    await asyncio.sleep(0.1)
    await wechat.client.close()  # stops the server while the handler is still running
    await asyncio.gather(in_flight, return_exceptions=True)
    await db.connect(settings)
    record = await ProcessedMessage.get(key="m:99003")
    assert record.done and record.reply is not None and "处理完毕" in record.reply


async def test_one_log_line_per_message_with_a_hashed_openid(
    wechat: WeChatTester, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.webhook"):
        await wechat.user("o_private_openid").says("帮助")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.webhook"]
    assert len(lines) == 1
    assert "o_private_openid" not in lines[0]
    for field in ("user=", "type=text", "handler=help", "latency_ms=", "outcome=replied"):
        assert field in lines[0]


async def test_with_redis_the_late_reply_still_arrives(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database, sandbox_url, reply_budget=0.1, redis_url="redis://127.0.0.1:6379/0")
    wechat = await webhook_for(aiohttp_client, sandbox, settings)
    teach(monkeypatch, "慢", _returns("稍后送达", delay=0.3))
    owner = wechat.user("o_redis")
    assert await owner.says("慢") is None
    await eventually(lambda: len(owner.inbox()) == 1)


async def test_a_retry_reaching_another_worker_gets_the_first_reply(
    aiohttp_client: Any, sandbox: SandboxState, database: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database, sandbox_url, reply_budget=0.5)
    first_worker = await webhook_for(aiohttp_client, sandbox, settings)
    second_worker = await webhook_for(aiohttp_client, sandbox, settings)
    counting = _returns("查询结果", delay=0.001)
    slow = _returns("慢慢来", delay=1.5)
    teach(monkeypatch, "查", counting)
    teach(monkeypatch, "慢", slow)
    # WeChat retries after 5 s, so a retry carries a CreateTime at least that old.
    xml = first_worker.peer.text("o_cust1", "查", msg_id=99101, create_time=int(time.time()) - 6)
    first = await first_worker.send(xml)
    await dedupe.flush()  # WeChat's retry comes 5 s later: the write-behind record has landed by then
    retry = await second_worker.send(xml)
    assert first.text == retry.text == "查询结果（第1次）"
    assert len(counting.calls) == 1  # type: ignore[attr-defined]
    # A first attempt still running past the budget: the other worker's retry gets "success".
    sandbox.follow("o_cust1")
    late = first_worker.peer.text("o_cust1", "慢", msg_id=99102, create_time=int(time.time()) - 6)
    assert (await first_worker.send(late)).body == b"success"
    assert (await second_worker.send(late)).body == b"success"
    await eventually(lambda: len(sandbox.inbox("o_cust1")) == 1)
    assert len(slow.calls) == 1  # type: ignore[attr-defined]


async def test_a_delivery_report_before_the_send_result_is_written_is_kept(wechat: WeChatTester) -> None:
    """WeChat's TEMPLATESENDJOBFINISH can overtake the dispatcher's write of the msgid WeChat returned."""
    row = await OutboxMessage.create(
        kind="template", openid="o_cust1", payload={}, next_attempt_at=_now(), client_msg_id="c2"
    )

    async def send_result_lands() -> None:
        await asyncio.sleep(0.1)
        await OutboxMessage.filter(id=row.id).update(status=OutboxStatus.SENT, wechat_msgid=200163837)

    landing = asyncio.create_task(send_result_lands())
    extra = "<MsgID>200163837</MsgID><Status><![CDATA[success]]></Status>"
    answer = await wechat.send(wechat.peer.event("o_cust1", "TEMPLATESENDJOBFINISH", extra=extra))
    await landing
    assert answer.body == b"success"
    await row.refresh_from_db()
    assert row.wechat_msgid == 200163837 and row.delivery_status == "success"
