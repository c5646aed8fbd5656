"""Dealership logic with no chat in it: what a CLI, a scheduler or a test calls directly."""
