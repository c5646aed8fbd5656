"""Command line: `python -m bot serve | migrate | chat | makemigrations | schedule | staff | menu | customers`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys

from bot.settings import Settings, SettingsError

log = logging.getLogger("bot")

# Subcommands with their own argument parsers: name -> (module with `main(argv, settings) -> int`, help).
TOOLS: dict[str, tuple[str, str]] = {
    "schedule": ("bot.services.schedule_cli", "show or edit hours, closed days, capacity and services (schedule -h)"),
    "staff": ("bot.services.staff_cli", "add staff (the first manager), list them, issue binding codes (staff -h)"),
    "menu": ("bot.services.menu_cli", "sync the customer menu and the staff menu to WeChat (menu -h)"),
    "customers": ("bot.services.customers_cli", "import customers from .xlsx/.csv, export to .xlsx (customers -h)"),
    "templates": ("bot.services.templates_cli", "list template kinds, their ids and a rendered example (templates -h)"),
    "outbox": ("bot.services.outbox_cli", "pending, sent and failed messages, last errors; retry failed (outbox -h)"),
}


def _configure_logging(settings: Settings) -> None:
    from bot.runtime import configure_logging

    configure_logging(settings.log_level)


def _banner(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    if settings.sandbox:
        log.warning("SANDBOX MODE: no WECHAT_SECRET set, the WeChat API is emulated; nothing reaches WeChat")
        log.warning("sandbox webhook   %s/wechat  (mode %s)", base, settings.wechat_mode)
        log.warning("sandbox WeChat API %s", settings.api_base)
        log.warning("sandbox AppID %s  Token %s", settings.wechat_appid, settings.wechat_token)
        log.warning("sandbox EncodingAESKey %s", settings.wechat_aes_key)
        log.warning("chat with it:     python -m bot chat --as o_demo_user   (or: make chat)")
    else:
        log.info("serving %s/wechat for AppID %s in %s mode", base, settings.wechat_appid, settings.wechat_mode)
    log.info("health: %s/healthz", base)


def _serve(settings: Settings) -> None:
    from bot.runtime import run

    _banner(settings)
    run(_run_server(settings))


async def _run_server(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully, once: in-flight messages finish, background
    tasks stop, the database closes. A second signal during the shutdown changes nothing (GNU timeout
    signals twice, people press Ctrl-C twice); web.run_app raised its exit again inside the cleanup, which
    then never closed the database, and the process hung on the database thread."""
    import signal

    from aiohttp import web

    from bot.app import create_app
    from bot.runtime import tune_gc

    app = create_app(settings)
    tune_gc()
    runner = web.AppRunner(app, access_log=None, handler_cancellation=False, shutdown_timeout=10.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping: finishing messages in flight")
    finally:
        await runner.cleanup()
    log.info("stopped")


def _migrate(settings: Settings) -> None:
    from bot import db

    applied = asyncio.run(db.migrate(settings))
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    else:
        log.info("database is up to date")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="4S Desk WeChat service")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the webhook (sandbox mode when WECHAT_SECRET is unset)")
    sub.add_parser("migrate", help="apply database migrations")
    chat = sub.add_parser("chat", help="chat with the running service as a WeChat user (sandbox)")
    chat.add_argument("--as", dest="openid", default="o_sandbox_user", help="the user's openid")
    chat.add_argument("--url", default=None, help="service base URL (default from BOT_HOST/BOT_PORT)")
    mk = sub.add_parser("makemigrations", help="generate an aerich migration for SQLite and PostgreSQL")
    mk.add_argument("name")
    mk.add_argument("--dialect", choices=("sqlite", "postgres"), default=None, help="one dialect only")
    for name, (_, text) in TOOLS.items():
        sub.add_parser(name, add_help=False, help=text)
    args, rest = parser.parse_known_args(argv)
    if args.command not in TOOLS and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    if args.command == "serve":
        _serve(settings)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "chat":
        from bot.simulator import run_chat

        return asyncio.run(run_chat(settings, args.openid, args.url))
    elif args.command == "makemigrations":
        from bot.migrations_tool import make_migration, make_migrations

        if args.dialect:
            asyncio.run(make_migration(args.name, args.dialect))
        else:
            make_migrations(args.name)
    elif args.command in TOOLS:
        tool = importlib.import_module(TOOLS[args.command][0])
        return int(tool.main(rest, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
