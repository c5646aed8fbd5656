"""Webhook load benchmark: a bare aiohttp handler, a naive wechatpy webhook and ours, each in its own process.

Usage: .venv/bin/python bench/webhook.py [--users 64] [--messages 20000] [--duration 10] [--servers bare,naive,ours]

Every simulated user is one keep-alive HTTP/1.1 connection that sends a signed, AES-encrypted (safe mode) text
message and waits for the reply before sending the next (closed loop). All requests are built, signed and
encrypted with `WeChatPeer` before the timed phase; the client only writes pre-serialized bytes and reads the
status line, Content-Length and body, so it stays cheap (its CPU% is printed to prove it).

Servers, one worker each, on the event loop `python -m bot serve` runs (uvloop where installed; set
BOT_EVENT_LOOP=asyncio for asyncio's own):
- bare:  an aiohttp POST handler that only returns "success" (the framework's ceiling);
- naive: wechatpy check_signature + WeChatCrypto.decrypt_message + parse_message + TextReply + encrypt_message,
         no database (the protocol floor most projects ship);
- ours:  `bot.app.create_app(Settings(...))` on a fresh, migrated SQLite file, dedupe on, safe mode, INFO
         logging to a file as `python -m bot serve` configures it, answering "联系门店" (a fixed reply).

`--profile FILE` runs cProfile inside the "ours" server for the whole run (warm-up included) and prints the
top functions; cProfile sees the event-loop thread only (aiosqlite runs SQLite in its own thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import multiprocessing as mp
import os
import pstats
import resource
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bot import replies, runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wechat.peer import SignedRequest, WeChatPeer  # noqa: E402

SERVERS = ("bare", "naive", "ours")
WORD = "联系门店"  # the router answers it with the fixed store-contact text (no database read)
SAMPLE_EVERY = 50  # decrypt and check one reply in this many
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 15.0
RSS_SAMPLE_S = 0.05
# Targets from the issue.
TARGET_P99_MS = 50.0
ISSUE_NAIVE_OVER_BARE = 0.2


def expected_text(settings: Settings) -> str:
    return replies.render(
        "contact",
        store=settings.store_name,
        address=settings.store_address,
        phone=settings.store_phone,
        hours=settings.store_hours,
    )


# --- servers (each runs in its own process) ----------------------------------------------------------------


def _bare_app() -> Any:
    from aiohttp import web

    async def post(request: web.Request) -> web.Response:
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/wechat", post)
    return app


def _naive_app(settings: Settings) -> Any:
    from aiohttp import web
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
    from wechatpy.replies import TextReply
    from wechatpy.utils import check_signature

    token = settings.wechat_token
    crypto = WeChatCrypto(token, settings.wechat_aes_key, settings.wechat_appid)
    text = expected_text(settings)

    async def post(request: web.Request) -> web.Response:
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        try:
            check_signature(token, q.get("signature", ""), timestamp, nonce)
            xml = crypto.decrypt_message(await request.text(), q.get("msg_signature", ""), timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException):
            raise web.HTTPForbidden(text="invalid signature") from None
        msg = parse_message(xml)
        reply = TextReply(message=msg, content=text).render()
        return web.Response(text=crypto.encrypt_message(reply, nonce, timestamp), content_type="application/xml")

    app = web.Application()
    app.router.add_post("/wechat", post)
    return app


def _configure_logging(level: str, path: Path) -> None:
    # Exactly as `python -m bot serve` does, but into a file: one INFO line per message is part of the cost.
    from bot.runtime import configure_logging

    configure_logging(level, path.open("a", encoding="utf-8"))


async def _serve(kind: str, workdir: Path, profile: str | None, conn: Connection) -> None:
    import signal

    from aiohttp import web

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if kind == "bare":
        app = _bare_app()
    elif kind == "naive":
        app = _naive_app(Settings())
    else:
        from bot import db
        from bot.app import create_app

        settings = Settings(database_url=f"sqlite://{workdir / 'bench.sqlite3'}", port=port, run_background_tasks=False)
        await db.migrate(settings)
        app = create_app(settings)
        from bot.runtime import tune_gc

        tune_gc()  # as `serve` does
    runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    prof = cProfile.Profile() if profile else None
    conn.send(("ready", port, f"{type(loop).__module__}.{type(loop).__name__}"))
    if prof is not None:
        prof.enable()
    await stop.wait()
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    await runner.cleanup()


def server_main(kind: str, workdir: str, log_level: str, profile: str | None, conn: Connection) -> None:
    _configure_logging(log_level, Path(workdir) / "server.log")
    try:
        runtime.run(_serve(kind, Path(workdir), profile, conn))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", repr(exc)))
        raise


# --- the load client ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    """Pre-serialized requests per user (warm-up and timed), plus the signed originals to check replies."""

    warmup: list[list[bytes]]
    timed: list[list[bytes]]
    signed: list[list[SignedRequest]]  # timed requests, for decrypting sampled replies


def build_plan(peer: WeChatPeer, port: int, users: int, warmup_per_user: int, messages: int) -> Plan:
    host = f"127.0.0.1:{port}"

    # WeChat stamps CreateTime as it forwards a message, so live traffic arrives within a fraction of a second
    # of it. These requests are built up front and sent over the next ~10-20 s, so they carry the time they
    # will roughly be sent at; otherwise every one would look old enough to be a retry of an earlier attempt.
    send_time = int(time.time()) + 10

    def one(openid: str) -> tuple[bytes, SignedRequest]:
        req = peer.sign(peer.text(openid, WORD, create_time=send_time))
        head = (
            f"POST /wechat?{urlencode(req.query)} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(req.body)}\r\n\r\n"
        )
        return head.encode() + req.body, req

    openids = [f"o_bench_user_{u:04d}" for u in range(users)]
    warmup = [[one(o)[0] for _ in range(warmup_per_user)] for o in openids]
    timed: list[list[bytes]] = []
    signed: list[list[SignedRequest]] = []
    for u, o in enumerate(openids):
        n = messages // users + (1 if u < messages % users else 0)
        pairs = [one(o) for _ in range(n)]
        timed.append([p[0] for p in pairs])
        signed.append([p[1] for p in pairs])
    return Plan(warmup, timed, signed)


@dataclass
class PhaseResult:
    latencies: list[float] = field(default_factory=list)
    non_200: int = 0
    first_error: str = ""
    samples: list[tuple[int, int, bytes]] = field(default_factory=list)  # (user, index, body)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
    end = lower.find(b"\r\n", at + 2)
    body = await reader.readexactly(int(lower[at + 17 : end]))
    return status, body


async def _user_loop(
    u: int,
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    requests: list[bytes],
    deadline: float,
    result: PhaseResult,
) -> None:
    reader, writer = stream
    lat = result.latencies
    clock = time.perf_counter
    for i, raw in enumerate(requests):
        t0 = clock()
        if t0 >= deadline:
            return
        writer.write(raw)
        status, body = await _read_response(reader)
        lat.append(clock() - t0)
        if status != 200:
            result.non_200 += 1
            if not result.first_error:
                result.first_error = f"HTTP {status}: {body[:200]!r}"
        elif i % SAMPLE_EVERY == 0:
            result.samples.append((u, i, body))


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """The load client collects garbage before a timed phase, never during it: its log of replies grows
    through a run, and a full collection of it (30 ms) in the middle of a phase held up the receipt of every
    reply in flight, which the client then counted as the server's latency. Reference counting still
    frees almost everything meanwhile."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def run_phase(
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]], requests: list[list[bytes]], duration: float
) -> tuple[PhaseResult, float]:
    result = PhaseResult()
    with client_gc_paused():
        start = time.perf_counter()
        deadline = start + duration
        tasks = [_user_loop(u, streams[u], requests[u], deadline, result) for u in range(len(streams))]
        await asyncio.wait_for(asyncio.gather(*tasks), duration + 30.0)
        return result, time.perf_counter() - start


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    proc = psutil.Process(pid)
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):
            peak[0] = max(peak[0], proc.memory_info().rss)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_SAMPLE_S)


def _loop_thread_cpu(proc: psutil.Process) -> float:
    """CPU seconds of the server's main thread (the event loop); its other threads are aiosqlite's and the like."""
    for t in proc.threads():
        if t.id == proc.pid:
            return float(t.user_time + t.system_time)
    return 0.0


@dataclass
class Row:
    server: str
    done: int
    wall: float
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_mib: float
    server_cpu_pct: float
    loop_cpu_pct: float
    server_us_per_msg: float
    client_cpu_pct: float
    non_200: int
    checked: int
    bad_replies: int
    note: str


def check_samples(kind: str, peer: WeChatPeer, plan: Plan, result: PhaseResult, expected: str) -> tuple[int, int, str]:
    """(checked, bad, first problem): bare must say "success"; naive and ours must decrypt to `expected`."""
    bad, note = 0, ""
    for u, i, body in result.samples:
        try:
            if kind == "bare":
                got: str | None = body.decode()
                ok = got == "success"
            else:
                got = peer.open_reply(plan.signed[u][i], body)
                ok = got == expected
        except Exception as exc:
            got, ok = f"{type(exc).__name__}: {exc}", False
        if not ok:
            bad += 1
            note = note or f"unexpected reply: {got!r}"[:160]
    return len(result.samples), bad, note


async def bench_server(kind: str, args: argparse.Namespace, pid: int, port: int) -> Row:
    settings = Settings()
    peer = WeChatPeer.for_settings(settings)
    t = time.perf_counter()
    plan = build_plan(peer, port, args.users, args.warmup_per_user, args.messages)
    print(
        f"  {kind}: built and signed {args.users * args.warmup_per_user + args.messages} requests "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(args.users)]
    peak = [0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, peak, stop))
    try:
        warm, _ = await run_phase(streams, plan.warmup, args.duration)
        if warm.non_200:
            raise RuntimeError(f"{kind}: warm-up got {warm.non_200} non-200 answers, first: {warm.first_error}")
        server = psutil.Process(pid)
        s0, t0 = server.cpu_times(), _loop_thread_cpu(server)
        c0 = time.process_time()
        result, wall = await run_phase(streams, plan.timed, args.duration)
        c1 = time.process_time()
        s1, t1 = server.cpu_times(), _loop_thread_cpu(server)
    finally:
        stop.set()
        await sampler
        for _, writer in streams:
            writer.close()
        for _, writer in streams:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    done = len(result.latencies)
    lat_ms = sorted(x * 1000 for x in result.latencies)
    server_cpu = (s1.user - s0.user) + (s1.system - s0.system)
    checked, bad, note = check_samples(kind, peer, plan, result, expected_text(settings))
    return Row(
        server=kind,
        done=done,
        wall=wall,
        rate=done / wall if wall else 0.0,
        p50_ms=statistics.median(lat_ms) if lat_ms else 0.0,
        p99_ms=lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))] if lat_ms else 0.0,
        max_ms=lat_ms[-1] if lat_ms else 0.0,
        rss_mib=peak[0] / 2**20,
        server_cpu_pct=100 * server_cpu / wall if wall else 0.0,
        loop_cpu_pct=100 * (t1 - t0) / wall if wall else 0.0,
        server_us_per_msg=1e6 * server_cpu / done if done else 0.0,
        client_cpu_pct=100 * (c1 - c0) / wall if wall else 0.0,
        non_200=result.non_200,
        checked=checked,
        bad_replies=bad,
        note=note or result.first_error,
    )


def start_server(
    kind: str, workdir: Path, args: argparse.Namespace, target: Any = None, extra: tuple[Any, ...] = ()
) -> tuple[Any, Connection, int, str]:
    """Spawn `target(kind, workdir, log_level, profile, conn, *extra)` (default `server_main`); wait for its port."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    profile = args.profile if (args.profile and kind == "ours") else None
    proc = ctx.Process(
        target=target or server_main,
        args=(kind, str(workdir), args.log_level, profile, child, *extra),
        name=f"bench-{kind}",
    )
    proc.start()
    child.close()
    if not parent.poll(SERVER_START_TIMEOUT_S):
        proc.kill()
        raise RuntimeError(f"{kind} server did not start within {SERVER_START_TIMEOUT_S:.0f} s")
    msg = parent.recv()
    if msg[0] != "ready":
        proc.join(5)
        raise RuntimeError(f"{kind} server failed: {msg}")
    return proc, parent, int(msg[1]), str(msg[2])


def stop_server(proc: Any) -> None:
    proc.terminate()
    proc.join(SERVER_STOP_TIMEOUT_S)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def run_one(kind: str, args: argparse.Namespace, target: Any = None, extra: tuple[Any, ...] = ()) -> tuple[Row, str]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        proc, conn, port, loop_name = start_server(kind, Path(tmp), args, target, extra)
        try:
            row = asyncio.run(bench_server(kind, args, proc.pid, port))
        finally:
            stop_server(proc)
            conn.close()
        if kind == "ours":
            log_lines = sum(1 for _ in (Path(tmp) / "server.log").open(encoding="utf-8"))
            print(f"  ours: server wrote {log_lines} log lines", flush=True)
    return row, loop_name


# --- report ------------------------------------------------------------------------------------------------


def print_table(rows: list[Row], args: argparse.Namespace, loop_names: dict[str, str]) -> None:
    print()
    print(
        f"Webhook benchmark: {args.users} concurrent users (closed loop, keep-alive), safe mode (AES), "
        f"up to {args.messages} messages or {args.duration:g} s per server after {args.warmup_per_user} warm-up "
        f"messages per user; {os.cpu_count()} CPUs; server loops: "
        + ", ".join(f"{k}={v}" for k, v in loop_names.items())
        + " (default asyncio, no uvloop)"
    )
    header = (
        f"{'server':<7} {'msgs':>6} {'wall s':>7} {'msg/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'peakRSS MiB':>11} {'srv CPU%':>8} {'loop CPU%':>9} {'srv us/msg':>10} {'client CPU%':>11} "
        f"{'non-200':>7} {'checked':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        checked = f"{r.checked - r.bad_replies}/{r.checked}"
        print(
            f"{r.server:<7} {r.done:>6} {r.wall:>7.2f} {r.rate:>8.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{r.max_ms:>7.1f} {r.rss_mib:>11.1f} {r.server_cpu_pct:>8.0f} {r.loop_cpu_pct:>9.0f} "
            f"{r.server_us_per_msg:>10.0f} {r.client_cpu_pct:>11.0f} {r.non_200:>7} {checked:>8}"
        )
    for r in rows:
        if r.note:
            print(f"  {r.server}: {r.note}")
    by = {r.server: r for r in rows}
    print()
    if "ours" in by and "naive" in by:
        ratio = by["ours"].rate / by["naive"].rate
        verdict = "met" if ratio >= 1.0 else "NOT met"
        print(f"ours/naive rate  {ratio:5.2f}   target >= 1.00 (ours rate >= naive rate on one worker): {verdict}")
    if "naive" in by and "bare" in by:
        ratio = by["naive"].rate / by["bare"].rate
        print(
            f"naive/bare rate  {ratio:5.2f}   issue's note: the naive webhook reaches about "
            f"{ISSUE_NAIVE_OVER_BARE:.2f} (a fifth) of the bare handler's rate on a 2-core machine"
        )
    if "ours" in by and "bare" in by:
        print(f"ours/bare rate   {by['ours'].rate / by['bare'].rate:5.2f}")
    if "ours" in by:
        p99 = by["ours"].p99_ms
        verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
        print(f"ours p99         {p99:5.1f} ms target < {TARGET_P99_MS:.0f} ms at {args.users} users: {verdict}")
    print(
        "srv CPU% counts all server threads, loop CPU% its event-loop thread only (aiosqlite runs SQLite in a "
        "thread of its own); srv us/msg = all server CPU per message; client CPU% is the load client's "
        "process_time over the timed phase (100% = one core saturated)."
    )


def print_profile(path: str, top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(path, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print()
    print(f"cProfile of the ours server (event-loop thread, whole run incl. warm-up), saved to {path}:")
    print(out.getvalue())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=64, help="concurrent users, one connection each (default 64)")
    p.add_argument("--messages", type=int, default=50000, help="timed messages per server (default 50000)")
    p.add_argument("--duration", type=float, default=10.0, help="max seconds of timed phase per server (default 10)")
    p.add_argument("--warmup-per-user", type=int, default=5, help="unmeasured messages per user first (default 5)")
    p.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset of bare,naive,ours")
    p.add_argument("--log-level", default="INFO", help="the servers' log level (production default INFO)")
    p.add_argument("--profile", metavar="FILE", help="cProfile the ours server into FILE and print the top")
    p.add_argument("--profile-top", type=int, default=30, help="functions to print from the profile")
    args = p.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = [s for s in servers if s not in SERVERS]
    if unknown or not servers:
        p.error(f"unknown servers {unknown}; choose from {', '.join(SERVERS)}")
    if args.users < 1 or args.messages < args.users or args.duration <= 0 or args.duration > 120:
        p.error("need users >= 1, messages >= users and 0 < duration <= 120")
    args.servers = servers
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * args.users + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * args.users + 1024), hard))
    rows: list[Row] = []
    loop_names: dict[str, str] = {}
    for kind in args.servers:
        print(f"running {kind} ...", flush=True)
        row, loop_names[kind] = run_one(kind, args)
        rows.append(row)
    print_table(rows, args, loop_names)
    if args.profile and "ours" in args.servers:
        print_profile(args.profile, args.profile_top)
    failed = any(r.non_200 or r.bad_replies or r.done == 0 for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
