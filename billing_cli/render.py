"""How the CLI prints what it lists: a rich table for people, `--json` for scripts.

Tables never shorten an id (an operator copies it into the next command); long free text
(errors, payloads) is cut in tables only, never in `--json` or `dlq show`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

ID_COLUMNS = frozenset({"id", "message_id", "payment_id", "refund_id", "group", "topic"})


def to_json(rows: Sequence[Any] | Any) -> str:
    """Dataclass rows (or one row) as JSON: UUIDs, datetimes and Decimals as strings."""
    if isinstance(rows, Sequence):
        plain: Any = [dataclasses.asdict(row) for row in rows]
    else:
        plain = dataclasses.asdict(rows)
    return json.dumps(plain, default=str, ensure_ascii=False, indent=2)


def table(*columns: str) -> Table:
    grid = Table()
    for name in columns:
        if name in ID_COLUMNS:
            grid.add_column(name, no_wrap=True, overflow="fold", min_width=8)
        else:
            grid.add_column(name, overflow="fold")
    return grid


def wide_console() -> Console:
    """Wide enough for four UUIDs side by side even when stdout is not a terminal."""
    return Console(width=240) if not Console().is_terminal else Console()
