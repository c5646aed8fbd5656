"""The WeChat emulator answers like WeChat: same payloads, same errcodes, same limits, over real HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.wechat.sandbox import SANDBOX_STATE, SandboxState, create_sandbox_app

APPID = "wxsandboxtest0001"
SECRET = "sandbox-test-secret"
TEMPLATES = {"TPL_BOOKED": ["thing1", "time2"]}

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class WeChat:
    """Raw HTTP access to the emulator, the way any WeChat client would call it."""

    def __init__(self, client: Client, state: SandboxState) -> None:
        self.http = client
        self.state = state

    async def stable_token(self, **overrides: Any) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": False}
        resp = await self.http.post("/cgi-bin/stable_token", json={**body, **overrides})
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data

    async def token(self) -> str:
        return str((await self.stable_token())["access_token"])

    async def post(self, path: str, body: Any, *, token: str | None = None) -> dict[str, Any]:
        token = token if token is not None else await self.token()
        resp = await self.http.post(path, params={"access_token": token}, json=body)
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        resp = await self.http.get(path, params={"access_token": await self.token(), **params})
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data

    async def template(self, openid: str, **overrides: Any) -> dict[str, Any]:
        body = {
            "touser": openid,
            "template_id": "TPL_BOOKED",
            "data": {"thing1": {"value": "保养预约已确认"}, "time2": {"value": "2026-03-03 15:00"}},
            **overrides,
        }
        return await self.post("/cgi-bin/message/template/send", body)

    async def text(self, openid: str, content: str) -> dict[str, Any]:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self.post("/cgi-bin/message/custom/send", body)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def wechat(aiohttp_client: ClientFactory, clock: Clock) -> WeChat:
    state = SandboxState(APPID, SECRET, templates=TEMPLATES, clock=clock, template_daily_limit=5, cs_quota=3)
    return WeChat(await aiohttp_client(create_sandbox_app(state)), state)


def errcode(data: dict[str, Any]) -> int:
    return int(data.get("errcode", 0))


def tags_of(wechat: WeChat, openid: str) -> set[int]:
    user = wechat.state.user(openid)
    assert user is not None
    return user.tags


# --- stable_token -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"secret": "wrong"}, 40125),
        ({"appid": "wx-someone-else"}, 40013),
        ({"grant_type": "password"}, 40002),
    ],
)
async def test_stable_token_refuses_wrong_credentials(wechat: WeChat, overrides: dict[str, str], expected: int) -> None:
    data = await wechat.stable_token(**overrides)
    assert errcode(data) == expected
    assert "access_token" not in data
    assert "rid:" in data["errmsg"]


async def test_stable_token_returns_the_same_token_until_forced(wechat: WeChat) -> None:
    first = await wechat.stable_token()
    assert first["expires_in"] == 7200
    assert (await wechat.stable_token())["access_token"] == first["access_token"]

    forced = await wechat.stable_token(force_refresh=True)
    assert forced["access_token"] != first["access_token"]
    fresh = await wechat.get("/cgi-bin/user/info", openid="nobody")
    assert errcode(fresh) == 40003  # the new token is accepted (and the openid is not)...
    old = await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "VIP"}}, token=first["access_token"])
    assert errcode(old) == 40001  # ...and the forced refresh killed the old one


async def test_stable_token_hands_out_the_next_token_in_the_last_five_minutes(wechat: WeChat, clock: Clock) -> None:
    first = await wechat.stable_token()
    clock.advance(seconds=7200 - 299)
    renewed = await wechat.stable_token()
    assert renewed["access_token"] != first["access_token"]
    # The old one stays valid until it expires.
    created = await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "老客户"}}, token=str(first["access_token"]))
    assert errcode(created) == 0


async def test_missing_unknown_and_expired_tokens(wechat: WeChat, clock: Clock) -> None:
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "a"}}, token="")) == 41001
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "a"}}, token="forged")) == 40001
    token = await wechat.token()
    clock.advance(seconds=7201)
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "a"}}, token=token)) == 42001


async def test_expire_tokens_makes_every_issued_token_expire(wechat: WeChat) -> None:
    token = await wechat.token()
    wechat.state.expire_tokens()
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "a"}}, token=token)) == 42001
    assert await wechat.token() != token


async def test_bad_bodies_get_wechat_format_errors(wechat: WeChat) -> None:
    token = await wechat.token()
    resp = await wechat.http.post("/cgi-bin/tags/create", params={"access_token": token}, data=b"{not json")
    assert errcode(await resp.json()) == 47001
    resp = await wechat.http.post("/cgi-bin/tags/create", params={"access_token": token}, data=b"")
    assert errcode(await resp.json()) == 44002


# --- template messages ------------------------------------------------------------------------------


async def test_template_send_delivers_and_returns_a_msgid(wechat: WeChat) -> None:
    wechat.state.follow("o_cust1", nickname="王先生")
    data = await wechat.template("o_cust1", url="https://4sdesk.example/a/1")
    assert errcode(data) == 0
    assert data["errmsg"] == "ok"
    [delivered] = wechat.state.inbox("o_cust1")
    assert delivered.kind == "template"
    assert delivered.msgid == data["msgid"]
    assert delivered.payload["data"]["thing1"] == {"value": "保养预约已确认"}
    assert delivered.payload["url"] == "https://4sdesk.example/a/1"


async def test_template_send_to_unknown_and_unfollowed_users(wechat: WeChat) -> None:
    assert errcode(await wechat.template("o_stranger")) == 40003
    wechat.state.follow("o_gone")
    wechat.state.unfollow("o_gone")
    assert errcode(await wechat.template("o_gone")) == 43004
    wechat.state.follow("o_blocker")
    wechat.state.refuse_templates("o_blocker")
    assert errcode(await wechat.template("o_blocker")) == 43101
    assert wechat.state.inbox("o_gone") == []


@pytest.mark.parametrize(
    "data",
    [
        {"thing1": {"value": "一二三四五六七八九十一二三四五六七八九十一"}, "time2": {"value": "15:00"}},
        {"thing1": {"value": "保养"}},
        {"thing1": {"value": "保养"}, "time2": {"value": "15:00"}, "remark": {"value": "欢迎"}},
        {"thing1": {"value": ""}, "time2": {"value": "15:00"}},
    ],
    ids=["21 characters", "missing field", "unknown field", "empty value"],
)
async def test_template_data_must_fit_the_template(wechat: WeChat, data: dict[str, Any]) -> None:
    wechat.state.follow("o_cust1")
    assert errcode(await wechat.template("o_cust1", data=data)) == 47003
    assert wechat.state.inbox("o_cust1") == []


async def test_twenty_characters_is_still_fine(wechat: WeChat) -> None:
    wechat.state.follow("o_cust1")
    value = "一二三四五六七八九十一二三四五六七八九十"
    data = {"thing1": {"value": value}, "time2": {"value": "15:00"}}
    assert errcode(await wechat.template("o_cust1", data=data)) == 0


async def test_unknown_template_id(wechat: WeChat) -> None:
    wechat.state.follow("o_cust1")
    assert errcode(await wechat.template("o_cust1", template_id="TPL_NOPE")) == 40037
    wechat.state.add_template("TPL_NOPE", ["thing1", "time2"])
    assert errcode(await wechat.template("o_cust1", template_id="TPL_NOPE")) == 0


async def test_client_msg_id_deduplicates_within_its_window(wechat: WeChat, clock: Clock) -> None:
    wechat.state.follow("o_cust1")
    first = await wechat.template("o_cust1", client_msg_id="outbox-42")
    again = await wechat.template("o_cust1", client_msg_id="outbox-42")
    assert again["msgid"] == first["msgid"]
    assert len(wechat.state.inbox("o_cust1")) == 1
    other = await wechat.template("o_cust1", client_msg_id="outbox-43")
    assert other["msgid"] != first["msgid"]
    clock.advance(minutes=11)
    late = await wechat.template("o_cust1", client_msg_id="outbox-42")
    assert late["msgid"] != first["msgid"]
    assert len(wechat.state.inbox("o_cust1")) == 3


async def test_template_daily_limit_resets_at_beijing_midnight(wechat: WeChat, clock: Clock) -> None:
    wechat.state.follow("o_cust1")
    for _ in range(5):
        assert errcode(await wechat.template("o_cust1")) == 0
    assert errcode(await wechat.template("o_cust1")) == 45009
    clock.now = datetime(2026, 3, 2, 16, 0, 1, tzinfo=UTC)  # 00:00:01 on 3 March in Beijing
    wechat.state.expire_tokens()
    assert errcode(await wechat.template("o_cust1")) == 0


# --- customer-service messages ----------------------------------------------------------------------


async def test_text_within_48_hours_of_the_last_interaction(wechat: WeChat, clock: Clock) -> None:
    wechat.state.follow("o_cust1")
    clock.advance(hours=47)
    assert errcode(await wechat.text("o_cust1", "您好")) == 0
    clock.advance(hours=2)
    assert errcode(await wechat.text("o_cust1", "还在吗")) == 45015
    wechat.state.touch("o_cust1")
    assert errcode(await wechat.text("o_cust1", "在的")) == 0
    assert [d.payload["text"]["content"] for d in wechat.state.inbox("o_cust1")] == ["您好", "在的"]


async def test_text_quota_per_interaction(wechat: WeChat) -> None:
    wechat.state.follow("o_cust1")
    for n in range(3):
        assert errcode(await wechat.text("o_cust1", f"第{n}条")) == 0
    assert errcode(await wechat.text("o_cust1", "第4条")) == 45047
    wechat.state.touch("o_cust1")
    assert errcode(await wechat.text("o_cust1", "第4条")) == 0


async def test_text_size_and_recipient_checks(wechat: WeChat) -> None:
    wechat.state.follow("o_cust1")
    assert errcode(await wechat.text("o_cust1", "长" * 683)) == 45002  # 2049 bytes of UTF-8
    assert errcode(await wechat.text("o_cust1", "长" * 682)) == 0
    assert errcode(await wechat.text("o_nobody", "hi")) == 40003
    wechat.state.unfollow("o_cust1")
    assert errcode(await wechat.text("o_cust1", "hi")) == 43004


# --- menus ------------------------------------------------------------------------------------------

MENU = {
    "button": [
        {"type": "click", "name": "预约保养", "key": "BOOK"},
        {
            "name": "我的",
            "sub_button": [
                {"type": "click", "name": "我的预约", "key": "MY_BOOKINGS"},
                {"type": "view", "name": "门店位置", "url": "https://4sdesk.example/map"},
            ],
        },
    ]
}


async def test_menu_create_get_and_delete(wechat: WeChat) -> None:
    assert errcode(await wechat.get("/cgi-bin/menu/get")) == 46003
    assert errcode(await wechat.post("/cgi-bin/menu/create", MENU)) == 0
    assert wechat.state.menu == MENU
    assert (await wechat.get("/cgi-bin/menu/get"))["menu"] == MENU
    assert errcode(await wechat.get("/cgi-bin/menu/delete")) == 0
    assert wechat.state.menu is None


@pytest.mark.parametrize(
    ("menu", "expected"),
    [
        ({"button": []}, 40016),
        ({"button": [{"type": "click", "name": f"b{n}", "key": "K"} for n in range(4)]}, 40016),
        ({"button": [{"type": "click", "name": "", "key": "K"}]}, 40018),
        ({"button": [{"type": "click", "name": "很长很长的菜单名字", "key": "K"}]}, 40018),
        ({"button": [{"type": "fly", "name": "飞", "key": "K"}]}, 40017),
        ({"button": [{"type": "click", "name": "无键"}]}, 40019),
        (
            {"button": [{"name": "多", "sub_button": [{"type": "click", "name": "x", "key": "K"}] * 6}]},
            40023,
        ),
        ({"button": [{"name": "子", "sub_button": [{"type": "nope", "name": "x"}]}]}, 40024),
        ({"button": [{"name": "子", "sub_button": [{"type": "click", "name": "", "key": "K"}]}]}, 40025),
    ],
    ids=[
        "no buttons",
        "four buttons",
        "empty name",
        "name over 16 bytes",
        "bad type",
        "click without key",
        "six sub buttons",
        "bad sub type",
        "empty sub name",
    ],
)
async def test_menu_shape_is_validated(wechat: WeChat, menu: dict[str, Any], expected: int) -> None:
    assert errcode(await wechat.post("/cgi-bin/menu/create", menu)) == expected
    assert wechat.state.menu is None


async def test_conditional_menus(wechat: WeChat) -> None:
    tag = await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "店员"}})
    tag_id = tag["tag"]["id"]
    conditional = {**MENU, "matchrule": {"tag_id": str(tag_id)}}
    assert errcode(await wechat.post("/cgi-bin/menu/addconditional", conditional)) == 65303
    await wechat.post("/cgi-bin/menu/create", MENU)
    assert errcode(await wechat.post("/cgi-bin/menu/addconditional", {**MENU, "matchrule": {}})) == 65304
    unknown_tag = {**MENU, "matchrule": {"tag_id": "9999"}}
    assert errcode(await wechat.post("/cgi-bin/menu/addconditional", unknown_tag)) == 45159
    created = await wechat.post("/cgi-bin/menu/addconditional", conditional)
    menuid = created["menuid"]
    assert isinstance(menuid, str)
    assert wechat.state.conditional_menus[menuid]["matchrule"] == {"tag_id": str(tag_id)}
    assert (await wechat.get("/cgi-bin/menu/get"))["conditionalmenu"][0]["menuid"] == menuid
    assert errcode(await wechat.post("/cgi-bin/menu/delconditional", {"menuid": menuid})) == 0
    assert errcode(await wechat.post("/cgi-bin/menu/delconditional", {"menuid": menuid})) == 65301


async def test_deleting_the_menu_deletes_conditional_menus_too(wechat: WeChat) -> None:
    tag_id = (await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "店员"}}))["tag"]["id"]
    await wechat.post("/cgi-bin/menu/create", MENU)
    await wechat.post("/cgi-bin/menu/addconditional", {**MENU, "matchrule": {"tag_id": str(tag_id)}})
    await wechat.get("/cgi-bin/menu/delete")
    assert wechat.state.conditional_menus == {}


# --- QR codes ---------------------------------------------------------------------------------------


async def test_temporary_qrcode_can_be_scanned_until_it_expires(wechat: WeChat, clock: Clock) -> None:
    body = {
        "expire_seconds": 3600,
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": "staff-bind:abc123"}},
    }
    data = await wechat.post("/cgi-bin/qrcode/create", body)
    assert data["expire_seconds"] == 3600
    assert data["url"].startswith("http://weixin.qq.com/q/")
    ticket = data["ticket"]
    assert wechat.state.scene_for_ticket(ticket) == "staff-bind:abc123"
    image = await wechat.http.get("/cgi-bin/showqrcode", params={"ticket": ticket})
    assert image.status == 200
    clock.advance(seconds=3601)
    assert wechat.state.scene_for_ticket(ticket) is None


async def test_permanent_qrcode_and_limits(wechat: WeChat, clock: Clock) -> None:
    permanent = await wechat.post(
        "/cgi-bin/qrcode/create",
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "desk:front"}}},
    )
    assert "expire_seconds" not in permanent
    clock.advance(days=400)
    assert wechat.state.scene_for_ticket(permanent["ticket"]) == "desk:front"

    too_long = {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}}
    assert errcode(await wechat.post("/cgi-bin/qrcode/create", too_long)) == 40053
    bad_action = {"action_name": "QR_FOREVER", "action_info": {"scene": {"scene_str": "x"}}}
    assert errcode(await wechat.post("/cgi-bin/qrcode/create", bad_action)) == 40052
    capped = {
        "expire_seconds": 99999999,
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": "x"}},
    }
    assert (await wechat.post("/cgi-bin/qrcode/create", capped))["expire_seconds"] == 2592000


# --- users and tags ---------------------------------------------------------------------------------


async def test_user_info(wechat: WeChat, clock: Clock) -> None:
    wechat.state.follow("o_cust1", nickname="王先生")
    info = await wechat.get("/cgi-bin/user/info", openid="o_cust1", lang="zh_CN")
    assert info["subscribe"] == 1
    assert info["nickname"] == "王先生"
    assert info["subscribe_time"] == int(clock.now.timestamp())
    assert info["tagid_list"] == []
    wechat.state.unfollow("o_cust1")
    assert await wechat.get("/cgi-bin/user/info", openid="o_cust1") == {
        "subscribe": 0,
        "openid": "o_cust1",
        "tagid_list": [],
    }
    assert errcode(await wechat.get("/cgi-bin/user/info", openid="o_nobody")) == 40003


async def test_tags(wechat: WeChat) -> None:
    for openid in ("o_a", "o_b"):
        wechat.state.follow(openid)
    created = await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "VIP"}})
    tag_id = created["tag"]["id"]
    assert created["tag"]["name"] == "VIP"
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "VIP"}})) == 45157
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "很" * 11}})) == 45158

    batch = {"openid_list": ["o_a", "o_b"], "tagid": tag_id}
    assert errcode(await wechat.post("/cgi-bin/tags/members/batchtagging", batch)) == 0
    info = await wechat.get("/cgi-bin/user/info", openid="o_a")
    assert info["tagid_list"] == [tag_id]
    untag = {"openid_list": ["o_a"], "tagid": tag_id}
    assert errcode(await wechat.post("/cgi-bin/tags/members/batchuntagging", untag)) == 0
    assert tags_of(wechat, "o_a") == set()
    assert tags_of(wechat, "o_b") == {tag_id}

    unknown = {"openid_list": ["o_a", "o_nobody"], "tagid": tag_id}
    assert errcode(await wechat.post("/cgi-bin/tags/members/batchtagging", unknown)) == 40003
    assert tags_of(wechat, "o_a") == set()  # all or nothing
    bad_tag = {"openid_list": ["o_a"], "tagid": 9999}
    assert errcode(await wechat.post("/cgi-bin/tags/members/batchtagging", bad_tag)) == 45159
    too_many = {"openid_list": [f"o_{n}" for n in range(51)], "tagid": tag_id}
    assert errcode(await wechat.post("/cgi-bin/tags/members/batchtagging", too_many)) == 40032


# --- fault injection and call counters --------------------------------------------------------------


async def test_injected_faults_fire_the_given_number_of_times(wechat: WeChat) -> None:
    token = await wechat.token()
    wechat.state.inject("/tags/create", "5xx", times=2)
    for _ in range(2):
        resp = await wechat.http.post(
            "/cgi-bin/tags/create", params={"access_token": token}, json={"tag": {"name": "a"}}
        )
        assert resp.status == 503
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "a"}}, token=token)) == 0

    wechat.state.inject("*", 45009)
    wechat.state.inject("/user/info", "40001")
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "b"}}, token=token)) == 45009
    resp = await wechat.http.get("/cgi-bin/user/info", params={"access_token": token, "openid": "x"})
    assert errcode(await resp.json()) == 40001
    assert wechat.state.calls["/cgi-bin/tags/create"] == 4
    assert wechat.state.calls["/cgi-bin/user/info"] == 1


async def test_timeout_fault_stalls_then_does_nothing(wechat: WeChat) -> None:
    wechat.state.timeout_delay = 0.05
    wechat.state.follow("o_cust1")
    wechat.state.inject("/message/template/send", "timeout")
    assert errcode(await wechat.template("o_cust1")) == -1
    assert wechat.state.inbox("o_cust1") == []


def test_unknown_fault_is_refused() -> None:
    state = SandboxState(APPID, SECRET)
    with pytest.raises(ValueError):
        state.inject("*", "explode")


# --- admin routes -----------------------------------------------------------------------------------


async def test_admin_routes_drive_the_emulator(wechat: WeChat, clock: Clock) -> None:
    http = wechat.http
    resp = await http.post("/admin/users/o_sim/follow", json={"nickname": "模拟客户"})
    assert (await resp.json())["subscribed"] is True
    assert wechat.state.user("o_sim") is not None

    clock.advance(hours=49)
    resp = await http.post("/admin/users/o_sim/touch")
    assert resp.status == 200
    assert errcode(await wechat.text("o_sim", "第一条")) == 0
    assert errcode(await wechat.text("o_sim", "第二条")) == 0
    inbox = await (await http.get("/admin/inbox/o_sim")).json()
    assert [item["payload"]["text"]["content"] for item in inbox] == ["第一条", "第二条"]
    since = await (await http.get("/admin/inbox/o_sim", params={"since": "1"})).json()
    assert [item["index"] for item in since] == [1]

    resp = await http.post("/admin/faults", json={"path": "/message/custom/send", "fault": 45015, "times": 1})
    assert resp.status == 200
    assert errcode(await wechat.text("o_sim", "第三条")) == 45015

    token = await wechat.token()
    assert (await http.post("/admin/expire-tokens")).status == 200
    assert errcode(await wechat.post("/cgi-bin/tags/create", {"tag": {"name": "x"}}, token=token)) == 42001

    qr = await wechat.post(
        "/cgi-bin/qrcode/create",
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "desk:front"}}},
    )
    scanned = await (await http.get(f"/admin/qrcodes/{qr['ticket']}")).json()
    assert scanned == {"scene_str": "desk:front"}
    assert (await http.get("/admin/qrcodes/nope")).status == 404

    assert (await http.post("/admin/users/o_sim/unfollow")).status == 200
    assert errcode(await wechat.text("o_sim", "还在吗")) == 43004
    assert (await http.post("/admin/users/o_nobody/touch")).status == 404
    assert (await http.post("/admin/faults", json={"path": "*", "fault": "explode"})).status == 400
    calls = await (await http.get("/admin/calls")).json()
    assert calls["/cgi-bin/message/custom/send"] == 4


async def test_mounted_under_a_prefix(aiohttp_client: ClientFactory) -> None:
    state = SandboxState(APPID, SECRET)
    parent = web.Application()
    parent.add_subapp("/sandbox", create_sandbox_app(state))
    client = await aiohttp_client(parent)
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    data = await (await client.post("/sandbox/cgi-bin/stable_token", json=body)).json()
    assert data["expires_in"] == 7200
    assert state.calls["/cgi-bin/stable_token"] == 1
    assert (await client.post("/sandbox/admin/users/o_x/follow")).status == 200
    assert state.user("o_x") is not None


def test_state_is_on_the_app() -> None:
    state = SandboxState(APPID, SECRET, templates=TEMPLATES)
    assert create_sandbox_app(state)[SANDBOX_STATE] is state
    assert state.templates == {"TPL_BOOKED": ("thing1", "time2")}
