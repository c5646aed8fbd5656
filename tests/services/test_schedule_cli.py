"""The schedule command line: each edit lands in the schedule and the result is printed."""

from __future__ import annotations

import io
from datetime import date

import pytest

from bot.models import OpeningHours, ServiceKind, StoreSchedule
from bot.services import schedule
from bot.services.schedule_cli import execute, parser
from tests.services.conftest import NOW, Person, at, book


async def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await execute(parser().parse_args(argv), NOW, out)
    return code, out.getvalue()


async def test_show_prints_the_defaults(store: None) -> None:
    code, text = await run("show")
    assert code == 0
    assert "每格 30 分钟；每格 4 个工位，线上可约 3 个（75%）；至少提前 1小时；可约 30 天内" in text
    assert "  周一 08:30-18:00" in text and "  周日 08:30-18:00" in text
    assert "休息日：无" in text
    assert "  maintenance        保养 60 分钟" in text


async def test_hours_for_one_day_all_days_and_closing_a_weekday(store: None) -> None:
    await run("hours", "all", "09:00-17:30")
    await run("hours", "sat", "9:00-24:00")
    code, text = await run("hours", "sun", "closed")
    assert code == 0 and "  周六 09:00-24:00" in text and "  周日 休息" in text and "  周一 09:00-17:30" in text
    sunday = await OpeningHours.get(weekday=6)
    assert (sunday.opens_minute, sunday.closes_minute, sunday.closed) == (540, 1050, True)
    assert (await schedule.check("maintenance", at("11-29 10:00"), NOW)).reason == "closed_day"


async def test_bad_hours_are_refused_with_a_reason(store: None) -> None:
    assert await run("hours", "mon", "nine to five") == (
        2,
        "error: hours must look like 08:30-18:00, not 'nine to five'\n",
    )
    code, text = await run("hours", "mon", "18:00-09:00")
    assert code == 2 and "open before it closes" in text


async def test_closing_a_day_with_appointments_warns(person: Person) -> None:
    await book(person, "maintenance", at("12-01 10:00"))
    code, text = await run("close", "2026-12-01", "年终", "盘点")
    assert code == 0 and "注意：2026-12-01 已有 1 个预约" in text and "  2026-12-01 年终 盘点" in text
    code, text = await run("open", "2026-12-01")
    assert "休息日：无" in text
    code, text = await run("open", "2026-12-01")
    assert "本来就不是休息日" in text
    assert await schedule.closed_days(date(2026, 1, 1)) == []


async def test_capacity_rules_and_services(store: None) -> None:
    await run("capacity", "6", "--online-share", "50")
    await run("rules", "--lead", "120", "--horizon", "14", "--cutoff", "60")
    row = await StoreSchedule.get(id=1)
    assert (row.capacity_per_slot, row.online_share, row.min_lead_minutes, row.horizon_days) == (6, 50, 120, 14)
    assert row.change_cutoff_minutes == 60
    code, text = await run("service", "bodywork", "--duration", "180", "--clerk-only")
    assert code == 0
    assert "  bodywork           钣喷 180 分钟（仅门店预约）" in text
    await run("service", "test_drive", "--off", "--name", "新车试驾")
    kind = await ServiceKind.get(code="test_drive")
    assert (kind.active, kind.name) == (False, "新车试驾")
    assert await run("service", "spa") == (2, "error: unknown service 'spa'\n")


def test_unknown_weekday_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["hours", "someday", "closed"])
