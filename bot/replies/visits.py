"""Replies for staff working with appointments: day lists, 代客预约, check-in, completion, no-shows."""

REPLIES: dict[str, str] = {}
