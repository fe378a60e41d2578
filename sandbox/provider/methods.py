"""Saved payment methods (cards saved with ``save_payment_method``) and their SQLite rows.

A saved card decides what each autopayment with it does: first whatever the test scripted
through ``POST /sandbox/payment_methods/{id}`` (``next_results``, consumed one per charge),
then ``permission_revoked`` forever once ``revoked``, else the card's standing behaviour
(``SandboxCard.saved_decline``: ``4000000000009995`` → ``insufficient_funds``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sandbox.provider.cards import SUCCEEDED, SandboxCard, find_card
from sandbox.provider.errors import NotFound
from sandbox.sqlite import Connection, Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS payment_methods (
    id TEXT PRIMARY KEY,
    card_number TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    next_results TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);
"""


@dataclass
class SavedMethod:
    id: str
    card_number: str
    created_at: str
    revoked: bool = False
    next_results: list[str] = field(default_factory=list)

    @property
    def card(self) -> SandboxCard:
        return find_card(self.card_number)

    def next_decline(self) -> str | None:
        """The outcome of the next charge, consumed: a decline reason, or ``None`` (it pays).

        A scripted result comes first even after revocation; so a test can script
        ``["succeeded"]`` and then ``revoked`` and see exactly one more charge go through."""
        if self.next_results:
            result = self.next_results.pop(0)
            return None if result == SUCCEEDED else result
        if self.revoked:
            return "permission_revoked"
        return self.card.saved_decline

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "bank_card",
            "saved": True,
            "revoked": self.revoked,
            "next_results": list(self.next_results),
            "card": {"last4": self.card.last4},
            "created_at": self.created_at,
        }


async def script(
    db: Database, method_id: str, next_results: list[str] | None, revoked: bool | None
) -> dict[str, Any]:
    """``POST /sandbox/payment_methods/{id}``: what the next autopayments with it do."""
    async with db.transaction() as conn:
        method = await get(conn, method_id)
        if method is None:
            raise NotFound("Payment method not found", parameter="payment_method_id")
        if next_results is not None:
            method.next_results = list(next_results)
        if revoked is not None:
            method.revoked = revoked
        await update(conn, method)
    return method.to_wire()


async def insert(conn: Connection, method: SavedMethod) -> None:
    await conn.execute(
        "INSERT INTO payment_methods(id, card_number, revoked, next_results, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            method.id,
            method.card_number,
            int(method.revoked),
            json.dumps(method.next_results),
            method.created_at,
        ),
    )


async def update(conn: Connection, method: SavedMethod) -> None:
    await conn.execute(
        "UPDATE payment_methods SET revoked = ?, next_results = ? WHERE id = ?",
        (int(method.revoked), json.dumps(method.next_results), method.id),
    )


async def get(conn: Connection, method_id: str) -> SavedMethod | None:
    cur = await conn.execute("SELECT * FROM payment_methods WHERE id = ?", (method_id,))
    row = await cur.fetchone()
    if row is None:
        return None
    return SavedMethod(
        id=row["id"],
        card_number=row["card_number"],
        created_at=row["created_at"],
        revoked=bool(row["revoked"]),
        next_results=json.loads(row["next_results"]),
    )
