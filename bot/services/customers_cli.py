"""`python -m bot customers import FILE | export FILE.xlsx`: bring existing customer records in and out."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final, NoReturn, TextIO
from zoneinfo import ZoneInfo

from tqdm import tqdm

from bot import db
from bot.models import Customer
from bot.services import importer
from bot.services.importer import ImportSummary, Outcome, UnusableFile
from bot.settings import Settings

# Without a terminal (a log file, cron) a progress line every this many rows instead of a bar.
PROGRESS_EVERY: Final = 10_000


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bot customers`."""
    p = argparse.ArgumentParser(prog="python -m bot customers", description="import or export customer records")
    sub = p.add_subparsers(dest="action", required=True)
    imp = sub.add_parser(
        "import",
        help="import customers from .xlsx or .csv (姓名, 手机, 车牌, 车型, VIN, 购车日期, 里程, 负责顾问)",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--on-duplicate",
        choices=("skip", "update"),
        default="skip",
        help="a row whose mobile or plate is already registered: leave the record (skip, default) or "
        "overwrite the fields the file gives (update)",
    )
    imp.add_argument(
        "--rejects",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="rejected rows report (default: <file>.rejects.csv)",
    )
    exp = sub.add_parser("export", help="export every customer to .xlsx, one row per vehicle (re-imports as is)")
    exp.add_argument("file", type=Path)
    return p


def main(argv: Sequence[str], settings: Settings) -> int:
    """Run one import or export against the configured database; returns the process exit code."""
    return asyncio.run(_main(parser().parse_args(argv), settings))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    # Migrations first, so an import works on a fresh machine with an empty database.
    await db.migrate(settings)
    await db.connect(settings)
    try:
        # The command line is the edge of the system: the one place that reads the clock.
        return await execute(args, datetime.now(UTC), settings.tz, sys.stdout, sys.stderr)
    finally:
        await db.disconnect()


async def execute(args: argparse.Namespace, now: datetime, tz: ZoneInfo, out: TextIO, err: TextIO) -> int:
    """Run parsed `args`: 0 when done (rows may have been rejected), 2 when the input is unusable."""
    if args.action == "export":
        return await _export(args.file, out, err)
    return await _import(args.file, args.on_duplicate == "update", args.rejects, now, tz, out, err)


def rejects_path_for(source: Path) -> Path:
    """The default rejects report, next to the input: customers.xlsx -> customers.rejects.csv."""
    return source.with_name(f"{source.stem}.rejects.csv")


async def _import(
    source: Path, update: bool, rejects: Path | None, now: datetime, tz: ZoneInfo, out: TextIO, err: TextIO
) -> int:
    report = rejects or rejects_path_for(source)
    started = time.monotonic()
    try:
        with importer.open_table(source) as table:
            # Checked before the report is opened: an unusable file leaves nothing behind.
            importer.map_header(table.header)
            with report.open("w", encoding="utf-8-sig", newline="") as sink, _Progress(table.total, err) as progress:
                summary = await importer.import_table(
                    table, update=update, now=now, tz=tz, rejects=sink, progress=progress
                )
    except UnusableFile as exc:
        print(f"无法导入：{exc}", file=err)
        return 2
    elapsed = time.monotonic() - started
    rejected = summary.count(Outcome.REJECTED)
    if not rejected:
        # The report exists only when this run rejected something: a stale one would mislead.
        report.unlink(missing_ok=True)
    _print_summary(source, report, update, summary, elapsed, out)
    return 0


def _print_summary(
    source: Path, report: Path, update: bool, summary: ImportSummary, elapsed: float, out: TextIO
) -> None:
    n = summary.count
    print(f"导入 {source.name}：共 {summary.rows} 行数据", file=out)
    if summary.ignored_columns:
        print(f"未使用的列：{'、'.join(summary.ignored_columns)}", file=out)
    skipped = f"；跳过 {n(Outcome.SKIPPED)} 行（客户已存在且内容不同，加 --on-duplicate update 可更新）"
    print(
        f"新建 {n(Outcome.CREATED)} 行（新客户 {summary.customers_created} 位，新车辆 {summary.vehicles_created} 辆）；"
        f"更新 {n(Outcome.UPDATED)} 行；无变化 {n(Outcome.UNCHANGED)} 行"
        f"{skipped if n(Outcome.SKIPPED) else ''}；拒绝 {n(Outcome.REJECTED)} 行",
        file=out,
    )
    rate = summary.rows / elapsed if elapsed > 0 else 0.0
    print(f"用时 {elapsed:.1f} 秒，每秒 {rate:,.0f} 行", file=out)
    rejected = n(Outcome.REJECTED)
    if not rejected:
        print("全部完成，没有被拒绝的行。", file=out)
        return
    kinds = "，".join(f"{kind} {count} 行" for kind, count in summary.reject_kinds.most_common())
    print(f"拒绝原因：{kinds}", file=out)
    for reject in summary.first_rejects:
        print(f"  第 {reject.row} 行：{reject.reason}", file=out)
    if rejected > len(summary.first_rejects):
        print(f"  ……另有 {rejected - len(summary.first_rejects)} 行", file=out)
    print(f"被拒绝的行（含原因和原始内容）已写入 {report}，改好后可再次导入该文件。", file=out)
    print(f"完成：{rejected} 行被拒绝、未导入，其余行已处理。", file=out)


async def _export(target: Path, out: TextIO, err: TextIO) -> int:
    if target.suffix.lower() != ".xlsx":
        print(f"无法导出：文件名须以 .xlsx 结尾，不是 {target.name}", file=err)
        return 2
    if not target.parent.is_dir():
        print(f"无法导出：目录不存在：{target.parent}", file=err)
        return 2
    started = time.monotonic()
    customers = await Customer.all().count()
    with _Progress(customers, err, unit="位客户") as progress:
        rows = await importer.export_customers(target, progress)
    elapsed = time.monotonic() - started
    print(f"已导出 {customers} 位客户、{rows} 行到 {target}，用时 {elapsed:.1f} 秒", file=out)
    return 0


class _Progress:
    """A tqdm bar on a terminal; otherwise a plain line every PROGRESS_EVERY rows (logs stay readable)."""

    def __init__(self, total: int | None, err: TextIO, unit: str = "行") -> None:
        self._total = total
        self._err = err
        self._unit = unit
        self._done = 0
        self._reported = 0
        self._started = time.monotonic()
        self._bar: tqdm[NoReturn] | None = (
            tqdm(total=total, file=err, unit=unit, unit_scale=True, dynamic_ncols=True) if err.isatty() else None
        )

    def __call__(self, count: int) -> None:
        self._done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._done - self._reported >= PROGRESS_EVERY:
            self._reported = self._done
            of = f"/{self._total}" if self._total else ""
            rate = self._done / max(time.monotonic() - self._started, 1e-9)
            print(f"已处理 {self._done}{of} {self._unit}（每秒 {rate:,.0f}）", file=self._err, flush=True)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
