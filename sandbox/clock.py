"""Timestamps as YooKassa writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, e.g. ``2024-05-01T10:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
