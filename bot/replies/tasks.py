"""Replies about tasks: assigning, my tasks, completing, revoking, statistics."""

REPLIES: dict[str, str] = {}
