"""Booking dialog load benchmark: many users each completing a booking by chat, on SQLite and on PostgreSQL.

Usage: .venv/bin/python bench/booking.py [--users 64] [--rounds 10] [--databases sqlite,postgres] [--profile PREFIX]

Every simulated user is one keep-alive HTTP/1.1 connection (closed loop: it waits for each reply before sending
the next message) that sends `--rounds` x 7 timed booking messages, each booking as a new WeChat user
(openid), as tests/test_booking_dialog.py's step-by-step transcript does:

    预约 -> 粤A1nnnn -> 保养 -> "12月5日下午3点半" -> 张伟 -> 139nnnnnnnn -> 确认

User u starts the timed phase at step u % 7 (see `Script`): users who all start at step 1 stay in lockstep
in a closed loop, all confirming at once, which inflated p99 two to four times in early runs of this file.

Plates and mobiles are unique per booking; each booking's time is an absolute day 1-30 days ahead (still
inside the 1 h lead and the 30-day horizon should the run cross midnight) on the 30-minute grid 08:30-17:00.
A maintenance visit lasts 60 minutes and so covers two slots; times are handed out so that the first
30 x 18 = 540 bookings all get a distinct (day, time) and no slot is ever planned past the 3 online places
(810 bookings fit), so capacity is never what limits the run.

Messages are signed and AES-encrypted (safe mode) by `WeChatPeer` just before they are sent (about 15 us
each), with CreateTime and the signature timestamp set to the send time as WeChat stamps live traffic, so no
message looks old enough to be a retry (the webhook reads its durable dedupe record only for those).

Per database, one server process runs the real app as `python -m bot serve` does (one worker, its event
loop: uvloop unless BOT_EVENT_LOOP=asyncio, `configure_logging` INFO into a file, `tune_gc`), on a fresh
migrated database: a temp SQLite file, or a throwaway PostgreSQL database created beside `--pg-admin-url`
and dropped at the end. Three clerks with WeChat openids are seeded, so a booking queues two template
messages (customer confirmation and the clerk's notice) in its transaction, as in a real dealership.
Background tasks run (`run_background_tasks=True`): the outbox dispatcher sends those templates while the
users book, so its cost is part of the booking cost. It sends them to a WeChat API emulator
(`bot.wechat.sandbox`, every openid pre-followed) in a third process given as WECHAT_API_BASE, so the
server's CPU holds our side of those API calls but not WeChat's.

Phases per database, all on the same 64 connections: warm-up (5 fixed-reply messages, one booking and the
lead-in to the staggered start per user, then the outbox drained), "fixed" (the text 联系门店 answered with
the store contact, as bench/webhook.py's "ours"; run in two halves, one just before and one just after the
booking phase, and reported as one, so that drift in the machine's speed weighs on both sides of the cost
ratio alike), "booking" (the timed messages; its server CPU counts until the outbox is drained), cool-down
(untimed: finishes the bookings left open). The load client collects its garbage between phases, not during
them (`webhook.client_gc_paused`).

Afterwards every reply is checked: HTTP 200, decrypts, and holds the step's expected words (the last one
预约成功); the database must hold exactly one booked appointment per completed booking, at its planned time,
no slot over the online capacity (both from `slot_load` and recomputed from the appointments), and every
outbox row sent; the emulator must have received the same number of template messages.

`--profile PREFIX` runs cProfile in the server during the timed booking phase only (event-loop thread) and
prints the top functions per database; PREFIX.<database>.prof keeps the data.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import resource
import secrets
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook  # bench/webhook.py, run as a plain script (it puts the repository on sys.path)

from bot import runtime
from bot.models import StoreSchedule
from bot.nlu import parse_when
from bot.services import schedule
from bot.settings import Settings
from bot.wechat.peer import SignedRequest, WeChatPeer

DATABASES = ("sqlite", "postgres")
DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
FIXED_WORD = webhook.WORD  # 联系门店
SERVICE_WORD = "保养"
SERVICE_CODE = "maintenance"
STEPS = ("预约", "plate", "保养", "time", "name", "mobile", "确认")
# Words the reply to each step must contain (the questions tests/test_booking_dialog.py checks).
EXPECTED = ("车牌", "服务", "哪天几点", "怎么称呼", "手机号", "请确认", "预约成功")
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲"
FIRST_DAY, DAYS = 1, 30  # tomorrow to the 30-day horizon; still valid should the run cross midnight
OUTBOX_DRAIN_TIMEOUT_S = 60.0
PHASE_TIMEOUT_S = 600.0
# Targets from the issue.
TARGET_P99_MS = 100.0
TARGET_COST_RATIO = 4.0


def _schedule_default(name: str) -> int:
    return int(StoreSchedule._meta.fields_map[name].default)


# The store's default rules, as `schedule.ensure_defaults` seeds them on a fresh database.
SLOT = timedelta(minutes=_schedule_default("slot_minutes"))
ONLINE_CAPACITY = schedule.online_capacity(_schedule_default("capacity_per_slot"), _schedule_default("online_share"))
DURATION = timedelta(minutes=schedule.DEFAULT_DURATIONS[SERVICE_CODE])


# --- the plan: who books what, when ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Booking:
    index: int
    openid: str
    plate: str
    start: datetime  # store-local
    texts: tuple[str, ...]


def time_text(start: datetime) -> str:
    """How a customer writes the time: 12月5日上午8点半, 12月5日中午12点, 12月5日下午3点."""
    hour, half = start.hour, "半" if start.minute else ""
    if hour < 12:
        clock = f"上午{hour}点"
    elif hour == 12:
        clock = "中午12点"
    else:
        clock = f"下午{hour - 12}点"
    return f"{start.month}月{start.day}日{clock}{half}"


def allocate_starts(count: int, tz: ZoneInfo, today: date) -> list[datetime]:
    """`count` starts, distinct (day, time) first; no slot planned past the online capacity."""
    opens = datetime.combine(today, schedule.DEFAULT_OPENS)
    closes = datetime.combine(today, schedule.DEFAULT_CLOSES)
    offsets = []
    at = opens
    while at + DURATION <= closes:
        offsets.append(at - opens)
        at += SLOT
    days = [today + timedelta(days=FIRST_DAY + n) for n in range(DAYS)]
    load: Counter[datetime] = Counter()
    starts: list[datetime] = []
    for _ in range(ONLINE_CAPACITY):
        for offset in offsets:
            for day in days:
                start = datetime.combine(day, schedule.DEFAULT_OPENS, tzinfo=tz) + offset
                covered = [start + SLOT * i for i in range(-(-DURATION // SLOT))]
                if all(load[s] < ONLINE_CAPACITY for s in covered):
                    load.update(covered)
                    starts.append(start)
                    if len(starts) == count:
                        return starts
    raise SystemExit(
        f"only {len(starts)} bookings fit days {FIRST_DAY}-{FIRST_DAY + DAYS - 1} ahead at {ONLINE_CAPACITY} "
        f"online places per slot; lower --users or --rounds (asked for {count})"
    )


def build_plan(users: int, rounds: int, tz: ZoneInfo) -> list[list[Booking]]:
    """Per user, rounds + 2 bookings (see `Script`); every time text is checked with parse_when."""
    now = datetime.now(tz)
    starts = allocate_starts(users * (rounds + 2), tz, now.date())
    plan: list[list[Booking]] = [[] for _ in range(users)]
    for r in range(rounds + 2):
        for u in range(users):
            index = r * users + u
            start = starts[index]
            when = time_text(start)
            if parse_when(when, now) != start:
                raise SystemExit(f"parse_when({when!r}) = {parse_when(when, now)!r}, wanted {start}")
            plate = f"粤A1{index:04d}"
            name = SURNAMES[index % len(SURNAMES)] + GIVEN[index // len(SURNAMES) % len(GIVEN)]
            texts = ("预约", plate, SERVICE_WORD, when, name, f"139{index:08d}", "确认")
            plan[u].append(Booking(index, f"o_bk_{u:03d}_{r:03d}", plate, start, texts))
    return plan


Message = tuple[int, int, str, str]  # (booking index, step, openid, text)


@dataclass(frozen=True, slots=True)
class Script:
    """One user's messages, cut so that the timed phase holds exactly `rounds` x 7 of them.

    In a closed loop every user sends one message per turn of the server's queue, so users who all start at
    step 1 stay in lockstep: all on the cheap steps together, then all confirming at once, which is not how
    real users arrive. User u therefore starts the timed phase at step u % 7: the warm-up sends one whole
    booking and the first u % 7 messages of the next, the timed phase the next rounds x 7 messages, and the
    cool-down (untimed) finishes the last booking. At any moment the users are spread over all the steps.
    """

    warmup: list[Message]
    timed: list[Message]
    cooldown: list[Message]

    @classmethod
    def for_user(cls, u: int, bookings: Sequence[Booking], rounds: int) -> Script:
        flat = [(b.index, step, b.openid, text) for b in bookings for step, text in enumerate(b.texts)]
        lead = len(STEPS) + u % len(STEPS)
        end = lead + rounds * len(STEPS)
        return cls(flat[:lead], flat[lead:end], flat[end:])


# --- servers (each runs in its own process) ----------------------------------------------------------------


def _listen() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


async def _seed_clerks(settings: Settings, openids: Sequence[str]) -> None:
    from bot import db
    from bot.models import Staff, StaffRole

    await db.connect(settings)
    try:
        now = datetime.now(UTC)
        clerk = StaffRole.CLERK
        await Staff.bulk_create(
            [
                Staff(name=f"顾问{SURNAMES[i]}", mobile=f"1370000{i:04d}", role=clerk, openid=o, created_at=now)
                for i, o in enumerate(openids)
            ]
        )
    finally:
        await db.disconnect()


async def _serve(
    workdir: Path, conn: Connection, database_url: str, api_base: str, clerks: Sequence[str], profile: str | None
) -> None:
    import signal

    from aiohttp import web

    from bot import db
    from bot.app import create_app
    from bot.runtime import tune_gc

    sock, port = _listen()
    settings = Settings(database_url=database_url, port=port, wechat_api_base=api_base, run_background_tasks=True)
    await db.migrate(settings)
    if clerks:
        await _seed_clerks(settings, clerks)
    app = create_app(settings)
    tune_gc()  # as `serve` does
    runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    prof = cProfile.Profile() if profile else None

    def command() -> None:  # "profile on" / "profile off" from the load client, between phases
        try:
            what = conn.recv()
        except EOFError:
            loop.remove_reader(conn.fileno())
            return
        if prof is not None and what == "profile on":
            prof.enable()
        elif prof is not None and what == "profile off":
            prof.disable()
            prof.dump_stats(str(profile))
        conn.send(("ok", what))

    loop.add_reader(conn.fileno(), command)
    conn.send(("ready", port, f"{type(loop).__module__}.{type(loop).__name__}"))
    await stop.wait()
    loop.remove_reader(conn.fileno())
    await runner.cleanup()


def server_main(
    kind: str,
    workdir: str,
    log_level: str,
    _profile: str | None,
    conn: Connection,
    database_url: str,
    api_base: str,
    clerks: Sequence[str],
    profile: str | None,
) -> None:
    webhook._configure_logging(log_level, Path(workdir) / "server.log")
    try:
        runtime.run(_serve(Path(workdir), conn, database_url, api_base, clerks, profile))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", repr(exc)))
        raise


async def _emulate(conn: Connection, openids: Sequence[str]) -> None:
    import signal

    from aiohttp import web

    from bot.app import sandbox_state_for
    from bot.wechat.sandbox import create_sandbox_app

    state = sandbox_state_for(Settings())
    for openid in openids:
        state.follow(openid)
    sock, port = _listen()
    runner = web.AppRunner(create_sandbox_app(state), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=1024).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    conn.send(("ready", port, "-"))
    await stop.wait()
    templates = Counter(str(d.payload.get("template_id")) for o in openids for d in state.inbox(o))
    conn.send(("stats", dict(templates)))
    await runner.cleanup()


def emulator_main(
    kind: str, workdir: str, log_level: str, _profile: str | None, conn: Connection, openids: Sequence[str]
) -> None:
    webhook._configure_logging("WARNING", Path(workdir) / "emulator.log")
    try:
        asyncio.run(_emulate(conn, openids))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", repr(exc)))
        raise


# --- database probes (from the client process, outside the server) -------------------------------------


class Probe:
    """Counts read straight from the benchmark database with sqlite3 or asyncpg, bypassing the app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pg: Any = None

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite://"):
            return await asyncio.to_thread(self._sqlite_rows, sql)
        if self._pg is None:
            import asyncpg

            self._pg = await asyncpg.connect(self.url)
        return [tuple(r) for r in await self._pg.fetch(sql)]

    def _sqlite_rows(self, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite://"), timeout=10)) as c:
            return list(c.execute(sql).fetchall())

    async def scalar(self, sql: str) -> Any:
        return (await self.rows(sql))[0][0]

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()


async def wait_outbox_drained(probe: Probe, timeout: float) -> float:
    """Seconds until no outbox row is pending (the dispatcher sent everything); raises after `timeout`."""
    start = time.perf_counter()
    while await probe.scalar("SELECT count(*) FROM outbox_message WHERE status = 'pending'"):
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"outbox still has pending rows after {timeout:.0f} s")
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


def _as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


# --- the load client -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Sent:
    booking: int  # index into the flat plan, -1 for fixed-reply messages
    step: int
    request: SignedRequest
    status: int
    body: bytes
    latency: float


@dataclass
class Phase:
    sent: list[Sent] = field(default_factory=list)
    wall: float = 0.0


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client:
    """Signs each message just before sending it (CreateTime = now), writes it, reads the reply."""

    def __init__(self, peer: WeChatPeer, port: int) -> None:
        self.peer = peer
        self.host = f"127.0.0.1:{port}"

    async def send(self, stream: Stream, openid: str, text: str, out: list[Sent], booking: int, step: int) -> None:
        now = int(time.time())
        req = self.peer.sign(self.peer.text(openid, text, create_time=now), timestamp=now)
        raw = (
            f"POST /wechat?{urlencode(req.query)} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(req.body)}\r\n\r\n"
        ).encode() + req.body
        reader, writer = stream
        t0 = time.perf_counter()
        writer.write(raw)
        status, body = await webhook._read_response(reader)
        out.append(Sent(booking, step, req, status, body, time.perf_counter() - t0))

    async def fixed_user(self, stream: Stream, u: int, count: int, deadline: float, out: list[Sent]) -> None:
        openid = f"o_fixed_{u:03d}"
        for _ in range(count):
            if time.perf_counter() >= deadline:
                return
            await self.send(stream, openid, FIXED_WORD, out, -1, 0)

    async def booking_user(self, stream: Stream, messages: Sequence[Message], out: list[Sent]) -> None:
        for index, step, openid, text in messages:
            await self.send(stream, openid, text, out, index, step)


async def timed(coros: list[Any], timeout: float) -> float:
    with webhook.client_gc_paused():
        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*coros), timeout)
        return time.perf_counter() - start


# --- measurements --------------------------------------------------------------------------------------


def _postgres_cpu() -> float:
    """CPU seconds of every postgres process on this machine (the database's share of a PostgreSQL run)."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        times = proc.info.get("cpu_times")
        if proc.info.get("name") in ("postgres", "postmaster") and times is not None:
            total += times.user + times.system
    return total


@dataclass
class Snapshot:
    server: float
    loop: float
    client: float
    postgres: float
    steal: float  # CPU time the hypervisor gave other guests, whole machine (0 where not reported)

    def plus(self, other: Snapshot) -> Snapshot:
        return Snapshot(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def minus(self, other: Snapshot) -> Snapshot:
        return Snapshot(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @classmethod
    def take(cls, server: psutil.Process, pg: bool) -> Snapshot:
        times = server.cpu_times()
        return cls(
            server=times.user + times.system,
            loop=webhook._loop_thread_cpu(server),
            client=time.process_time(),
            postgres=_postgres_cpu() if pg else 0.0,
            steal=getattr(psutil.cpu_times(), "steal", 0.0),
        )


@dataclass
class Row:
    database: str
    phase: str
    msgs: int
    bookings: int  # completed in the phase (final reply says 预约成功)
    wall: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_mib: float
    server_cpu_pct: float
    loop_cpu_pct: float
    server_us_per_msg: float
    pg_us_per_msg: float | None
    client_cpu_pct: float
    steal_pct: float
    non_200: int
    checked: int
    bad: int
    step_ms: list[tuple[float, float]] = field(default_factory=list)  # per step (p50, p99)
    tail_s: float = 0.0  # outbox drain after the phase, counted in server CPU
    note: str = ""

    @property
    def msg_rate(self) -> float:
        return self.msgs / self.wall if self.wall else 0.0

    @property
    def booking_rate(self) -> float:
        return self.bookings / self.wall if self.wall else 0.0


def _pct(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * q))] if sorted_ms else 0.0


@dataclass
class Checked:
    checked: int = 0
    bad: int = 0
    note: str = ""
    completed: set[int] = field(default_factory=set)  # booking indexes whose last reply says 预约成功

    def add(self, other: Checked) -> None:
        self.checked += other.checked
        self.bad += other.bad
        self.note = self.note or other.note
        self.completed |= other.completed


def check_replies(peer: WeChatPeer, sent: list[Sent], fixed_text: str) -> Checked:
    """Every reply: HTTP 200, decrypts, and says what its step should say."""
    result = Checked()
    for s in sent:
        result.checked += 1
        try:
            if s.status != 200:
                raise AssertionError(f"HTTP {s.status}: {s.body[:120]!r}")
            text = peer.open_reply(s.request, s.body) or ""
            ok = text == fixed_text if s.booking < 0 else EXPECTED[s.step] in text
            if not ok:
                where = "fixed" if s.booking < 0 else f"booking {s.booking} step {s.step + 1} ({STEPS[s.step]})"
                raise AssertionError(f"{where}: unexpected reply {text[:100]!r}")
        except Exception as exc:
            result.bad += 1
            result.note = result.note or f"{type(exc).__name__}: {exc}"[:200]
            continue
        if s.booking >= 0 and s.step == len(STEPS) - 1:
            result.completed.add(s.booking)
    return result


def make_row(
    database: str,
    phase: str,
    run: Phase,
    checked: Checked,
    before: Snapshot,
    end: Snapshot,
    after: Snapshot,
    peak_rss: int,
    pg: bool,
    tail_s: float = 0.0,
) -> Row:
    """`end` is taken when the phase's last reply arrived, `after` once its outbox work is done too."""
    msgs, wall = len(run.sent), run.wall
    lat = sorted(s.latency * 1000 for s in run.sent)
    steps = []
    if phase == "booking":
        for step in range(len(STEPS)):
            ms = sorted(s.latency * 1000 for s in run.sent if s.step == step)
            steps.append((statistics.median(ms) if ms else 0.0, _pct(ms, 0.99)))
    return Row(
        database=database,
        phase=phase,
        msgs=msgs,
        bookings=len(checked.completed),
        wall=wall,
        p50_ms=statistics.median(lat) if lat else 0.0,
        p99_ms=_pct(lat, 0.99),
        max_ms=lat[-1] if lat else 0.0,
        rss_mib=peak_rss / 2**20,
        server_cpu_pct=100 * (end.server - before.server) / wall if wall else 0.0,
        loop_cpu_pct=100 * (end.loop - before.loop) / wall if wall else 0.0,
        server_us_per_msg=1e6 * (after.server - before.server) / msgs if msgs else 0.0,
        pg_us_per_msg=1e6 * (after.postgres - before.postgres) / msgs if pg and msgs else None,
        client_cpu_pct=100 * (end.client - before.client) / wall if wall else 0.0,
        steal_pct=100 * (end.steal - before.steal) / wall if wall else 0.0,
        non_200=sum(1 for s in run.sent if s.status != 200),
        checked=checked.checked,
        bad=checked.bad,
        step_ms=steps,
        tail_s=tail_s,
        note=checked.note,
    )


@dataclass
class Verdict:
    """Correctness of one database's run, from the replies, the database and the emulator."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def check(self, ok: bool, text: str) -> None:
        self.ok = self.ok and ok
        self.lines.append(f"{'ok  ' if ok else 'FAIL'} {text}")


async def verify_database(
    probe: Probe, plan: list[list[Booking]], completed: set[int], per_booking: int, verdict: Verdict
) -> None:
    bookings = {b.index: b for user in plan for b in user}
    booked = await probe.rows(
        "SELECT v.plate, a.start_at, a.end_at FROM appointment a JOIN vehicle v ON v.id = a.vehicle_id "
        "WHERE a.status = 'booked'"
    )
    verdict.check(
        len(booked) == len(completed),
        f"appointment rows with status booked: {len(booked)} == completed bookings {len(completed)}",
    )
    wanted = {bookings[i].plate: bookings[i].start.astimezone(UTC) for i in completed}
    at_plan = sum(1 for plate, start, _ in booked if wanted.get(plate) == _as_utc(start))
    verdict.check(at_plan == len(completed), f"appointments at their planned time: {at_plan}/{len(completed)}")
    recount: Counter[datetime] = Counter()
    for _, start, end in booked:
        slot, stop = _as_utc(start), _as_utc(end)
        while slot < stop:
            recount[slot] += 1
            slot += SLOT
    table_max = await probe.scalar("SELECT coalesce(max(booked), 0) FROM slot_load")
    table_total = await probe.scalar("SELECT coalesce(sum(booked), 0) FROM slot_load")
    most = max(recount.values(), default=0)
    verdict.check(
        table_max <= ONLINE_CAPACITY and most <= ONLINE_CAPACITY and table_total == sum(recount.values()),
        f"max appointments per slot: {table_max} (slot_load), {most} (recounted from appointments) "
        f"<= {ONLINE_CAPACITY} online places; slot_load total {table_total} == recount {sum(recount.values())}",
    )
    status = dict(await probe.rows("SELECT status, count(*) FROM outbox_message GROUP BY status"))
    want = len(completed) * per_booking
    verdict.check(
        status.get("sent", 0) == want and sum(status.values()) == want,
        f"outbox rows {dict(sorted(status.items()))}, expected {want} sent ({per_booking} per booking)",
    )


# --- one database ----------------------------------------------------------------------------------------


@dataclass
class DbResult:
    rows: list[Row]
    verdict: Verdict
    profile: str | None
    log_lines: int


async def bench_database(
    database: str,
    args: argparse.Namespace,
    url: str,
    plan: list[list[Booking]],
    pid: int,
    port: int,
    control: Connection,
    profile: str | None,
    per_booking: int,
    verdict: Verdict,
) -> tuple[list[Row], Checked]:
    """Warm-up, fixed-reply and booking phases on one server, then the database checks."""
    settings = Settings()
    peer = WeChatPeer.for_settings(settings)
    client = Client(peer, port)
    pg = database == "postgres"
    probe = Probe(url)
    server = psutil.Process(pid)
    scripts = [Script.for_user(u, plan[u], args.rounds) for u in range(args.users)]
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(args.users)]
    rows: list[Row] = []
    all_checked = Checked()
    try:
        # Warm-up: imports, caches, the token, pools; a booking per user and the lead-in to its staggered
        # start; then a quiet outbox.
        warm: list[Sent] = []
        far = time.perf_counter() + PHASE_TIMEOUT_S
        users = range(args.users)
        await timed([client.fixed_user(streams[u], u, 5, far, warm) for u in users], PHASE_TIMEOUT_S)
        await timed([client.booking_user(streams[u], scripts[u].warmup, warm) for u in users], PHASE_TIMEOUT_S)
        await wait_outbox_drained(probe, OUTBOX_DRAIN_TIMEOUT_S)
        warm_checked = check_replies(peer, warm, webhook.expected_text(settings))
        if warm_checked.bad:
            raise RuntimeError(f"{database}: warm-up got {warm_checked.bad} bad replies: {warm_checked.note}")
        all_checked.add(warm_checked)
        print(f"  {database}: warm-up done ({len(warm)} messages, {len(warm_checked.completed)} bookings)", flush=True)

        # Fixed reply, in two halves around the booking phase (see `_fixed_half`).
        fixed_halves = [await _fixed_half(client, streams, args, server, pid, pg)]
        print(f"  {database}: fixed-reply phase, first half done ({len(fixed_halves[0][0].sent)} msgs)", flush=True)

        # Booking.
        booking = Phase()
        if profile:
            control.send("profile on")
            control.recv()
        peak, stop = [0], asyncio.Event()
        sampler = asyncio.create_task(webhook.sample_rss(pid, peak, stop))
        before = Snapshot.take(server, pg)
        booking.wall = await timed(
            [client.booking_user(streams[u], scripts[u].timed, booking.sent) for u in users], PHASE_TIMEOUT_S
        )
        end = Snapshot.take(server, pg)
        tail = await wait_outbox_drained(probe, OUTBOX_DRAIN_TIMEOUT_S)
        after = Snapshot.take(server, pg)
        stop.set()
        await sampler
        if profile:
            control.send("profile off")
            control.recv()
        checked = check_replies(peer, booking.sent, "")
        booking_row = make_row(database, "booking", booking, checked, before, end, after, peak[0], pg, tail)
        all_checked.add(checked)

        fixed_halves.append(await _fixed_half(client, streams, args, server, pid, pg))
        fixed = Phase([s for half, *_ in fixed_halves for s in half.sent], sum(half.wall for half, *_ in fixed_halves))
        (_, first_before, first_end, first_peak), (_, second_before, second_end, second_peak) = fixed_halves
        fixed_end = first_end.plus(second_end.minus(second_before))  # the two halves' CPU, not the time between
        checked = check_replies(peer, fixed.sent, webhook.expected_text(settings))
        rows.append(
            make_row(
                database, "fixed", fixed, checked, first_before, fixed_end, fixed_end, max(first_peak, second_peak), pg
            )
        )
        rows.append(booking_row)
        all_checked.add(checked)
        print(f"  {database}: fixed-reply phase, second half done ({len(fixed_halves[1][0].sent)} msgs)", flush=True)

        # Cool-down: finish the bookings the timed phase left open, so every planned booking is checked.
        cool: list[Sent] = []
        await timed([client.booking_user(streams[u], scripts[u].cooldown, cool) for u in users], PHASE_TIMEOUT_S)
        await wait_outbox_drained(probe, OUTBOX_DRAIN_TIMEOUT_S)
        all_checked.add(check_replies(peer, cool, ""))
        await verify_database(probe, plan, all_checked.completed, per_booking, verdict)
    finally:
        for _, writer in streams:
            writer.close()
        for _, writer in streams:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await probe.close()
    return rows, all_checked


async def _fixed_half(
    client: Client,
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    args: argparse.Namespace,
    server: psutil.Process,
    pid: int,
    pg: bool,
) -> tuple[Phase, Snapshot, Snapshot, int]:
    """Half of the fixed-reply phase (half its duration and messages): one half runs before the booking
    phase and one after it, so that a machine whose speed drifts (this one's hypervisor steals CPU in
    bursts) weighs on both sides of the booking/fixed ratio alike."""
    half = Phase()
    peak, stop = [0], asyncio.Event()
    sampler = asyncio.create_task(webhook.sample_rss(pid, peak, stop))
    before = Snapshot.take(server, pg)
    deadline = time.perf_counter() + args.fixed_duration / 2
    per_user = -(-args.fixed_messages // (2 * args.users))
    half.wall = await timed(
        [client.fixed_user(streams[u], u, per_user, deadline, half.sent) for u in range(args.users)],
        args.fixed_duration + 30,
    )
    end = Snapshot.take(server, pg)
    stop.set()
    await sampler
    return half, before, end, peak[0]


async def _create_pg_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run_database(database: str, args: argparse.Namespace, plan: list[list[Booking]]) -> DbResult:
    clerks = [f"o_clerk_{i}" for i in range(args.clerks)]
    openids = [b.openid for user in plan for b in user] + clerks
    per_booking = 2 if clerks else 1
    pg_name = f"bench_booking_{os.getpid()}_{secrets.token_hex(3)}"
    profile = f"{args.profile}.{database}.prof" if args.profile else None
    verdict = Verdict()
    with tempfile.TemporaryDirectory(prefix=f"bench-booking-{database}-") as tmp:
        workdir = Path(tmp)
        if database == "sqlite":
            url = f"sqlite://{workdir / 'bench.sqlite3'}"
        else:
            admin = urlsplit(args.pg_admin_url)
            url = admin._replace(path=f"/{pg_name}").geturl()
            asyncio.run(_create_pg_database(args.pg_admin_url, pg_name))
        try:
            emu, emu_conn, emu_port, _ = webhook.start_server("emulator", workdir, args, emulator_main, (openids,))
            try:
                api_base = f"http://127.0.0.1:{emu_port}"
                proc, conn, port, loop_name = webhook.start_server(
                    f"booking-{database}", workdir, args, server_main, (url, api_base, clerks, profile)
                )
                try:
                    rows, checked = asyncio.run(
                        bench_database(database, args, url, plan, proc.pid, port, conn, profile, per_booking, verdict)
                    )
                finally:
                    webhook.stop_server(proc)
                    conn.close()
            finally:
                webhook.stop_server(emu)
                stats = emu_conn.recv() if emu_conn.poll(5) else ("none", {})
                emu_conn.close()
            log_lines = sum(1 for _ in (workdir / "server.log").open(encoding="utf-8"))
        finally:
            if database == "postgres":
                asyncio.run(_drop_pg_database(args.pg_admin_url, pg_name))
    total = len(plan) * len(plan[0])
    timed_msgs = rows[1].msgs
    verdict.lines.insert(
        0,
        f"{'ok  ' if not checked.bad else 'FAIL'} replies HTTP 200, decrypted and with the step's expected words: "
        f"{checked.checked - checked.bad}/{checked.checked} (warm-up, fixed-reply and cool-down messages included)"
        + (f"; first problem: {checked.note}" if checked.note else ""),
    )
    verdict.ok = verdict.ok and not checked.bad
    verdict.check(
        len(checked.completed) == total and rows[1].bookings * len(STEPS) == timed_msgs,
        f"bookings whose last reply says 预约成功: {len(checked.completed)}/{total} "
        f"({rows[1].bookings} confirmed in the timed phase, the rest in warm-up and cool-down)",
    )
    templates = stats[1] if stats[0] == "stats" else {}
    sent = sum(templates.values())
    verdict.check(
        sent == len(checked.completed) * per_booking,
        f"WeChat emulator received {sent} template messages {dict(sorted(templates.items()))}",
    )
    print(f"  {database}: server wrote {log_lines} log lines; loop {loop_name}", flush=True)
    return DbResult(rows, verdict, profile, log_lines)


# --- report ------------------------------------------------------------------------------------------------


def print_report(results: dict[str, DbResult], args: argparse.Namespace) -> None:
    print()
    print(
        f"Booking benchmark: {args.users} concurrent users (closed loop, keep-alive, safe mode AES), each "
        f"sending {args.rounds} x {len(STEPS)} timed booking messages (a new WeChat user per booking; user u starts "
        f"at step u % {len(STEPS)}), after a warm-up booking each; fixed reply ({FIXED_WORD}) up to "
        f"{args.fixed_messages} messages or {args.fixed_duration:g} s, half before and half after the booking phase; "
        f"one server worker (serve's event loop, printed per database), outbox dispatcher on, "
        f"{args.clerks} clerks; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'database':<8} {'phase':<7} {'msgs':>6} {'bookings':>8} {'wall s':>7} {'book/s':>7} {'msg/s':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'peakRSS MiB':>11} {'srv CPU%':>8} {'loop CPU%':>9} "
        f"{'srv us/msg':>10} {'pg us/msg':>9} {'client CPU%':>11} {'steal%':>6} {'non-200':>7} {'checked':>9}"
    )
    print(header)
    print("-" * len(header))
    for result in results.values():
        for r in result.rows:
            pg = f"{r.pg_us_per_msg:>9.0f}" if r.pg_us_per_msg is not None else f"{'-':>9}"
            book = f"{r.booking_rate:>7.1f}" if r.phase == "booking" else f"{'-':>7}"
            bookings = r.bookings if r.phase == "booking" else "-"
            print(
                f"{r.database:<8} {r.phase:<7} {r.msgs:>6} {bookings:>8} {r.wall:>7.2f} {book} {r.msg_rate:>7.0f} "
                f"{r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.max_ms:>7.1f} {r.rss_mib:>11.1f} {r.server_cpu_pct:>8.0f} "
                f"{r.loop_cpu_pct:>9.0f} {r.server_us_per_msg:>10.0f} {pg} {r.client_cpu_pct:>11.0f} "
                f"{r.steal_pct:>6.0f} {r.non_200:>7} {f'{r.checked - r.bad}/{r.checked}':>9}"
            )
    print()
    print("Booking latency per step, p50 / p99 ms:")
    print(f"{'database':<8} " + " ".join(f"{f'{i + 1}.{s}':>15}" for i, s in enumerate(STEPS)))
    for database, result in results.items():
        steps = result.rows[1].step_ms
        print(f"{database:<8} " + " ".join(f"{f'{p50:.1f} / {p99:.1f}':>15}" for p50, p99 in steps))
    print()
    for database, result in results.items():
        fixed, booking = result.rows
        ratio = booking.server_us_per_msg / fixed.server_us_per_msg if fixed.server_us_per_msg else float("inf")
        verdict = "met" if ratio <= TARGET_COST_RATIO else "NOT met"
        line = (
            f"{database:<8} booking/fixed server CPU per message {booking.server_us_per_msg:6.0f} / "
            f"{fixed.server_us_per_msg:4.0f} us = {ratio:5.2f}x  target <= {TARGET_COST_RATIO:.0f}x: {verdict}"
        )
        if booking.pg_us_per_msg is not None and fixed.pg_us_per_msg is not None:
            both = (booking.server_us_per_msg + booking.pg_us_per_msg) / (fixed.server_us_per_msg + fixed.pg_us_per_msg)
            line += f"  (with postgres processes' CPU: {both:.2f}x)"
        print(line)
        print(
            f"{database:<8} server CPU per completed booking ({len(STEPS)} messages): "
            f"{booking.server_us_per_msg * len(STEPS) / 1000:.1f} ms"
        )
        verdict = "met" if booking.p99_ms < TARGET_P99_MS else "NOT met"
        print(
            f"{database:<8} booking p99 per message {booking.p99_ms:6.1f} ms  target < {TARGET_P99_MS:.0f} ms at "
            f"{args.users} concurrent users: {verdict}"
        )
    print(
        "srv CPU% / loop CPU%: all server threads / its event-loop thread over the phase (100% = one core); "
        "srv us/msg: all server CPU per message, for booking until the outbox was drained ("
        + ", ".join(f"{d} {r.rows[1].tail_s:.1f} s after the phase" for d, r in results.items())
        + "); pg us/msg: every postgres process on the machine; client CPU%: the load client's process_time; "
        "steal%: CPU the hypervisor gave to other machines meanwhile (100% = one core; a run with steal is not "
        "comparable); the WeChat emulator's CPU is counted nowhere."
    )
    print()
    print("Correctness:")
    for database, result in results.items():
        for line in result.verdict.lines:
            print(f"  {database:<8} {line}")


def print_profile(path: str, database: str, top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(path, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print()
    print(f"cProfile of the {database} server, timed booking phase only (event-loop thread), saved to {path}:")
    print(out.getvalue())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=64, help="concurrent users, one connection each (default 64)")
    p.add_argument("--rounds", type=int, default=10, help="timed bookings per user (default 10)")
    p.add_argument("--databases", default=",".join(DATABASES), help="comma-separated subset of sqlite,postgres")
    p.add_argument("--fixed-messages", type=int, default=50000, help="max fixed-reply messages (default 50000)")
    p.add_argument("--fixed-duration", type=float, default=10.0, help="max seconds of fixed replies (default 10)")
    p.add_argument("--clerks", type=int, default=3, help="clerks notified of each booking (default 3; 0 = none)")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL, help="where to create the throwaway database")
    p.add_argument("--log-level", default="INFO", help="the server's log level (production default INFO)")
    p.add_argument("--profile", metavar="PREFIX", help="cProfile the timed booking phase into PREFIX.<db>.prof")
    p.add_argument("--profile-top", type=int, default=30, help="functions to print from each profile")
    args = p.parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = [d for d in databases if d not in DATABASES]
    if unknown or not databases:
        p.error(f"unknown databases {unknown}; choose from {', '.join(DATABASES)}")
    if not 1 <= args.users <= 500 or not 1 <= args.rounds <= 1000 or not 0 < args.fixed_duration <= 120:
        p.error("need 1 <= users <= 500, 1 <= rounds <= 1000 and 0 < fixed-duration <= 120")
    if args.fixed_messages < args.users or not 0 <= args.clerks <= len(SURNAMES):
        p.error(f"need fixed-messages >= users and 0 <= clerks <= {len(SURNAMES)}")
    args.databases = databases
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * args.users + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * args.users + 1024), hard))
    plan = build_plan(args.users, args.rounds, Settings().tz)
    results: dict[str, DbResult] = {}
    for database in args.databases:
        print(f"running {database} ...", flush=True)
        results[database] = run_database(database, args, plan)
    print_report(results, args)
    for database, result in results.items():
        if result.profile:
            print_profile(result.profile, database, args.profile_top)
    return 0 if all(r.verdict.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
