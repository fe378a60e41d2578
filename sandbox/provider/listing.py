"""YooKassa's list calls: ``GET /v3/payments`` and ``GET /v3/refunds`` with filters and cursor.

Lists are newest first (YooKassa: "sorted by created_at descending"), at most ``limit``
(1..100, default 10) per page; ``next_cursor`` is present only when more items follow. The
cursor is opaque to clients; here it names the SQLite ``rowid`` the next page starts below,
which orders like ``created_at`` because rows are only ever appended. Filtering by metadata is
not a YooKassa list feature (only payouts have a metadata search), so a ``metadata`` parameter
is refused like every other unknown one: a client must filter the pages itself.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.provider.errors import InvalidRequest
from sandbox.sqlite import Connection, Row

DEFAULT_LIMIT, MAX_LIMIT = 10, 100
COMPARISONS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
PAYMENT_STATUSES = frozenset({"pending", "waiting_for_capture", "succeeded", "canceled"})
REFUND_STATUSES = frozenset({"pending", "succeeded", "canceled"})


@dataclass
class ListQuery:
    table: str
    where: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT

    def sql(self) -> tuple[str, list[Any]]:
        where = " AND ".join(self.where) or "1"
        sql = f"SELECT rowid AS seq, * FROM {self.table} WHERE {where} ORDER BY rowid DESC LIMIT ?"
        return sql, [*self.args, self.limit + 1]


def payments_query(params: Sequence[tuple[str, str]]) -> ListQuery:
    query = ListQuery("payments")
    for name, value in _unique(params):
        if not _common(query, name, value, ("created_at", "captured_at")):
            _payment_filter(query, name, value)
    return query


def refunds_query(params: Sequence[tuple[str, str]]) -> ListQuery:
    query = ListQuery("refunds")
    for name, value in _unique(params):
        if _common(query, name, value, ("created_at",)):
            continue
        if name == "payment_id":
            query.where.append("payment_id = ?")
            query.args.append(value)
        elif name == "status":
            _status(query, value, REFUND_STATUSES)
        else:
            raise InvalidRequest(f"Unsupported list parameter {name}", parameter=name)
    return query


async def page(conn: Connection, query: ListQuery) -> tuple[list[Row], str | None]:
    """One page of rows and the cursor of the next page (``None`` on the last one)."""
    sql, args = query.sql()
    rows = list(await (await conn.execute(sql, args)).fetchall())
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[: query.limit]
    return rows, _encode(rows[-1]["seq"])


def list_object(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "list", "items": items}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return body


def _unique(params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    for name, _ in params:
        if name in seen:
            raise InvalidRequest(f"Parameter {name} is given more than once", parameter=name)
        seen.add(name)
    return list(params)


def _common(query: ListQuery, name: str, value: str, times: tuple[str, ...]) -> bool:
    """``limit``, ``cursor`` and the ``<time>.<gte|gt|lte|lt>`` filters; False if not one."""
    column, _, op = name.partition(".")
    if column in times and op in COMPARISONS:
        query.where.append(f"{column} {COMPARISONS[op]} ?")
        query.args.append(_timestamp(name, value))
    elif name == "limit":
        query.limit = _limit(value)
    elif name == "cursor":
        query.where.append("rowid < ?")
        query.args.append(_decode(value))
    else:
        return False
    return True


def _payment_filter(query: ListQuery, name: str, value: str) -> None:
    if name == "status":
        _status(query, value, PAYMENT_STATUSES)
    elif name == "payment_method":
        # Every sandbox payment is a bank card one once the card is known.
        query.where.append("card_last4 IS NOT NULL" if value == "bank_card" else "0")
    else:
        raise InvalidRequest(f"Unsupported list parameter {name}", parameter=name)


def _status(query: ListQuery, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise InvalidRequest(f"Invalid status {value!r}", parameter="status")
    query.where.append("status = ?")
    query.args.append(value)


def _timestamp(name: str, value: str) -> str:
    """ISO 8601 → the provider's own ``…T…:….mmmZ`` form, which sorts as text."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(f"{name} must be an ISO 8601 date-time", parameter=name) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    return int(value)


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, seq = text.partition(":")
    if prefix != "seq" or not seq.isdigit():
        raise InvalidRequest("Invalid cursor", parameter="cursor")
    return int(seq)
