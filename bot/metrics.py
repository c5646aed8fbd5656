"""Prometheus metrics in the text exposition format: counters kept in memory per worker, `GET /metrics`.

Counting is a dict increment, so the webhook and the dispatcher count on their hot paths. Counters are
per worker process (as with any Prometheus client without a shared store): scrape each worker, or sum
them. The outbox depth is read from the database on each scrape, so it is the same in every worker.
No dependency: the format is a few lines of text (prometheus-client is not among our packages).
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from typing import Final

from aiohttp import web

from bot.services import outbox

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
# Seconds. The passive reply budget is ~4 s and WeChat gives up at 5 s: the top buckets show trouble.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0)

_messages: Counter[tuple[str, str]] = Counter()
_sends: Counter[tuple[str, str]] = Counter()
_scheduler: Counter[tuple[str, str]] = Counter()
_latency_counts: list[int] = [0] * (len(LATENCY_BUCKETS) + 1)
_latency_sum: list[float] = [0.0]


def message_handled(msg_type: str, outcome: str, seconds: float) -> None:
    """One inbound message or event (`text`, `event.click`, ...) answered with `outcome` in `seconds`."""
    _messages[(msg_type, outcome)] += 1
    _latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
    _latency_sum[0] += seconds


def send_result(result: str, code: int | None = None) -> None:
    """One outbox send: `result` is sent, text_fallback, retry, failed or undeliverable; `code` WeChat's errcode."""
    _sends[(result, "0" if code is None else str(code))] += 1


def scheduler_run(job: str, outcome: str) -> None:
    """One pass of a scheduler job (`appointment_reminders`, ...) that ended with `outcome` (ok, error)."""
    _scheduler[(job, outcome)] += 1


def reset() -> None:
    """Zero every counter (tests)."""
    for counter in (_messages, _sends, _scheduler):
        counter.clear()
    _latency_counts[:] = [0] * len(_latency_counts)
    _latency_sum[0] = 0.0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items()) + "}"


def _counter(
    lines: list[str], name: str, help_text: str, counts: Counter[tuple[str, str]], keys: tuple[str, str]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
    for (a, b), n in sorted(counts.items()):
        lines.append(f"{name}{_labels(**{keys[0]: a, keys[1]: b})} {n}")


def render(depth: dict[str, int] | None) -> str:
    """Every metric as Prometheus text; `depth` is the outbox by status (None: the database did not answer)."""
    lines: list[str] = []
    _counter(
        lines,
        "fourdesk_messages_total",
        "Inbound messages and events by type and outcome.",
        _messages,
        ("type", "outcome"),
    )
    name = "fourdesk_reply_latency_seconds"
    lines += [f"# HELP {name} Time from receiving a message to answering WeChat.", f"# TYPE {name} histogram"]
    cumulative = 0
    for bound, n in zip(LATENCY_BUCKETS, _latency_counts, strict=False):
        cumulative += n
        lines.append(f'{name}_bucket{{le="{bound}"}} {cumulative}')
    cumulative += _latency_counts[-1]
    lines += [
        f'{name}_bucket{{le="+Inf"}} {cumulative}',
        f"{name}_sum {_latency_sum[0]:.6f}",
        f"{name}_count {cumulative}",
    ]
    _counter(
        lines, "fourdesk_outbox_sends_total", "Outbox sends by result and WeChat errcode.", _sends, ("result", "code")
    )
    _counter(
        lines,
        "fourdesk_scheduler_runs_total",
        "Scheduler job passes by job and outcome.",
        _scheduler,
        ("job", "outcome"),
    )
    name = "fourdesk_outbox_depth"
    lines += [f"# HELP {name} Outbox rows waiting or given up, by status.", f"# TYPE {name} gauge"]
    for status, n in sorted((depth or {}).items()):
        lines.append(f"{name}{_labels(status=status)} {n}")
    name = "fourdesk_outbox_depth_up"
    lines += [f"# HELP {name} 1 if the outbox depth could be read from the database.", f"# TYPE {name} gauge"]
    lines.append(f"{name} {0 if depth is None else 1}")
    return "\n".join(lines) + "\n"


async def handle(request: web.Request) -> web.Response:
    """`GET /metrics`: the text exposition format Prometheus scrapes."""
    try:
        depth: dict[str, int] | None = await outbox.depth()
    except Exception:
        log.exception("metrics: could not read the outbox depth")
        depth = None
    return web.Response(body=render(depth).encode(), headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application) -> None:
    """Add `GET /metrics` to the service."""
    app.router.add_get("/metrics", handle)
