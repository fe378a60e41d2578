"""Durations as operators write them: `60s`, `20m`, `1h`, `30d` (CONTRACT §2a `billing plans set`).

A plan stores its durations in whole seconds; this is the one parser and formatter of the
human form, shared by the CLI, the admin and the tests.
"""

import re
from datetime import timedelta

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


class InvalidDuration(ValueError):
    """Text that is not a positive-or-zero whole number followed by s, m, h or d."""


def parse_seconds(text: str) -> int:
    """`"90s"` → 90, `"2h"` → 7200. A bare number is refused: the unit is never guessed."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidDuration(f"{text!r} is not a duration like 60s, 20m, 1h or 30d")
    return int(match.group(1)) * UNITS[match.group(2)]


def parse_duration(text: str) -> timedelta:
    return timedelta(seconds=parse_seconds(text))


def parse_schedule(text: str) -> tuple[int, ...]:
    """`"10s,20s"` → (10, 20); an empty text is an empty schedule (no retries)."""
    parts = [part for part in (p.strip() for p in text.split(",")) if part]
    return tuple(parse_seconds(part) for part in parts)


def format_seconds(seconds: int) -> str:
    """The largest unit that divides `seconds` exactly: 86400 → `1d`, 90 → `90s`."""
    if seconds < 0:
        raise InvalidDuration(f"negative duration {seconds}")
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
