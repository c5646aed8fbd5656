"""Per-message cost of each step of our webhook and of the naive wechatpy path, in one process, without HTTP.

Usage: .venv/bin/python bench/webhook_parts.py [--n 3000]

Complements bench/webhook.py (which measures the whole servers under load): this one says where the
microseconds of one message go. Database steps run against a fresh, migrated SQLite file, once with the
shipped settings (synchronous=FULL, SQLite's default) and once with synchronous=NORMAL patched in here.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import db  # noqa: E402
from bot.handlers import Turn, dispatch  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wechat.messages import parse_xml, render_text_reply, to_message  # noqa: E402
from bot.wechat.peer import WeChatPeer  # noqa: E402
from bot.wechat.webhook import Webhook, hash_openid  # noqa: E402

WORD = "联系门店"


def per_call_us(fn: Callable[[int], Any], n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n * 1e6


async def per_call_us_async(fn: Callable[[int], Awaitable[Any]], n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        await fn(i)
    return (time.perf_counter() - t) / n * 1e6


async def main_async(n: int) -> None:
    settings = Settings()
    peer = WeChatPeer.for_settings(settings)
    signed = [peer.sign(peer.text(f"o_parts_{i % 64}", WORD)) for i in range(n)]
    hook = Webhook(settings)
    mc = hook._crypto
    assert mc is not None
    token = settings.wechat_token
    rows: list[tuple[str, float]] = []

    def q(i: int, k: str) -> str:
        return signed[i].query[k]

    rows.append(
        (
            "ours: verify URL signature",
            per_call_us(lambda i: hook._signed(q(i, "signature"), q(i, "timestamp"), q(i, "nonce")), n),
        )
    )
    rows.append(("ours: parse outer XML", per_call_us(lambda i: parse_xml(signed[i].body), n)))
    outer = [parse_xml(s.body)["Encrypt"] for s in signed]
    rows.append(
        (
            "ours: verify msg_signature",
            per_call_us(
                lambda i: mc.verify_msg_signature(q(i, "msg_signature"), q(i, "timestamp"), q(i, "nonce"), outer[i]), n
            ),
        )
    )
    rows.append(("ours: AES decrypt", per_call_us(lambda i: mc.decrypt(outer[i]), n)))
    inner = [mc.decrypt(e) for e in outer]
    rows.append(("ours: parse inner XML + to_message", per_call_us(lambda i: to_message(parse_xml(inner[i])), n)))
    rows.append(
        (
            "ours: _open (all of the above but URL sig)",
            per_call_us(
                lambda i: hook._open(signed[i].body, True, q(i, "msg_signature"), q(i, "timestamp"), q(i, "nonce")), n
            ),
        )
    )
    msgs = [to_message(parse_xml(x)) for x in inner]
    now = datetime.now(UTC)
    rows.append(
        (
            "ours: router dispatch (contact command)",
            await per_call_us_async(lambda i: dispatch(Turn(msg=msgs[i], now=now, settings=settings)), n),
        )
    )
    text = (await dispatch(Turn(msg=msgs[0], now=now, settings=settings))).text or ""
    rows.append(
        ("ours: render_text_reply", per_call_us(lambda i: render_text_reply(msgs[i].openid, msgs[i].account, text), n))
    )
    plain = render_text_reply(msgs[0].openid, msgs[0].account, text)
    rows.append(
        (
            "ours: envelope (AES encrypt + sign)",
            per_call_us(lambda i: mc.envelope(plain, q(i, "nonce"), q(i, "timestamp")), n),
        )
    )
    log = logging.getLogger("bench.parts")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    rows.append(
        (
            "ours: per-message INFO log line (+hash_openid)",
            per_call_us(
                lambda i: log.info(
                    "msg user=%s type=%s handler=%s latency_ms=%.1f outcome=%s",
                    hash_openid(msgs[i].openid),
                    "text",
                    "contact",
                    1.0,
                    "replied",
                ),
                n,
            ),
        )
    )

    async def bare_task(i: int) -> None:
        async def work() -> None:
            return None

        await asyncio.wait_for(asyncio.shield(asyncio.create_task(work())), 4.0)

    rows.append(("ours: create_task + wait_for(shield) overhead", await per_call_us_async(bare_task, n)))

    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.replies import TextReply
    from wechatpy.utils import check_signature

    wc = WeChatCrypto(token, settings.wechat_aes_key, settings.wechat_appid)
    bodies = [s.body.decode() for s in signed]
    rows.append(
        (
            "naive: check_signature",
            per_call_us(lambda i: check_signature(token, q(i, "signature"), q(i, "timestamp"), q(i, "nonce")), n),
        )
    )
    rows.append(
        (
            "naive: decrypt_message",
            per_call_us(
                lambda i: wc.decrypt_message(bodies[i], q(i, "msg_signature"), q(i, "timestamp"), q(i, "nonce")), n
            ),
        )
    )
    xmls = [wc.decrypt_message(bodies[i], q(i, "msg_signature"), q(i, "timestamp"), q(i, "nonce")) for i in range(n)]
    rows.append(("naive: parse_message", per_call_us(lambda i: parse_message(xmls[i]), n)))
    wmsgs = [parse_message(x) for x in xmls]
    rows.append(
        ("naive: TextReply(...).render()", per_call_us(lambda i: TextReply(message=wmsgs[i], content=text).render(), n))
    )
    reply = TextReply(message=wmsgs[0], content=text).render()
    rows.append(
        (
            "naive: encrypt_message",
            per_call_us(lambda i: wc.encrypt_message(reply, q(i, "nonce"), q(i, "timestamp")), n),
        )
    )

    # Tortoise keeps global state: each database run gets a fresh process.
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        for sync in ("FULL", "NORMAL"):
            rows.extend(pool.submit(db_rows_process, sync, n).result(timeout=300))

    width = max(len(r[0]) for r in rows)
    print(f"{'step (one message, in-process, no HTTP)':<{width}} {'us':>8}")
    print("-" * (width + 9))
    for name, us in rows:
        print(f"{name:<{width}} {us:>8.1f}")


def db_rows_process(sync: str, n: int) -> list[tuple[str, float]]:
    settings = Settings()
    peer = WeChatPeer.for_settings(settings)
    msgs = [to_message(parse_xml(peer.text(f"o_parts_{i % 64}", WORD).encode())) for i in range(n)]
    return asyncio.run(db_rows(msgs, sync, n))


async def db_rows(msgs: list[Any], sync: str, n: int) -> list[tuple[str, float]]:
    """dedupe claim + finish, and the whole `Webhook._answer` (dedupe, task, router, render), on SQLite."""
    from tortoise.connection import connections

    from bot.services import dedupe

    original = db.tortoise_config

    def config(url: str) -> dict[str, Any]:
        cfg = original(url)
        cfg["connections"]["default"]["credentials"]["synchronous"] = sync
        return cfg

    db.tortoise_config = config
    try:
        with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
            s = Settings(database_url=f"sqlite://{tmp}/parts.sqlite3", run_background_tasks=False)
            await db.migrate(s)
            await db.connect(s)
            try:
                now = datetime.now(UTC)
                conn = connections.get("default")
                hook = Webhook(s)
                label = f"db sync={sync}:"
                return [
                    (
                        f"{label} SELECT 1 round trip (aiosqlite thread hop)",
                        await per_call_us_async(lambda i: conn.execute_query("SELECT 1"), n),
                    ),
                    (
                        f"{label} dedupe.claim (ORM INSERT)",
                        await per_call_us_async(lambda i: dedupe.claim(f"a{i}", now), n),
                    ),
                    (
                        f"{label} dedupe.finish (ORM UPDATE)",
                        await per_call_us_async(lambda i: dedupe.finish(f"a{i}", "<xml/>"), n),
                    ),
                    (
                        f"{label} Webhook._answer (whole turn, no HTTP/crypto)",
                        await per_call_us_async(lambda i: hook._answer(msgs[i]), n),
                    ),
                ]
            finally:
                await db.disconnect()
    finally:
        db.tortoise_config = original


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=3000, help="iterations per step (default 3000, max 100000)")
    args = p.parse_args(argv)
    if not 1 <= args.n <= 100000:
        p.error("--n must be between 1 and 100000")
    asyncio.run(main_async(args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
