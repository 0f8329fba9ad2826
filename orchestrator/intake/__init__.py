"""Intake: how work arrives from a forge beyond the first trigger (issue changes, pollers)."""
