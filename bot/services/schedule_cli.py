"""`python -m bot schedule ...`: show and edit the service menu, opening hours, closed days and capacity."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TextIO

from bot import db
from bot.models import OpeningHours, ServiceKind, StoreSchedule
from bot.services import schedule
from bot.settings import Settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = "一二三四五六日"


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bot schedule`."""
    p = argparse.ArgumentParser(prog="python -m bot schedule", description="store schedule and service menu")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("show", help="print the rules, hours, closed days and services")
    hours = sub.add_parser("hours", help="set a weekday's hours: hours sat 09:00-17:00 | hours sun closed")
    hours.add_argument("day", choices=(*WEEKDAYS, "all"))
    hours.add_argument("span", help="HH:MM-HH:MM, or 'closed'")
    close = sub.add_parser("close", help="close the store on a date: close 2026-12-01 盘点")
    close.add_argument("day", type=date.fromisoformat)
    close.add_argument("reason", nargs="*")
    reopen = sub.add_parser("open", help="reopen a closed date")
    reopen.add_argument("day", type=date.fromisoformat)
    capacity = sub.add_parser("capacity", help="bays per slot, and the percent bookable online")
    capacity.add_argument("per_slot", type=int)
    capacity.add_argument("--online-share", type=int, default=None, metavar="PERCENT")
    rules = sub.add_parser("rules", help="slot length, minimum lead, horizon, change cut-off")
    rules.add_argument("--slot", type=int, default=None, metavar="MINUTES")
    rules.add_argument("--lead", type=int, default=None, metavar="MINUTES")
    rules.add_argument("--horizon", type=int, default=None, metavar="DAYS")
    rules.add_argument("--cutoff", type=int, default=None, metavar="MINUTES")
    service = sub.add_parser("service", help="edit a service: service tyres --duration 45 --off")
    service.add_argument("code")
    service.add_argument("--name", default=None)
    service.add_argument("--duration", type=int, default=None, metavar="MINUTES")
    service.add_argument("--order", type=int, default=None)
    active = service.add_mutually_exclusive_group()
    active.add_argument("--on", dest="active", action="store_const", const=True, default=None)
    active.add_argument("--off", dest="active", action="store_const", const=False)
    online = service.add_mutually_exclusive_group()
    online.add_argument("--online", dest="online", action="store_const", const=True, default=None)
    online.add_argument("--clerk-only", dest="online", action="store_const", const=False)
    return p


def main(argv: Sequence[str], settings: Settings) -> int:
    """Run one schedule command against the configured database; returns the process exit code."""
    return asyncio.run(_main(parser().parse_args(argv), settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    await db.connect(settings)
    try:
        await schedule.ensure_defaults(settings.timezone)
        # The command line is the edge of the system: the one place that reads the clock.
        return await execute(args, datetime.now(UTC), sys.stdout)
    finally:
        await db.disconnect()


async def execute(args: argparse.Namespace, now: datetime, out: TextIO) -> int:
    """Apply parsed `args`, then print the schedule; a refused value prints why and returns 2."""
    try:
        await _apply(args, now, out)
    except ValueError as exc:
        print(f"error: {exc}", file=out)
        return 2
    await show(now, out)
    return 0


async def _apply(args: argparse.Namespace, now: datetime, out: TextIO) -> None:
    if args.action == "hours":
        days = range(7) if args.day == "all" else [WEEKDAYS.index(args.day)]
        for weekday in days:
            if args.span == "closed":
                current = await OpeningHours.get(weekday=weekday)
                opens, closes = _clock(current.opens_minute), _clock(current.closes_minute)
                await schedule.set_opening_hours(weekday, opens, closes, closed=True, now=now)
            else:
                opens, closes = _span(args.span)
                await schedule.set_opening_hours(weekday, opens, closes, now=now)
    elif args.action == "close":
        await schedule.add_closed_day(args.day, " ".join(args.reason))
        booked = await schedule.active_appointments_on(args.day)
        if booked:
            print(f"注意：{args.day} 已有 {booked} 个预约，请联系客户改约。", file=out)
    elif args.action == "open":
        if not await schedule.remove_closed_day(args.day):
            print(f"{args.day} 本来就不是休息日。", file=out)
    elif args.action == "capacity":
        await schedule.set_rules(now, capacity_per_slot=args.per_slot, online_share=args.online_share)
    elif args.action == "rules":
        await schedule.set_rules(
            now,
            slot_minutes=args.slot,
            min_lead_minutes=args.lead,
            horizon_days=args.horizon,
            change_cutoff_minutes=args.cutoff,
        )
    elif args.action == "service":
        await schedule.set_service(
            args.code,
            name=args.name,
            duration_minutes=args.duration,
            active=args.active,
            bookable_online=args.online,
            sort_order=args.order,
        )


async def show(now: datetime, out: TextIO) -> None:
    """Print the rules, the weekly hours, closed days from today and the service menu."""
    row = await StoreSchedule.get(id=schedule.SCHEDULE_ID)
    cal = await schedule.load_calendar()
    online = schedule.online_capacity(row.capacity_per_slot, row.online_share)
    print(
        f"时区 {row.timezone}；每格 {row.slot_minutes} 分钟；每格 {row.capacity_per_slot} 个工位，"
        f"线上可约 {online} 个（{row.online_share}%）；至少提前 {schedule.lead_text(row.min_lead_minutes)}；"
        f"可约 {row.horizon_days} 天内；开始前 {row.change_cutoff_minutes} 分钟内不可改约或取消",
        file=out,
    )
    print("营业时间：", file=out)
    for hours in await OpeningHours.all().order_by("weekday"):
        span = f"{_clock(hours.opens_minute):%H:%M}-{_end(hours.closes_minute)}"
        print(f"  周{WEEKDAY_NAMES[hours.weekday]} {'休息' if hours.closed else span}", file=out)
    closed = await schedule.closed_days(cal.day_of(now))
    print("休息日：" + ("" if closed else "无"), file=out)
    for day in closed:
        print(f"  {day.day} {day.reason}".rstrip(), file=out)
    print("服务项目：", file=out)
    for kind in await ServiceKind.all().order_by("sort_order", "code"):
        flags = [] if kind.active else ["停用"]
        flags += [] if kind.bookable_online else ["仅门店预约"]
        extra = f"（{'，'.join(flags)}）" if flags else ""
        print(f"  {kind.code:<18} {kind.name} {kind.duration_minutes} 分钟{extra}", file=out)


def _span(text: str) -> tuple[time, time]:
    try:
        opens, closes = text.split("-")
        return time.fromisoformat(opens.strip().zfill(5)), _closing(closes.strip())
    except ValueError as exc:
        raise ValueError(f"hours must look like 08:30-18:00, not {text!r}") from exc


def _closing(text: str) -> time:
    # "24:00" is how people write midnight at the end of the day; the schedule reads 00:00 that way.
    return time(0) if text == "24:00" else time.fromisoformat(text.zfill(5))


def _clock(minute: int) -> time:
    return time(minute // 60 % 24, minute % 60)


def _end(minute: int) -> str:
    return "24:00" if minute == 24 * 60 else f"{_clock(minute):%H:%M}"
