"""Replies for staff accounts: binding, invitations, deactivation, ownership transfers, menus."""

REPLIES: dict[str, str] = {}
