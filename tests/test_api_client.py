"""The WeChat API client against the real emulator over real HTTP, with the real token stores."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.models import TokenCache
from bot.wechat.api import WeChatClient
from bot.wechat.errors import (
    CredentialError,
    DailyLimitError,
    InvalidOpenidError,
    NotFollowingError,
    OutsideWindowError,
    QuotaError,
    RefusedError,
    TokenInvalidError,
    TransientAPIError,
    WeChatAPIError,
)
from bot.wechat.sandbox import SandboxState, create_sandbox_app
from bot.wechat.tokens import DatabaseTokenStore, RedisTokenStore, TokenStore, token_store_for

APPID = "wxclienttest00001"
SECRET = "client-test-secret"
TEMPLATES = {"TPL_BOOKED": ["thing1", "time2"]}
REDIS_URL = os.environ.get("BOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STABLE_TOKEN = "/cgi-bin/stable_token"
USER_INFO = "/cgi-bin/user/info"
TEMPLATE_SEND = "/cgi-bin/message/template/send"

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
StoreFactory = Callable[[], TokenStore]


class Clock:
    """A clock the test moves by hand; starts at the real time so real and sandbox clocks agree."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> SandboxState:
    # The test clients time out after 0.3 s; a "timeout" fault stalls longer than that.
    state = SandboxState(APPID, SECRET, templates=TEMPLATES, clock=clock, timeout_delay=0.5, cs_quota=2)
    state.follow("o_cust1", nickname="王先生")
    return state


@pytest.fixture
async def api_base(aiohttp_server: ServerFactory, state: SandboxState) -> str:
    server = await aiohttp_server(create_sandbox_app(state))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def redis_stores() -> AsyncIterator[StoreFactory]:
    """Stores on the real Redis under a prefix of their own, as separate processes would have them."""
    prefix = f"test:{uuid.uuid4().hex}:"
    admin = Redis.from_url(REDIS_URL, decode_responses=True)
    clients: list[Redis] = []

    def make() -> TokenStore:
        client = Redis.from_url(REDIS_URL, decode_responses=True)
        clients.append(client)
        return RedisTokenStore(client, prefix=prefix)

    yield make
    for client in clients:
        await client.aclose()
    async for key in admin.scan_iter(match=f"{prefix}*"):
        await admin.delete(key)
    await admin.aclose()


@pytest.fixture(params=["database", "redis"])
def stores(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of token stores that share one backing store, once per kind of store."""
    if request.param == "redis":
        factory: StoreFactory = request.getfixturevalue("redis_stores")
        return factory
    request.getfixturevalue("database")
    return DatabaseTokenStore


@pytest.fixture
def store(stores: StoreFactory) -> TokenStore:
    return stores()


def make_client(session: aiohttp.ClientSession, api_base: str, store: TokenStore, **overrides: Any) -> WeChatClient:
    options: dict[str, Any] = {
        "timeout": 0.3,
        "backoff": 0.01,
        "lease_seconds": 2.0,
        "poll_interval": 0.01,
    }
    options.update(overrides)
    return WeChatClient(session, appid=APPID, secret=SECRET, api_base=api_base, store=store, **options)


@pytest.fixture
def client(session: aiohttp.ClientSession, api_base: str, store: TokenStore) -> WeChatClient:
    return make_client(session, api_base, store)


# --- single-flight token refresh --------------------------------------------------------------------


async def test_fifty_concurrent_calls_fetch_the_token_once(client: WeChatClient, state: SandboxState) -> None:
    results = await asyncio.gather(*(client.get_user_info("o_cust1") for _ in range(50)))
    assert all(info["subscribe"] == 1 for info in results)
    assert state.calls[STABLE_TOKEN] == 1
    assert state.calls[USER_INFO] == 50


async def test_two_processes_sharing_a_store_fetch_the_token_once(
    api_base: str, stores: StoreFactory, state: SandboxState
) -> None:
    async with aiohttp.ClientSession() as first_session, aiohttp.ClientSession() as second_session:
        first = make_client(first_session, api_base, stores())
        second = make_client(second_session, api_base, stores())
        calls = [c.get_user_info("o_cust1") for c in (first, second) for _ in range(10)]
        await asyncio.gather(*calls)
        assert await first.access_token() == await second.access_token()
    assert state.calls[STABLE_TOKEN] == 1
    assert state.calls[USER_INFO] == 20


async def test_a_dead_lease_holder_is_taken_over_when_its_lease_expires(
    client: WeChatClient, store: TokenStore, state: SandboxState
) -> None:
    # A process took the lease and crashed before fetching.
    assert await store.acquire_lease(APPID, "crashed-worker", 0.3)
    started = time.monotonic()
    await client.get_user_info("o_cust1")
    assert time.monotonic() - started >= 0.25
    assert state.calls[STABLE_TOKEN] == 1
    # The new holder gave the lease back.
    assert await store.acquire_lease(APPID, "another-worker", 1.0)


async def test_a_token_close_to_expiry_is_refreshed_ahead_of_time(
    client: WeChatClient, store: TokenStore, state: SandboxState
) -> None:
    await store.save(APPID, "about-to-expire", datetime.now(UTC) + timedelta(seconds=60))
    await client.get_user_info("o_cust1")
    assert state.calls[STABLE_TOKEN] == 1
    cached = await store.get(APPID)
    assert cached is not None
    assert cached.token != "about-to-expire"


# --- refused tokens ---------------------------------------------------------------------------------


async def test_token_expiry_mid_use_refreshes_once(client: WeChatClient, state: SandboxState) -> None:
    await client.get_user_info("o_cust1")
    old = await client.access_token()
    state.expire_tokens()
    info = await client.get_user_info("o_cust1")
    assert info["openid"] == "o_cust1"
    assert await client.access_token() != old
    assert state.calls[STABLE_TOKEN] == 2
    assert state.calls[USER_INFO] == 3  # before, the refused one, the retry


async def test_injected_40001_retries_the_call_exactly_once(client: WeChatClient, state: SandboxState) -> None:
    await client.get_user_info("o_cust1")
    old = await client.access_token()
    state.inject(USER_INFO, 40001)
    await client.get_user_info("o_cust1")
    assert state.calls[USER_INFO] == 3
    # WeChat still considered the old token current, so the non-forced fetch returned it again and
    # only then was a forced refresh used: 1 + 2 stable_token calls.
    assert state.calls[STABLE_TOKEN] == 3
    assert await client.access_token() != old


async def test_a_token_refused_twice_is_not_retried_again(client: WeChatClient, state: SandboxState) -> None:
    state.inject(USER_INFO, 40014, times=2)
    with pytest.raises(TokenInvalidError) as caught:
        await client.get_user_info("o_cust1")
    assert caught.value.errcode == 40014
    assert state.calls[USER_INFO] == 2


async def test_a_token_another_process_already_replaced_is_reused(
    api_base: str, stores: StoreFactory, state: SandboxState
) -> None:
    async with aiohttp.ClientSession() as first_session, aiohttp.ClientSession() as second_session:
        first = make_client(first_session, api_base, stores())
        second = make_client(second_session, api_base, stores())
        await first.get_user_info("o_cust1")
        await second.get_user_info("o_cust1")
        state.expire_tokens()
        await second.get_user_info("o_cust1")  # refreshes and saves the new token
        await first.get_user_info("o_cust1")  # refused, then finds the new token in the store
        assert await first.access_token() == await second.access_token()
    assert state.calls[STABLE_TOKEN] == 2


# --- transient failures -----------------------------------------------------------------------------


async def test_5xx_twice_then_success(client: WeChatClient, state: SandboxState) -> None:
    state.inject(USER_INFO, "5xx", times=2)
    assert (await client.get_user_info("o_cust1"))["subscribe"] == 1
    assert state.calls[USER_INFO] == 3


async def test_5xx_beyond_max_attempts_raises_transient(client: WeChatClient, state: SandboxState) -> None:
    state.inject(USER_INFO, "5xx", times=5)
    with pytest.raises(TransientAPIError) as caught:
        await client.get_user_info("o_cust1")
    assert caught.value.retryable
    assert "HTTP 503" in caught.value.errmsg
    assert state.calls[USER_INFO] == 3


async def test_a_timeout_is_retried(client: WeChatClient, state: SandboxState) -> None:
    state.inject(USER_INFO, "timeout")
    assert (await client.get_user_info("o_cust1"))["subscribe"] == 1
    assert state.calls[USER_INFO] == 2


async def test_system_busy_is_retried(client: WeChatClient, state: SandboxState) -> None:
    state.inject(USER_INFO, "busy", times=2)
    assert (await client.get_user_info("o_cust1"))["subscribe"] == 1
    assert state.calls[USER_INFO] == 3


async def test_an_unreachable_api_raises_transient(session: aiohttp.ClientSession, database: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(session, f"http://127.0.0.1:{port}", DatabaseTokenStore())
    with pytest.raises(TransientAPIError) as caught:
        await client.get_user_info("o_cust1")
    assert "connection failed" in caught.value.errmsg


async def test_daily_limit_is_not_retried(client: WeChatClient, state: SandboxState) -> None:
    state.inject(TEMPLATE_SEND, 45009)
    with pytest.raises(DailyLimitError) as caught:
        await client.send_template("o_cust1", "TPL_BOOKED", {"thing1": "保养", "time2": "15:00"})
    assert caught.value.retryable
    assert state.calls[TEMPLATE_SEND] == 1
    assert state.inbox("o_cust1") == []


# --- typed errors -----------------------------------------------------------------------------------


async def test_sending_to_an_unfollowed_user(client: WeChatClient, state: SandboxState) -> None:
    state.unfollow("o_cust1")
    with pytest.raises(NotFollowingError) as caught:
        await client.send_template("o_cust1", "TPL_BOOKED", {"thing1": "保养", "time2": "15:00"})
    assert caught.value.errcode == 43004
    assert not caught.value.retryable


async def test_sending_to_an_unknown_openid(client: WeChatClient) -> None:
    with pytest.raises(InvalidOpenidError) as caught:
        await client.send_text("o_stranger", "您好")
    assert caught.value.errcode == 40003
    assert not caught.value.retryable


async def test_text_outside_the_48_hour_window(client: WeChatClient, state: SandboxState, clock: Clock) -> None:
    clock.advance(hours=49)
    with pytest.raises(OutsideWindowError) as caught:
        await client.send_text("o_cust1", "您的车已保养完毕")
    assert caught.value.errcode == 45015
    assert not caught.value.retryable


async def test_text_quota_then_refused_templates_then_bad_data(client: WeChatClient, state: SandboxState) -> None:
    await client.send_text("o_cust1", "一")
    await client.send_text("o_cust1", "二")
    with pytest.raises(QuotaError) as quota:
        await client.send_text("o_cust1", "三")
    assert quota.value.retryable
    state.refuse_templates("o_cust1")
    with pytest.raises(RefusedError):
        await client.send_template("o_cust1", "TPL_BOOKED", {"thing1": "保养", "time2": "15:00"})
    state.refuse_templates("o_cust1", refuse=False)
    with pytest.raises(WeChatAPIError) as invalid:
        await client.send_template("o_cust1", "TPL_BOOKED", {"thing1": "保" * 21, "time2": "15:00"})
    assert invalid.value.errcode == 47003
    assert type(invalid.value) is WeChatAPIError
    assert not invalid.value.retryable


async def test_a_wrong_secret_is_a_credential_error(
    session: aiohttp.ClientSession, api_base: str, store: TokenStore, state: SandboxState
) -> None:
    client = WeChatClient(session, appid=APPID, secret="wrong", api_base=api_base, store=store, backoff=0.01)
    with pytest.raises(CredentialError) as caught:
        await client.get_user_info("o_cust1")
    assert caught.value.errcode == 40125
    assert state.calls[STABLE_TOKEN] == 1
    assert await store.get(APPID) is None


# --- what gets delivered ----------------------------------------------------------------------------


async def test_send_template_delivers_the_payload_once_per_client_msg_id(
    client: WeChatClient, state: SandboxState
) -> None:
    data = {"thing1": "保养预约已确认", "time2": "2026-03-03 15:00"}
    msgid = await client.send_template(
        "o_cust1", "TPL_BOOKED", data, url="https://4sdesk.example/a/1", client_msg_id="outbox-7"
    )
    again = await client.send_template(
        "o_cust1", "TPL_BOOKED", data, url="https://4sdesk.example/a/1", client_msg_id="outbox-7"
    )
    assert again == msgid
    [delivered] = state.inbox("o_cust1")
    assert delivered.msgid == msgid
    assert delivered.kind == "template"
    assert delivered.payload == {
        "touser": "o_cust1",
        "template_id": "TPL_BOOKED",
        "data": {"thing1": {"value": "保养预约已确认"}, "time2": {"value": "2026-03-03 15:00"}},
        "url": "https://4sdesk.example/a/1",
        "client_msg_id": "outbox-7",
    }


async def test_send_text_delivers(client: WeChatClient, state: SandboxState) -> None:
    await client.send_text("o_cust1", "您好，已为您预约明天下午3点保养。")
    [delivered] = state.inbox("o_cust1")
    assert delivered.kind == "text"
    assert delivered.payload == {
        "touser": "o_cust1",
        "msgtype": "text",
        "text": {"content": "您好，已为您预约明天下午3点保养。"},
    }


async def test_the_token_is_cached_in_the_database_for_the_next_client(
    session: aiohttp.ClientSession, api_base: str, database: str, state: SandboxState
) -> None:
    first = make_client(session, api_base, DatabaseTokenStore())
    await first.get_user_info("o_cust1")
    row = await TokenCache.get(appid=APPID)
    assert row.access_token == await first.access_token()
    assert row.expires_at is not None
    assert timedelta(seconds=7190) < row.expires_at - datetime.now(UTC) <= timedelta(seconds=7200)
    assert row.lease_owner is None  # released after the refresh

    async with aiohttp.ClientSession() as fresh_session:
        restarted = make_client(fresh_session, api_base, DatabaseTokenStore())
        await restarted.get_user_info("o_cust1")
    assert state.calls[STABLE_TOKEN] == 1


async def test_account_management_round_trip(client: WeChatClient, state: SandboxState) -> None:
    menu = {"button": [{"type": "click", "name": "预约保养", "key": "BOOK"}]}
    await client.create_menu(menu)
    tag_id = await client.create_tag("店员")
    menuid = await client.create_conditional_menu(menu, tag_id)
    assert state.conditional_menus[menuid]["matchrule"] == {"tag_id": str(tag_id)}
    await client.delete_conditional_menu(menuid)
    await client.delete_menu()
    assert state.menu is None

    openids = [f"o_staff{n}" for n in range(60)]
    for openid in openids:
        state.follow(openid)
    await client.tag_users(tag_id, openids)  # more than one batch of 50
    assert state.calls["/cgi-bin/tags/members/batchtagging"] == 2
    assert (await client.get_user_info("o_staff59"))["tagid_list"] == [tag_id]
    await client.untag_users(tag_id, openids[:3])
    assert (await client.get_user_info("o_staff0"))["tagid_list"] == []

    temporary = await client.create_qrcode("staff-bind:abc123", expire_seconds=600)
    assert temporary.expire_seconds == 600
    assert state.scene_for_ticket(temporary.ticket) == "staff-bind:abc123"
    permanent = await client.create_qrcode("desk:front", permanent=True)
    assert permanent.expire_seconds is None
    assert state.scene_for_ticket(permanent.ticket) == "desk:front"
    assert client.qrcode_image_url("a+b/c=") == "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=a%2Bb%2Fc%3D"
    with pytest.raises(ValueError):
        await client.create_qrcode("x" * 65)


async def test_the_client_works_with_the_emulator_mounted_in_a_service(
    aiohttp_server: ServerFactory, session: aiohttp.ClientSession, database: str
) -> None:
    state = SandboxState(APPID, SECRET, templates=TEMPLATES)
    state.follow("o_cust1")
    service = web.Application()
    service.add_subapp("/sandbox", create_sandbox_app(state))
    server = await aiohttp_server(service)
    client = make_client(session, str(server.make_url("/sandbox")), DatabaseTokenStore())
    await client.send_template("o_cust1", "TPL_BOOKED", {"thing1": "保养", "time2": "15:00"})
    assert len(state.inbox("o_cust1")) == 1
    assert state.calls[STABLE_TOKEN] == 1


async def test_the_secret_and_tokens_are_never_logged(
    client: WeChatClient, state: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get_user_info("o_cust1")
    first = await client.access_token()
    state.inject(USER_INFO, "5xx")
    state.inject(USER_INFO, 40001)
    await client.get_user_info("o_cust1")
    second = await client.access_token()
    state.inject(USER_INFO, "5xx", times=3)
    with pytest.raises(TransientAPIError) as caught:
        await client.get_user_info("o_cust1")
    assert first != second
    # Our own loggers only: the emulator's access log shows request URLs and the ORM's DEBUG log shows
    # query parameters, and both are configured outside this client.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "refused the access token" in logged  # the log did record what happened...
    for secret in (SECRET, first, second):  # ...without credentials
        assert secret not in logged
        assert secret not in str(caught.value)


# --- the stores themselves --------------------------------------------------------------------------


async def test_store_invalidates_only_the_token_it_was_told_about(store: TokenStore) -> None:
    assert await store.get(APPID) is None
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    await store.save(APPID, "token-2", expires_at)
    await store.invalidate(APPID, "token-1")  # a stale process refusing an older token
    cached = await store.get(APPID)
    assert cached is not None
    assert (cached.token, cached.expires_at) == ("token-2", expires_at)
    assert "token-2" not in repr(cached)
    await store.invalidate(APPID, "token-2")
    assert await store.get(APPID) is None


async def test_store_lease_is_exclusive_and_released_only_by_its_owner(store: TokenStore) -> None:
    assert await store.acquire_lease(APPID, "worker-a", 5)
    assert not await store.acquire_lease(APPID, "worker-b", 5)
    assert await store.acquire_lease(APPID, "worker-a", 5)  # the holder may extend it
    await store.release_lease(APPID, "worker-b")
    assert not await store.acquire_lease(APPID, "worker-b", 5)
    await store.release_lease(APPID, "worker-a")
    assert await store.acquire_lease(APPID, "worker-b", 5)


async def test_store_lease_expires(store: TokenStore) -> None:
    assert await store.acquire_lease(APPID, "worker-a", 0.05)
    await asyncio.sleep(0.1)
    assert await store.acquire_lease(APPID, "worker-b", 5)


async def test_store_lease_has_one_winner_among_many(stores: StoreFactory) -> None:
    contenders = [stores() for _ in range(10)]
    results = await asyncio.gather(*(s.acquire_lease(APPID, f"worker-{n}", 5) for n, s in enumerate(contenders)))
    assert results.count(True) == 1


async def test_token_store_for_picks_redis_when_configured(database: str) -> None:
    assert isinstance(token_store_for(None), DatabaseTokenStore)
    store = token_store_for(REDIS_URL)
    assert isinstance(store, RedisTokenStore)
    try:
        assert await store.acquire_lease(f"factory-{uuid.uuid4().hex}", "me", 0.05)
    finally:
        await store.aclose()
