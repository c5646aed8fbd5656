"""Database set-up: the Tortoise configuration, connecting, and applying aerich migrations per dialect."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import connections
from tortoise.exceptions import OperationalError

from bot.settings import Settings
from bot.sqlite_engine import offloaded

__all__ = ["connect", "disconnect", "migrate", "offloaded", "pending_migrations", "ping", "tortoise_config"]

log = logging.getLogger(__name__)

MODELS = ["bot.models", "aerich.models"]
POOL_MAXSIZE = 20  # PostgreSQL connections per worker, unless the database URL sets ?maxsize=
MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"


def dialect_of(url: str) -> str:
    """'sqlite' or 'postgres': migrations are kept per dialect because their SQL differs."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "asyncpg", "psycopg"):
        return "postgres"
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:// or postgres://")


def migrations_location(url: str) -> Path:
    """aerich's location for this dialect; it keeps the app's files in a `models/` folder below it."""
    return MIGRATIONS_ROOT / dialect_of(url)


def tortoise_config(url: str) -> dict[str, Any]:
    if dialect_of(url) == "sqlite":
        path = url.removeprefix("sqlite://")
        connection: Any = {
            # Tortoise's SQLite client, running a chat message's short statements on the event loop's
            # thread instead of handing each to aiosqlite's thread (bot/sqlite_engine.py says why).
            "engine": "bot.sqlite_engine",
            # WAL lets readers run beside the writer; busy_timeout makes writers queue instead of failing.
            # synchronous=NORMAL in WAL mode survives a crash of the service without corruption or loss;
            # only a power cut can lose the last commits (the benchmark shows FULL costs ~40% of throughput).
            "credentials": {"file_path": path, "journal_mode": "WAL", "busy_timeout": 5000, "synchronous": "NORMAL"},
        }
    else:
        connection = expand_db_url(url.replace("postgresql://", "postgres://", 1))
        # Tortoise's asyncpg client, without asyncpg's reset query on every release to the pool
        # (bot/postgres_engine.py says why).
        connection["engine"] = "bot.postgres_engine"
        # Up to 20 connections per worker unless the URL says (?maxsize=N). Tortoise's default of 5 was what
        # messages queued for in the booking benchmark (17-33 ms each at 64 users): a confirmation holds
        # its connection for a dozen round trips, and five of them in flight took the whole pool.
        connection["credentials"].setdefault("maxsize", POOL_MAXSIZE)
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODELS, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _env_config() -> dict[str, Any]:
    return tortoise_config(Settings.from_env().database_url)


# aerich's CLI reads this (pyproject [tool.aerich]); the service builds its config from Settings.
TORTOISE_ORM = _env_config()


def _ensure_sqlite_dir(url: str) -> None:
    if dialect_of(url) == "sqlite":
        path = url.removeprefix("sqlite://")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def connect(settings: Settings) -> None:
    """Open the ORM for this process; queries from any task (request handlers too) find it."""
    _ensure_sqlite_dir(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings) -> list[str]:
    """Apply every aerich migration not yet applied; a fresh database is created this way only."""
    from aerich import Command

    _ensure_sqlite_dir(settings.database_url)
    location = migrations_location(settings.database_url)
    async with Command(tortoise_config(settings.database_url), app="models", location=str(location)) as cmd:
        try:
            applied = await cmd.upgrade(run_in_transaction=True)
        except Exception:
            log.exception("migration failed")
            raise
    return applied


async def pending_migrations(settings: Settings) -> list[str]:
    """Migration files not yet applied to the connected database (empty when current)."""
    from aerich.models import Aerich

    location = migrations_location(settings.database_url) / "models"
    files = sorted(p.name for p in location.glob("*.py") if p.stem.split("_")[0].isdigit())
    try:
        versions = cast(list[str], await Aerich.filter(app="models").values_list("version", flat=True))
        applied = set(versions)
    except OperationalError:  # no aerich table: nothing was ever applied
        applied = set()
    return [f for f in files if f not in applied]


async def ping() -> None:
    """Raise if the database cannot answer a trivial query."""
    await connections.get("default").execute_query("SELECT 1")
