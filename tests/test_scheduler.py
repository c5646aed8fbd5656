"""The scheduler: daily jobs at store-local times with catch-up windows; concurrent passes send once."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import metrics
from bot.app import run_scheduler
from bot.models import OutboxMessage, Vehicle
from bot.services import booking, scheduler
from bot.services.reminders import Context
from bot.services.scheduler import Job, Scheduler
from bot.settings import Settings
from tests.conftest import Clock
from tests.personas import People
from tests.wechat_helper import eventually

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def worker(settings: Settings) -> Scheduler:
    """A scheduler as another worker process would have it: its own memory of what ran today."""
    return Scheduler(lambda now: Context(now, settings.tz, settings.quiet_start, settings.quiet_end))


def test_a_daily_job_runs_once_a_day_within_its_window() -> None:
    evening = Job("evening", scheduler.JOBS[0].run, time(18, 0), timedelta(hours=4))
    assert not evening.due(at(28, 17, 59), None)
    assert evening.due(at(28, 18, 0), None)
    assert evening.due(at(28, 21, 59), None)  # caught up after downtime
    assert not evening.due(at(28, 22, 1), None)  # too late to be useful: skipped
    assert not evening.due(at(28, 18, 20), at(28, 0).date())  # already ran today
    assert evening.due(at(29, 18, 0), at(28, 0).date())
    every_pass = Job("soon", scheduler.JOBS[0].run)
    assert every_pass.due(at(28, 3), at(28, 0).date())


async def test_two_workers_passing_at_once_send_each_reminder_once(
    people: People, clock: Clock, client: Any, settings: Settings
) -> None:
    customers = [
        await people.customer(f"客户{n}", f"1380000{n:04d}", f"粤A{n:05d}", openid=f"o_c{n}") for n in range(1, 6)
    ]
    users = [people.wechat.user(c.openid or "") for c in customers]
    for n, customer in enumerate(customers):
        vehicle = await Vehicle.get(customer_id=customer.id)
        await booking.create(customer, vehicle, "maintenance", at(29, 9 + n), clock.now)
    clock.now = at(28, 18, 1)
    first, second = worker(settings), worker(settings)
    await asyncio.gather(first.run_once(clock.now), second.run_once(clock.now), first.run_once(clock.now))
    assert await OutboxMessage.filter(purpose="appointment_reminder").count() == 5
    await eventually(lambda: all(len(u.inbox()) == 2 for u in users))  # the confirmation and one reminder
    await asyncio.sleep(0.2)
    assert all(len(u.inbox()) == 2 for u in users)


async def test_a_failing_job_is_counted_and_retried_while_the_others_run(clock: Clock, settings: Settings) -> None:
    calls: list[str] = []

    async def broken(ctx: Context) -> int:
        calls.append("broken")
        raise RuntimeError("database went away")

    async def fine(ctx: Context) -> int:
        calls.append("fine")
        return 1

    jobs = (Job("broken", broken, time(9), timedelta(hours=3)), Job("fine", fine, time(9), timedelta(hours=3)))
    before = scheduler.run_counts()
    one = Scheduler(worker(settings).ctx, jobs)
    assert await one.run_once(at(28, 10)) == {"fine": 1}
    assert await one.run_once(at(28, 10, 1)) == {}  # "fine" ran today; "broken" is retried
    assert calls == ["broken", "fine", "broken"]
    after = scheduler.run_counts()
    assert after.get(("broken", "error"), 0) - before.get(("broken", "error"), 0) == 2
    assert after.get(("fine", "ok"), 0) - before.get(("fine", "ok"), 0) == 1


async def test_scheduler_runs_show_in_the_metrics(clock: Clock, client: Any) -> None:
    clock.now = at(29, 9, 5)
    await run_scheduler(client.app)
    assert 'fourdesk_scheduler_runs_total{job="tasks_overdue",outcome="ok"}' in metrics.render(None)
