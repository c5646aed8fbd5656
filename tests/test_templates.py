"""Template configuration: BOT_TEMPLATE_<KIND> settings, WeChat's value limits, and `python -m bot templates check`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import Follower, OutboxMessage, OutboxStatus
from bot.services import interactions, notify, templates_cli
from bot.settings import Settings, SettingsError, TemplateConfig
from tests.conftest import Clock
from tests.wechat_helper import WeChatTester, eventually

PRODUCTION = {"WECHAT_APPID": "wx0123456789", "WECHAT_SECRET": "s3cret", "WECHAT_TOKEN": "tok", "WECHAT_MODE": "plain"}


@pytest.fixture(autouse=True)
def sandbox_templates() -> Iterator[None]:
    """Every test leaves the sandbox's templates in use, as the other tests expect."""
    yield
    notify.configure(Settings())


def test_a_template_is_configured_per_kind_from_the_environment() -> None:
    settings = Settings.from_env(
        {**PRODUCTION, "BOT_TEMPLATE_APPOINTMENT_REMINDER": "OPENTM41 | thing2=service, time3=time,car_number4=plate"}
    )
    assert settings.templates == {
        "appointment_reminder": TemplateConfig(
            "OPENTM41", (("thing2", "service"), ("time3", "time"), ("car_number4", "plate"))
        )
    }
    assert notify.configure(settings) == {
        "appointment_reminder": notify.TemplateSpec(
            "OPENTM41", {"thing2": "service", "time3": "time", "car_number4": "plate"}
        )
    }
    assert notify.spec_for("appointment_confirmed") is None  # production: no sandbox defaults


@pytest.mark.parametrize("value", ["OPENTM41", "OPENTM41|", "|thing2=service", "OPENTM41|thing2"])
def test_a_malformed_template_setting_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="BOT_TEMPLATE_TASK_DUE must look like"):
        Settings.from_env({"BOT_TEMPLATE_TASK_DUE": value})


def test_an_unknown_kind_or_value_name_is_refused_when_configured() -> None:
    with pytest.raises(SettingsError, match="no such message kind"):
        notify.configure(Settings.from_env({"BOT_TEMPLATE_BIRTHDAY": "T1|thing1=name"}))
    with pytest.raises(SettingsError, match="mileage not among"):
        notify.configure(Settings.from_env({"BOT_TEMPLATE_MAINTENANCE_DUE": "T1|thing1=mileage"}))


def test_sandbox_mode_keeps_the_emulator_templates_and_takes_overrides() -> None:
    active = notify.configure(Settings.from_env({"BOT_TEMPLATE_TASK_DUE": "MY_TASK|thing1=task,time2=due"}))
    assert active["task_due"] == notify.TemplateSpec("MY_TASK", {"thing1": "task", "time2": "due"})
    assert active["appointment_confirmed"] == notify.TEMPLATES["appointment_confirmed"]
    assert set(active) == set(notify.TEMPLATES)


def test_values_are_clipped_to_wechats_limits_without_first_or_remark() -> None:
    template_id, data = notify.render(
        "task_due",
        {
            "task": "给客户打电话确认下周的保养预约和取送车安排",
            "due": "11月29日 15:00",
            "state": "已经逾期两天",
            "customer": "",
        },
    )
    assert template_id == "TPL_TASK_DUE"
    assert data == {
        "thing1": "给客户打电话确认下周的保养预约和取送车…",
        "time2": "11月29日 15:00",
        "phrase3": "已经逾期…",
        "thing4": "-",
    }
    assert len(data["thing1"]) == 20
    _, data = notify.render("maintenance_due", {"plate": "粤A12345D6", "due": "12月1日", "reason": "5000公里"})
    assert data["car_number1"] == "粤A12345…"


def test_template_times_leave_out_the_year() -> None:
    moment = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    assert notify.template_time(moment, ZoneInfo("Asia/Shanghai")) == "11月29日 15:00"


def test_an_unconfigured_kind_renders_nothing_and_falls_back_to_a_sentence() -> None:
    notify.configure(Settings.from_env(PRODUCTION))
    assert notify.render("appointment_reminder", notify.EXAMPLE_VALUES) == (None, {})
    assert notify.fallback_text("appointment_reminder", {"time": "11月29日 15:00", "service": "常规保养"}) == (
        "温馨提醒：您预约了 11月29日 15:00 常规保养，车牌 -，预约号 -，请准时到店。"
    )


def test_templates_check_lists_every_kind_with_its_id_and_example_as_wechat_gets_it() -> None:
    out = io.StringIO()
    assert templates_cli.execute(Settings(), out) == 0
    text = out.getvalue()
    for kind, spec in notify.TEMPLATES.items():
        assert f"\n{kind}  {spec.template_id}\n" in text
    assert "  time3              11月29日 15:00  (time)" in text
    assert "  car_number4        粤A12345  (plate)" in text


def test_templates_check_in_production_shows_the_fallback_of_unconfigured_kinds() -> None:
    out = io.StringIO()
    settings = Settings.from_env({**PRODUCTION, "BOT_TEMPLATE_TASK_ASSIGNED": "TA1|thing1=task,time2=due"})
    assert templates_cli.execute(settings, out) == 0
    text = out.getvalue()
    assert "\ntask_assigned  TA1\n  thing1  回访客户保养满意度  (task)\n  time2   11月30日 18:00  (due)\n" in text
    assert "\nappointment_reminder  未配置 → 客服消息/无法送达\n" in text
    assert (
        "  客服消息：温馨提醒：您预约了 11月29日 15:00 常规保养，车牌 粤A12345，预约号 A20261129001，请准时到店。"
        in text
    )


def test_templates_check_reports_a_broken_configuration() -> None:
    out = io.StringIO()
    assert templates_cli.execute(Settings.from_env({"BOT_TEMPLATE_NOPE": "T|thing1=x"}), out) == 2
    assert out.getvalue().startswith("error: BOT_TEMPLATE_NOPE: no such message kind")


# --- the fallback, decided at send time by the running service ------------------------------------------


async def queue_reminder(openid: str, now: datetime) -> OutboxMessage:
    """An appointment reminder queued while no template is configured for reminders (production)."""
    notify.configure(Settings.from_env(PRODUCTION))
    values = {"reference": "A1024", "service": "常规保养", "time": "11月29日 15:00", "plate": "粤A12345"}
    return await notify.send("appointment_reminder", openid, values, now=now, dedupe_key=f"remind:{openid}")


async def test_inside_the_48_hour_window_an_unconfigured_template_arrives_as_a_text(
    wechat: WeChatTester, clock: Clock
) -> None:
    user = wechat.user("o_li")
    await user.says("你好")
    await interactions.flush()
    clock.advance(hours=47)
    row = await queue_reminder("o_li", clock.now)
    assert row.payload["template_id"] is None and row.purpose == "appointment_reminder"
    await eventually(lambda: any(item.kind == "text" for item in user.inbox()))
    [text] = [item for item in user.inbox() if item.kind == "text"]
    assert (
        text.payload["text"]["content"]
        == "温馨提醒：您预约了 11月29日 15:00 常规保养，车牌 粤A12345，预约号 A1024，请准时到店。"
    )

    async def recorded() -> bool:  # the send result is written just after the send
        return await OutboxMessage.filter(id=row.id, status=OutboxStatus.SENT).exists()

    await eventually(recorded)
    await row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.delivery_status == "text_fallback"


async def test_outside_the_window_an_unconfigured_template_is_undeliverable_with_the_reason(
    wechat: WeChatTester, clock: Clock
) -> None:
    user = wechat.user("o_li")
    await user.says("你好")
    await interactions.flush()
    clock.advance(hours=49)
    row = await queue_reminder("o_li", clock.now)
    quiet = wechat.user("o_wang")  # follows, never wrote
    other = await queue_reminder("o_wang", clock.now)

    async def settled() -> bool:
        return await OutboxMessage.filter(status=OutboxStatus.UNDELIVERABLE).count() == 2

    await eventually(settled)
    for r in (row, other):
        await r.refresh_from_db()
        assert r.last_error == "没有配置模板，且用户48小时内未互动"
    assert [item.kind for item in user.inbox()] == [] and quiet.inbox() == []
    assert wechat.sandbox.calls["/cgi-bin/message/custom/send"] == 0


async def test_the_webhook_records_the_window_at_most_once_an_hour(wechat: WeChatTester, clock: Clock) -> None:
    user = wechat.user("o_li")
    await user.says("你好")
    await interactions.flush()
    first = await Follower.get(openid="o_li")
    assert first.last_interaction_at == clock.now and first.following
    clock.advance(minutes=30)
    await user.says("在吗")
    await interactions.flush()
    assert (await Follower.get(openid="o_li")).last_interaction_at == first.last_interaction_at
    clock.advance(minutes=31)
    await user.event("CLICK", "menu_booking")
    await interactions.flush()
    assert (await Follower.get(openid="o_li")).last_interaction_at == clock.now


async def test_template_send_job_finish_records_the_delivery_status(wechat: WeChatTester, clock: Clock) -> None:
    user = wechat.user("o_li")
    row = await notify.send("appointment_reminder", "o_li", notify.EXAMPLE_VALUES, now=clock.now, dedupe_key="r1")
    await eventually(lambda: len(user.inbox()) == 1)
    msgid = user.inbox()[0].msgid
    assert user.inbox()[0].payload["data"]["time3"] == {"value": "11月29日 15:00"}
    extra = f"<MsgID>{msgid}</MsgID><Status><![CDATA[failed:user block]]></Status>"
    await user.event("TEMPLATESENDJOBFINISH", extra=extra)
    await row.refresh_from_db()
    assert row.wechat_msgid == msgid and row.delivery_status == "failed:user block"
