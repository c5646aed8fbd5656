"""`python -m bot staff ...`: add staff (the first manager), list them, issue fresh binding codes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from bot import db, replies
from bot.handlers.staff import ambiguous_text, invalid_text, role_name, staff_lines
from bot.models import StaffRole
from bot.services import staff
from bot.services.booking import format_when
from bot.settings import Settings

ROLES = {"manager": StaffRole.MANAGER, "clerk": StaffRole.CLERK}


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bot staff`."""
    p = argparse.ArgumentParser(prog="python -m bot staff", description="staff accounts and binding codes")
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a staff member and print a one-time binding code (valid 24 h)")
    add.add_argument("--role", choices=tuple(ROLES), required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--mobile", required=True)
    add.add_argument("--employee-no", default=None)
    sub.add_parser("list", help="every staff member: role, mobile, bound or not, customers owned")
    code = sub.add_parser("code", help="issue a fresh binding code (older unused codes stop working)")
    code.add_argument("who", help="name, employee number or mobile")
    return p


def main(argv: Sequence[str], settings: Settings, *, now: datetime | None = None) -> int:
    """Run one staff command against the configured database; returns the process exit code.

    `now` is for tests; otherwise the command line reads the clock here, at its edge."""
    args = parser().parse_args(argv)
    return asyncio.run(_main(args, settings, now or datetime.now(UTC)))


async def _main(args: argparse.Namespace, settings: Settings, now: datetime) -> int:
    await db.migrate(settings)
    await db.connect(settings)
    try:
        return await execute(args, now, settings.tz, sys.stdout)
    finally:
        await db.disconnect()


async def execute(args: argparse.Namespace, now: datetime, tz: tzinfo, out: TextIO) -> int:
    """Apply parsed `args` and print the result; a refused value prints why and returns 2."""
    if args.action == "list":
        lines = await staff.listing()
        if not lines:
            print(replies.render("staff.cli_list_empty"), file=out)
        else:
            print(replies.render("staff.list_header", count=len(lines)), file=out)
            print("\n".join(staff_lines(lines)), file=out)
        return 0
    try:
        if args.action == "add":
            issued = await staff.add(args.name, args.mobile, ROLES[args.role], now, employee_no=args.employee_no)
            member, code = issued.staff, issued.code
            added = replies.render(
                "staff.cli_added",
                role=role_name(member.role),
                name=member.name,
                mobile=member.mobile,
                employee_no=member.employee_no or replies.render("staff.no_employee_no"),
            )
            print(added, file=out)
        else:
            member = await staff.find(args.who, active_only=False)
            code = await staff.issue_code(member, now)
    except staff.StaffError as exc:
        print(replies.render("staff.cli_error", error=_why(exc)), file=out)
        return 2
    expires = format_when(code.expires_at, tz)
    print(replies.render("staff.cli_code", code=code.code, expires=expires, name=member.name), file=out)
    return 0


def _why(exc: staff.StaffError) -> str:
    if isinstance(exc, staff.InvalidStaff):
        return invalid_text(exc)
    if isinstance(exc, staff.MobileTaken):
        return replies.render("staff.mobile_taken", name=exc.staff.name, mobile=exc.staff.mobile)
    if isinstance(exc, staff.EmployeeNoTaken):
        return replies.render("staff.employee_no_taken", employee_no=exc.employee_no)
    if isinstance(exc, staff.Ambiguous):
        return ambiguous_text(exc)
    if isinstance(exc, staff.NotFound):
        return replies.render("staff.not_found", query=exc.query)
    return str(exc)
