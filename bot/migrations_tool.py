"""Developer tool: generate one aerich migration per dialect (SQLite and PostgreSQL) after a model change.

aerich writes dialect-specific SQL and the service runs on both databases, so each model change gets a
migration in `migrations/sqlite/` and one in `migrations/postgres/`. Both are diffed offline against the
models state stored in the latest migration file (PostgreSQL must be reachable: BOT_MIGRATIONS_PG_URL).
"""

from __future__ import annotations

import os
import subprocess
import sys

from bot import db

# Only the dialect matters offline, but aerich still opens a PostgreSQL connection (it writes nothing).
DIALECT_URLS = {
    "sqlite": "sqlite://:memory:",
    "postgres": os.environ.get("BOT_MIGRATIONS_PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
}


async def _generate(url: str, name: str) -> str | None:
    from aerich import Command

    location = str(db.migrations_location(url))
    async with Command(db.tortoise_config(url), app="models", location=location) as cmd:
        await cmd.init(offline=True)
        return await cmd.migrate(name, no_input=True, offline=True)


async def make_migration(name: str, dialect: str) -> None:
    """Write `migrations/<dialect>/models/<n>_<time>_<name>.py` for the current models."""
    made = await _generate(DIALECT_URLS[dialect], name)
    print(f"{dialect}: {made or 'no changes'}")


def make_migrations(name: str) -> None:
    """One migration per dialect, each in its own process: aerich keeps the diff in class attributes."""
    for dialect in DIALECT_URLS:
        subprocess.run([sys.executable, "-m", "bot", "makemigrations", name, "--dialect", dialect], check=True)
