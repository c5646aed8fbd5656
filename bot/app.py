"""The application factory: one `create_app(settings)` for `serve`, the tests and the benchmark alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web

from bot import db, metrics, nlu
from bot.services import booking, notify, schedule, visits
from bot.services.reminders import Context
from bot.services.scheduler import INTERVAL_S as SCHEDULER_INTERVAL_S
from bot.services.scheduler import Scheduler
from bot.settings import Settings
from bot.wechat.api import SHOWQRCODE_BASE, WeChatClient
from bot.wechat.dispatcher import OutboxDispatcher, stop_if_cancelled
from bot.wechat.messages import MAX_BODY
from bot.wechat.sandbox import SandboxState, create_sandbox_app
from bot.wechat.tokens import token_store_for
from bot.wechat.webhook import Webhook

log = logging.getLogger("bot.app")

SETTINGS = web.AppKey("settings", Settings)
WEBHOOK = web.AppKey("webhook", Webhook)
HTTP = web.AppKey("http", aiohttp.ClientSession)
WECHAT = web.AppKey("wechat", WeChatClient)
DISPATCHER = web.AppKey("dispatcher", OutboxDispatcher)
SANDBOX = web.AppKey("sandbox", SandboxState)
SCHEDULER = web.AppKey("scheduler", Scheduler)

PRUNE_INTERVAL_S = 3600
NO_SHOW_INTERVAL_S = 60
SHUTDOWN_GRACE_S = 10.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def sandbox_state_for(settings: Settings) -> SandboxState:
    """The emulator's state for this service's sandbox AppID and secret, knowing our template messages."""
    templates = {spec.template_id: list(spec.fields) for spec in notify.TEMPLATES.values()}
    return SandboxState(appid=settings.wechat_appid, secret=settings.wechat_secret, templates=templates)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = _utcnow) -> web.Application:
    """Build the service. In sandbox mode with no WECHAT_API_BASE, the WeChat emulator is mounted at /sandbox."""
    # dateparser loads its language data lazily: do it now, not on a customer's first message (and before
    # `serve` freezes start-up objects out of the garbage collector's way).
    nlu.warm_up()
    # Which WeChat template each message kind uses (a bad BOT_TEMPLATE_* stops start-up here).
    notify.configure(settings)
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings

    def utc_clock() -> datetime:
        # Stored and compared in UTC: SQLite compares datetimes as text, so one offset everywhere.
        return clock().astimezone(UTC)

    webhook = Webhook(settings, clock=utc_clock)
    app[WEBHOOK] = webhook
    app[SCHEDULER] = Scheduler(
        lambda now: Context(now, settings.tz, quiet_start=settings.quiet_start, quiet_end=settings.quiet_end),
        report=metrics.scheduler_run,
    )
    app.router.add_get("/wechat", webhook.get)
    app.router.add_post("/wechat", webhook.post)
    app.router.add_get("/healthz", healthz)
    metrics.setup(app)
    if settings.sandbox and settings.wechat_api_base is None:
        state = sandbox_state_for(settings)
        app[SANDBOX] = state
        app.add_subapp("/sandbox", create_sandbox_app(state))
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_wechat_client)
    if settings.run_background_tasks:
        app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_drain)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await db.connect(settings)
    try:
        await schedule.ensure_defaults(settings.timezone)
        await booking.learn_reference_length()
    except Exception:  # the database may be down or not migrated yet; /healthz says which
        log.exception("could not prepare the booking calendar")
    yield
    await db.disconnect()


async def _wechat_client(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = token_store_for(settings.redis_url)
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        client = WeChatClient(
            session,
            appid=settings.wechat_appid,
            secret=settings.wechat_secret,
            api_base=settings.api_base,
            store=store,
            # The emulator serves QR images too, so sandbox links open locally instead of at mp.weixin.qq.com.
            showqrcode_base=settings.api_base if settings.sandbox else SHOWQRCODE_BASE,
        )
        app[WECHAT] = client
        dispatcher = OutboxDispatcher(client, clock=app[WEBHOOK].clock, poll_interval=settings.outbox_poll_interval)
        app[DISPATCHER] = dispatcher
        app[WEBHOOK].outbox_wakeup = dispatcher.wakeup
        app[WEBHOOK].api = client
        yield
    await store.aclose()


async def _background(app: web.Application) -> AsyncIterator[None]:
    tasks = [
        asyncio.create_task(app[DISPATCHER].run_forever(), name="outbox"),
        asyncio.create_task(_prune_forever(app[WEBHOOK]), name="prune"),
        asyncio.create_task(_no_shows_forever(app), name="no-shows"),
        asyncio.create_task(_scheduler_forever(app), name="scheduler"),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _prune_forever(webhook: Webhook) -> None:
    while True:
        stop_if_cancelled()
        try:
            with db.offloaded():  # a long DELETE: on SQLite's thread, not the event loop's
                removed = await webhook.prune()
            if removed:
                log.info("pruned %d processed-message records", removed)
        except Exception:
            log.exception("pruning processed messages failed")
        await asyncio.sleep(PRUNE_INTERVAL_S)


async def sweep_no_shows(app: web.Application) -> int:
    """One pass of the no-show sweep at the app's clock (the background task runs one a minute; tests
    call it after moving their clock). Returns how many appointments it marked."""
    settings = app[SETTINGS]
    grace = timedelta(minutes=settings.no_show_after_minutes)
    marked = await visits.mark_no_shows(app[WEBHOOK].clock(), settings.tz, grace)
    if marked and DISPATCHER in app:
        app[DISPATCHER].wakeup.set()  # the owners' new-task templates are in the outbox now
    return marked


async def _no_shows_forever(app: web.Application) -> None:
    # Every worker sweeps: a row is marked by one conditional UPDATE, so concurrent passes mark it once.
    while True:
        stop_if_cancelled()
        try:
            marked = await sweep_no_shows(app)
            if marked:
                log.info("marked %d appointments no-show", marked)
        except Exception:
            log.exception("the no-show sweep failed")
        await asyncio.sleep(NO_SHOW_INTERVAL_S)


async def run_scheduler(app: web.Application) -> dict[str, int]:
    """One scheduler pass at the app's clock (the background task runs one a minute; tests call it after
    moving their clock). Returns what each job that ran queued."""
    # Passes over every customer: on SQLite they run on the database thread, so messages keep being answered.
    with db.offloaded():
        done = await app[SCHEDULER].run_once(app[WEBHOOK].clock())
    if any(done.values()) and DISPATCHER in app:
        app[DISPATCHER].wakeup.set()
    return done


async def _scheduler_forever(app: web.Application) -> None:
    # Every worker runs it: each reminder carries a dedupe key, so concurrent passes queue it once. The first
    # pass waits one interval, so a worker starting up serves its first messages before the heavier jobs.
    while True:
        await asyncio.sleep(SCHEDULER_INTERVAL_S)
        stop_if_cancelled()
        try:
            done = {job: n for job, n in (await run_scheduler(app)).items() if n}
            if done:
                log.info("scheduler queued %s", done)
        except Exception:
            log.exception("the scheduler pass failed")


async def _drain(app: web.Application) -> None:
    await app[WEBHOOK].drain(SHUTDOWN_GRACE_S)
    # Replies that turned late while draining are in the outbox: give the dispatcher one pass at them.
    if DISPATCHER in app:
        with contextlib.suppress(Exception):
            await app[DISPATCHER].run_once()


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers and every migration is applied; 503 with the reason otherwise."""
    settings = request.app[SETTINGS]
    try:
        await db.ping()
        pending = await db.pending_migrations(settings)
    except Exception as exc:
        log.warning("healthz: database unreachable: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "reason": "database unreachable"}, status=503)
    if pending:
        return web.json_response(
            {"status": "unavailable", "reason": "migrations pending", "pending": pending}, status=503
        )
    return web.json_response({"status": "ok", "sandbox": settings.sandbox})
