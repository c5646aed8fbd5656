"""Typed settings read once from environment variables, with safe defaults for a newcomer."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo

WechatMode = Literal["plain", "compat", "safe"]

# Sandbox identity: fixed so the simulator, tests and README examples agree without configuration.
SANDBOX_APPID = "wx4sdesksandbox01"
SANDBOX_SECRET = "sandbox-secret-4sdesk"
SANDBOX_TOKEN = "sandboxtoken4sdesk"
SANDBOX_AES_KEY = "c2FuZGJveGFlc2tleTRzZGVza3NhbmRib3hhZXNrZXk"  # 43 chars, decodes to 32 bytes

DEFAULT_DATABASE_URL = "sqlite://var/4sdesk.sqlite3"
DEFAULT_STORE_NAME = "4S Desk 演示店"
DEFAULT_STORE_ADDRESS = "广州市天河区车城路 8 号"
DEFAULT_STORE_PHONE = "020-88886666"
DEFAULT_STORE_HOURS = "每天 08:30-18:00"
REAL_API_BASE = "https://api.weixin.qq.com"
# Longer than a day would leave a missed visit showing as booked on the next day's list.
MAX_NO_SHOW_AFTER_MINUTES = 24 * 60
# BOT_TEMPLATE_<KIND>="<template id>|<field key>=<value name>,...": one WeChat template per message kind.
TEMPLATE_ENV_PREFIX = "BOT_TEMPLATE_"


@dataclass(frozen=True, slots=True)
class TemplateConfig:
    """One configured WeChat template: its id and which named value fills each field key (in order)."""

    template_id: str
    fields: tuple[tuple[str, str], ...]


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service reads from its environment; see the README's settings table."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str | None = None
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    max_message_age: int = 300
    wechat_appid: str = SANDBOX_APPID
    wechat_secret: str = SANDBOX_SECRET
    wechat_token: str = SANDBOX_TOKEN
    wechat_aes_key: str | None = SANDBOX_AES_KEY
    wechat_aes_key_previous: str | None = None
    wechat_mode: WechatMode = "safe"
    wechat_api_base: str | None = None
    sandbox: bool = True
    # How long the webhook waits for a handler before answering "success" and sending the reply
    # later through the outbox. WeChat gives up after 5 s and retries, so stay well under it.
    store_name: str = DEFAULT_STORE_NAME
    store_address: str = DEFAULT_STORE_ADDRESS
    store_phone: str = DEFAULT_STORE_PHONE
    store_hours: str = DEFAULT_STORE_HOURS
    reply_budget: float = 4.0
    # Processed-message records (WeChat retry dedupe) are kept this long.
    dedupe_retention_s: int = 86400
    outbox_poll_interval: float = 1.0
    run_background_tasks: bool = True
    # An appointment still not checked in this many minutes after its start is marked no-show and its
    # owner clerk gets a task to call the customer (BOT_NO_SHOW_AFTER_MINUTES).
    no_show_after_minutes: int = 60
    # Quiet hours in store time (BOT_QUIET_HOURS=21:00-08:00): reminders to customers wait for the end.
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    # Template kind -> its WeChat template (BOT_TEMPLATE_<KIND>); in sandbox mode these override the
    # emulator's specs, in production a kind missing here falls back to a customer-service text.
    templates: Mapping[str, TemplateConfig] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def api_base(self) -> str:
        """Where the WeChat API lives: the real one, or the in-process emulator in sandbox mode."""
        if self.wechat_api_base:
            return self.wechat_api_base.rstrip("/")
        if self.sandbox:
            return f"http://{self.host}:{self.port}/sandbox"
        return REAL_API_BASE

    @property
    def aes_keys(self) -> tuple[str, ...]:
        """Current EncodingAESKey first, then the previous one accepted during a key rotation."""
        return tuple(k for k in (self.wechat_aes_key, self.wechat_aes_key_previous) if k)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: the process environment); raise SettingsError on bad values."""
        e = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = e.get(name, "").strip()
            return value or None

        secret = get("WECHAT_SECRET")
        sandbox = secret is None
        mode = (get("WECHAT_MODE") or "safe").lower()
        if mode not in ("plain", "compat", "safe"):
            raise SettingsError(f"WECHAT_MODE must be plain, compat or safe, not {mode!r}")
        aes_key = get("WECHAT_AES_KEY") or (SANDBOX_AES_KEY if sandbox else None)
        previous = get("WECHAT_AES_KEY_PREVIOUS")
        for name, key in (("WECHAT_AES_KEY", aes_key), ("WECHAT_AES_KEY_PREVIOUS", previous)):
            if key is not None and len(key) != 43:
                raise SettingsError(f"{name} must be the 43-character EncodingAESKey")
        if mode != "plain" and aes_key is None:
            raise SettingsError(f"WECHAT_MODE={mode} needs WECHAT_AES_KEY")
        if not sandbox and (get("WECHAT_APPID") is None or get("WECHAT_TOKEN") is None):
            raise SettingsError("WECHAT_SECRET is set, so WECHAT_APPID and WECHAT_TOKEN are required too")
        timezone = get("BOT_TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (KeyError, ValueError) as exc:
            raise SettingsError(f"BOT_TIMEZONE {timezone!r} is not a known time zone") from exc
        try:
            port = int(get("BOT_PORT") or 8080)
            max_age = int(get("BOT_MAX_MESSAGE_AGE") or 300)
        except ValueError as exc:
            raise SettingsError(f"BOT_PORT and BOT_MAX_MESSAGE_AGE must be integers: {exc}") from exc
        try:
            no_show_after = int(get("BOT_NO_SHOW_AFTER_MINUTES") or 60)
        except ValueError as exc:
            raise SettingsError(f"BOT_NO_SHOW_AFTER_MINUTES must be an integer: {exc}") from exc
        if not 1 <= no_show_after <= MAX_NO_SHOW_AFTER_MINUTES:
            raise SettingsError(
                f"BOT_NO_SHOW_AFTER_MINUTES must be between 1 and {MAX_NO_SHOW_AFTER_MINUTES}, not {no_show_after}"
            )
        quiet_start, quiet_end = _quiet_hours(get("BOT_QUIET_HOURS") or "21:00-08:00")
        return cls(
            database_url=get("BOT_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=get("BOT_HOST") or "127.0.0.1",
            port=port,
            redis_url=get("BOT_REDIS_URL"),
            timezone=timezone,
            log_level=(get("BOT_LOG_LEVEL") or "INFO").upper(),
            max_message_age=max_age,
            wechat_appid=get("WECHAT_APPID") or SANDBOX_APPID,
            wechat_secret=secret or SANDBOX_SECRET,
            wechat_token=get("WECHAT_TOKEN") or SANDBOX_TOKEN,
            wechat_aes_key=aes_key,
            wechat_aes_key_previous=previous,
            wechat_mode=mode,  # type: ignore[arg-type]
            wechat_api_base=get("WECHAT_API_BASE"),
            sandbox=sandbox,
            store_name=get("BOT_STORE_NAME") or DEFAULT_STORE_NAME,
            store_address=get("BOT_STORE_ADDRESS") or DEFAULT_STORE_ADDRESS,
            store_phone=get("BOT_STORE_PHONE") or DEFAULT_STORE_PHONE,
            store_hours=get("BOT_STORE_HOURS") or DEFAULT_STORE_HOURS,
            no_show_after_minutes=no_show_after,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            templates=_templates(e),
        )


def _templates(env: Mapping[str, str]) -> dict[str, TemplateConfig]:
    """Every BOT_TEMPLATE_<KIND> variable, e.g. "OPENTM4178|thing2=service,time3=time,car_number4=plate"."""
    found = {}
    for name, raw in env.items():
        if not name.startswith(TEMPLATE_ENV_PREFIX) or not raw.strip():
            continue
        kind = name.removeprefix(TEMPLATE_ENV_PREFIX).lower()
        template_id, bar, spec = raw.strip().partition("|")
        pairs = [item.strip().partition("=") for item in spec.split(",") if item.strip()]
        if not template_id.strip() or not bar or not pairs or any(not k or not v for k, _, v in pairs):
            raise SettingsError(
                f"{name} must look like <template id>|thing2=service,time3=time (field key=value name, ...)"
            )
        found[kind] = TemplateConfig(template_id.strip(), tuple((k.strip(), v.strip()) for k, _, v in pairs))
    return found


def _quiet_hours(text: str) -> tuple[time, time]:
    """("21:00-08:00") -> (21:00, 08:00); a span may wrap midnight; equal ends mean no quiet hours."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise SettingsError(f"BOT_QUIET_HOURS must look like 21:00-08:00, not {text!r}") from exc
    return start, end
