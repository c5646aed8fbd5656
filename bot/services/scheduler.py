"""The scheduler: which reminder job runs when, in store-local time, once per pass of every worker."""

# Every worker runs the scheduler (a pass a minute). Correctness never depends on one worker: each rule is
# idempotent by its dedupe keys (reminders.py), so two workers, or a restart, queue each message once.
# What a worker remembers (the day it last ran a daily job) only saves it repeating work.
#
# Catch-up: a daily job runs at its local time, or at the first pass within its window after it, so a
# worker that was down at 18:00 still sends the evening reminders at 18:20, but not at 23:00:
#   - evening-before reminders   18:00, window 4 h (after 21:00 they are held till 08:00 by quiet hours);
#   - overdue tasks              09:00, window 3 h;
#   - follow-ups due, digest     08:30, window 4 h (a morning list is no use in the afternoon);
#   - maintenance, lost          10:00, window 10 h (not time-critical; any time of day the store is open).
# The 2-hour appointment reminder, "due soon" tasks and the managers' day-overdue alert look at a moving
# window on every pass, so they catch up by themselves (an alert a worker missed goes out on the next pass
# while the appointment has not started, the task is still due soon, or within a day of the alert).

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final

from bot.services import reminders
from bot.services.reminders import Context

log = logging.getLogger(__name__)

INTERVAL_S: Final = 60


async def _maintenance(ctx: Context) -> int:
    outcome = await reminders.maintenance(ctx)
    if outcome.lost or outcome.back:
        log.info(
            "maintenance pass: %d customers, %d newly lost, %d back", outcome.customers, outcome.lost, outcome.back
        )
    return outcome.due


@dataclass(frozen=True, slots=True)
class Job:
    """A rule and when it runs: at a local time of day within a catch-up window, or (at=None) every pass."""

    name: str
    run: Callable[[Context], Awaitable[int]]
    at: time | None = None
    window: timedelta = timedelta(0)

    def due(self, local: datetime, last_day: date | None) -> bool:
        """Whether a daily job should run at `local` (store time), having last run on `last_day`."""
        if self.at is None:
            return True
        start = datetime.combine(local.date(), self.at, tzinfo=local.tzinfo)
        return last_day != local.date() and start <= local <= start + self.window


JOBS: Final[tuple[Job, ...]] = (
    Job("appointments_soon", reminders.appointments_soon),
    Job("tasks_due_soon", reminders.tasks_due_soon),
    Job("tasks_day_overdue", reminders.tasks_day_overdue),
    Job("appointments_evening", reminders.appointments_evening, time(18, 0), timedelta(hours=4)),
    Job("tasks_overdue", reminders.tasks_overdue, time(9, 0), timedelta(hours=3)),
    Job("follow_ups_due", reminders.follow_ups_due, time(8, 30), timedelta(hours=4)),
    Job("daily_digest", reminders.daily_digest, time(8, 30), timedelta(hours=4)),
    Job("maintenance", _maintenance, time(10, 0), timedelta(hours=10)),
)

# Job runs by outcome ("ok" / "error") and messages or tasks queued, for /metrics (see `run_counts`).
_RUNS: Counter[tuple[str, str]] = Counter()
_QUEUED: Counter[str] = Counter()


def run_counts() -> dict[tuple[str, str], int]:
    """Scheduler job runs in this worker so far, by (job, outcome)."""
    return dict(_RUNS)


def queued_counts() -> dict[str, int]:
    """Messages and tasks queued by each job in this worker so far."""
    return dict(_QUEUED)


@dataclass
class Scheduler:
    """One worker's scheduler: call `run_once(now)` every minute."""

    ctx: Callable[[datetime], Context]
    jobs: tuple[Job, ...] = JOBS
    # Told of every job run as (job, outcome): `bot.metrics.scheduler_run` in the app.
    report: Callable[[str, str], None] | None = None
    last_day: dict[str, date] = field(default_factory=dict)

    async def run_once(self, now: datetime) -> dict[str, int]:
        """Run every job due at `now`; returns what each job that ran queued. A failing job is logged and
        retried on the next pass; the others still run."""
        ctx = self.ctx(now)
        local = ctx.local
        done: dict[str, int] = {}
        for job in self.jobs:
            if not job.due(local, self.last_day.get(job.name)):
                continue
            try:
                done[job.name] = await job.run(ctx)
            except Exception:
                log.exception("scheduler job %s failed", job.name)
                self._count(job.name, "error")
                continue
            self._count(job.name, "ok")
            _QUEUED[job.name] += done[job.name]
            if job.at is not None:
                self.last_day[job.name] = local.date()
        return done

    def _count(self, job: str, outcome: str) -> None:
        _RUNS[(job, outcome)] += 1
        if self.report is not None:
            self.report(job, outcome)
