"""Replies for managers' reports."""

REPLIES: dict[str, str] = {}
