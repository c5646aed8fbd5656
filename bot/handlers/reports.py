"""Reports for managers: 报表 [今天|本周|本月]."""

from __future__ import annotations

from bot import db, replies
from bot.handlers.commands import Command
from bot.handlers.tasks import paged, period_words, rate_words, read_period
from bot.handlers.turn import HandlerResult, Turn
from bot.services import reports
from bot.services.reports import PeriodKind
from bot.services.roles import MANAGERS


async def report(turn: Turn, arg: str, default: PeriodKind = PeriodKind.TODAY) -> HandlerResult:
    kind = read_period(arg, default)
    if kind is None:
        return HandlerResult("report", replies.render("reports.usage"))
    with db.offloaded():  # counts over the whole period: on SQLite's thread, so other messages go on
        r = await reports.build(kind, turn.now, turn.settings.tz)
    header = replies.render(
        "reports.summary",
        period=period_words(r.period),
        booked=r.booked,
        booked_self=r.booked_self,
        booked_by_clerks=r.booked_by_clerks,
        completed=r.completed,
        rate=rate_words(r.show_rate),
        showed=r.showed,
        due=r.due,
        no_shows=r.no_shows,
        follow_ups=r.follow_ups,
        reached=r.reached,
        tasks_done=r.tasks_done,
        tasks_overdue=r.tasks_overdue,
        lost=r.lost,
    )
    lines = [
        replies.render(
            "reports.line",
            name=line.name + ("" if line.active else replies.render("reports.inactive")),
            booked=line.booked,
            follow_ups=line.follow_ups,
            reached=line.reached,
            done=line.tasks_done,
            overdue=line.tasks_overdue,
        )
        for line in r.clerks
    ] or [replies.render("reports.no_staff")]
    return paged(header, lines, replies.render("reports.legend"), "report")


async def week_report(turn: Turn, arg: str) -> HandlerResult:
    return await report(turn, arg, PeriodKind.THIS_WEEK)


async def month_report(turn: Turn, arg: str) -> HandlerResult:
    return await report(turn, arg, PeriodKind.THIS_MONTH)


COMMANDS: tuple[Command, ...] = (
    Command("report", ("报表", "报告", "日报", "数据报表"), report, MANAGERS, "reports.help", arg=True),
    Command("week_report", ("周报",), week_report, MANAGERS),
    Command("month_report", ("月报",), month_report, MANAGERS),
)
