"""Replies for staff working with customers: search, profile, new customer, edits, follow-ups."""

REPLIES: dict[str, str] = {}
