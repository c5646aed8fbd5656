"""Tasks: work for one staff member with an optional deadline and customer, and its notification."""

# A task and its "new task" template message are written in the caller's transaction, so the assignee is
# told exactly when the task exists. Tasks the system creates (a no-show to call back, a car due for
# service) carry a `dedupe_key`, so a sweep that runs twice, or in two workers, creates each task once.

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.models import Customer, Staff, Task, TaskKind
from bot.services import notify, outbox
from bot.services.outbox import insert_unless_taken


async def create(
    title: str,
    assignee: Staff,
    now: datetime,
    *,
    tz: ZoneInfo,
    due_at: datetime | None = None,
    created_by: Staff | None = None,
    customer: Customer | None = None,
    appointment_id: int | None = None,
    kind: TaskKind = TaskKind.MANUAL,
    dedupe_key: str | None = None,
) -> Task | None:
    """Create a task and queue the "new task" template to the assignee (when they have bound WeChat).

    Returns None when `dedupe_key` is already taken (the task exists): nothing is written or sent again.
    """
    task = Task(
        title=" ".join(title.split())[:200],
        kind=kind,
        assignee_id=assignee.id,
        created_by_id=created_by.id if created_by else None,
        customer_id=customer.id if customer else None,
        appointment_id=appointment_id,
        due_at=due_at.astimezone(UTC) if due_at else None,
        dedupe_key=dedupe_key,
        created_at=now.astimezone(UTC),
    )
    if dedupe_key is None:
        await task.save()
    elif not await insert_unless_taken(task, "dedupe_key"):
        return None
    if assignee.openid and assignee.active:
        values = {
            "task": task.title,
            "due": notify.template_time(due_at, tz) if due_at else "无截止时间",
            "customer": customer.name if customer and customer.name else "-",
            "assigner": created_by.name if created_by else "系统",
        }
        template_id, data = notify.render("task_assigned", values)
        await outbox.enqueue_template(assignee.openid, template_id, data, now=now, dedupe_key=f"task:{task.id}:new")
    return task
