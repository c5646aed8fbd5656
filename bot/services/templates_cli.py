"""`python -m bot templates check`: every message kind, its configured template and an example as WeChat gets it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.services import notify
from bot.settings import Settings, SettingsError

UNCONFIGURED = "未配置 → 客服消息/无法送达"


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m bot templates`."""
    p = argparse.ArgumentParser(prog="python -m bot templates", description="template message kinds")
    sub = p.add_subparsers(dest="action")
    sub.add_parser("check", help="list the kinds, their template ids and a rendered example (default)")
    return p


def main(argv: Sequence[str], settings: Settings) -> int:
    """Check the template configuration in `settings`; returns the process exit code."""
    parser().parse_args(argv)
    return execute(settings, sys.stdout)


def execute(settings: Settings, out: TextIO) -> int:
    """Print every kind with its template id (or the fallback) and example values as rendered; a broken
    configuration prints why and returns 2."""
    try:
        notify.configure(settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=out)
        return 2
    mode = "沙箱（未配置的类型用沙箱模板）" if settings.sandbox else "正式"
    print(f"模板消息配置（{mode}模式，BOT_TEMPLATE_<类型>=模板id|字段=值名,...）", file=out)
    for kind in notify.TEMPLATES:
        spec = notify.spec_for(kind)
        if spec is None:
            print(f"\n{kind}  {UNCONFIGURED}", file=out)
            print(f"  客服消息：{notify.fallback_text(kind, notify.EXAMPLE_VALUES)}", file=out)
            continue
        print(f"\n{kind}  {spec.template_id}", file=out)
        _, data = notify.render(kind, notify.EXAMPLE_VALUES)
        width = max(len(key) for key in data)
        for key, value in data.items():
            print(f"  {key:<{width}}  {value}  ({spec.fields[key]})", file=out)
    return 0
