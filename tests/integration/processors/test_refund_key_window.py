"""A refund sent without an answer, near the end of YooKassa's 24 h memory of its
Idempotence-Key (processors/refund_lookup.py), against real Kafka, PostgreSQL and a sandbox
provider of this module's own (so that the test can age the key the sandbox remembers: its
SQLite file is known here). The old code re-sent it blindly for good: once the provider had
forgotten the key, that re-send refunded the same money a second time."""

import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from processors_harness import (
    Gateway,
    Running,
    eventually,
    outbox_types,
    paid,
    payment,
    refund,
    refunds_in_ledger,
    started_provider,
)
from prometheus_client import REGISTRY

from processors import give_up, handlers
from processors.inbox import InboxEntry, Origin
from processors.provider.yookassa import RetryPolicy, make_client
from processors.runtime import Context, connect_pool
from processors.settings import ProcessorSettings
from schemas.ids import provider_idempotence_key
from schemas.messages import RefundPayment


@pytest.fixture(scope="module")
def provider_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("provider-keys") / "provider.sqlite3"


@pytest.fixture(scope="module")
def provider_url(tmp_path_factory: pytest.TempPathFactory, provider_db: Path) -> Iterator[str]:
    yield from started_provider(tmp_path_factory, PROVIDER_DB_PATH=str(provider_db))


@pytest.fixture
async def ctx(settings: ProcessorSettings) -> AsyncIterator[Context]:
    """One attempt per call, short timeout: an answer lost costs a second, not four."""
    policy = RetryPolicy(attempts=1, timeout_s=1.0, backoff_s=0.01)
    secret = settings.provider_secret_key.get_secret_value()
    provider = make_client(settings.provider_url, settings.provider_shop_id, secret, policy)
    context = Context(settings, await connect_pool(settings), provider)
    yield context
    await context.aclose()


def forget_key(provider_db: Path, refund_id: uuid.UUID) -> None:
    """A day has passed at the provider: it no longer remembers the refund's key."""
    with sqlite3.connect(provider_db, timeout=10) as db:
        changed = db.execute(
            "UPDATE idempotence SET created_at = created_at - 25 * 3600 WHERE key = ?",
            (provider_idempotence_key("refund", refund_id),),
        ).rowcount
    assert changed == 1


async def created_ago(ctx: Context, refund_id: uuid.UUID, hours: float) -> None:
    """The refund was created (and first sent) `hours` ago, and has been quiet since."""
    await ctx.pool.execute(
        "UPDATE payments_history.refunds SET created_at = now() - $2::interval,"
        " updated_at = now() - interval '2 hours' WHERE id = $1",
        refund_id,
        timedelta(hours=hours),
    )


async def sent_without_answer(ctx: Context, refund_id: uuid.UUID) -> dict[str, Any]:
    async def reserved() -> dict[str, Any] | None:
        row = await refund(ctx, refund_id)
        return row if row.get("reserved") else None

    row = await eventually(reserved)
    assert (row["status"], row["external_id"]) == ("accepted", None)
    return row


def counted(reason: str) -> float:
    labels = {"kind": "refund", "reason": reason}
    return REGISTRY.get_sample_value("billing_gave_up_total", labels) or 0.0


async def test_a_refund_made_whose_answer_was_lost_is_found_not_refunded_twice(
    ctx: Context,
    gateway: Gateway,
    processors: Running,
    sandbox: httpx.AsyncClient,
    provider_db: Path,
) -> None:
    """The sandbox refunds and never answers; 23.5 h later (the provider has forgotten the
    key) the reconciler's re-drive of its command looks it up instead of re-sending it,
    adopts the provider's refund and applies it."""
    cmd, external_id = await paid(ctx, gateway, sandbox)
    await sandbox.post("/sandbox/faults", json={"timeout_after_commit_rate": 1})
    ask = await gateway.new_refund(cmd, "100.00")
    await sent_without_answer(ctx, ask.refund_id)
    await sandbox.delete("/sandbox/faults")
    [made] = await refunds_in_ledger(sandbox, external_id)
    forget_key(provider_db, ask.refund_id)
    await created_ago(ctx, ask.refund_id, 23.5)
    await redrive(ctx, ask)
    row = await refund(ctx, ask.refund_id)
    assert row["status"] == "succeeded"
    assert str(row["external_id"]) == made["id"]
    assert [r["id"] for r in await refunds_in_ledger(sandbox, external_id)] == [made["id"]]
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("100.00")
    assert (await outbox_types(ctx, cmd.payment_id)).count("RefundSucceeded") == 1


async def test_a_refund_the_provider_never_made_ends_failed_once_its_key_expired(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """Its only POST was refused before the provider did anything (a 500). Past the re-send
    window it is looked up, never sent again: not found, it waits while the key may still be
    remembered, then ends as a give-up with its money released."""
    cmd, external_id = await paid(ctx, gateway, sandbox)
    await sandbox.post("/sandbox/faults", json={"error_rate": 1})
    ask = await gateway.new_refund(cmd, "100.00")
    await sent_without_answer(ctx, ask.refund_id)
    await sandbox.delete("/sandbox/faults")
    await created_ago(ctx, ask.refund_id, 23.5)
    await redrive(ctx, ask)
    row = await refund(ctx, ask.refund_id)
    assert (row["status"], row["reserved"]) == ("accepted", True)
    assert await refunds_in_ledger(sandbox, external_id) == []  # the old code re-sent it
    before = counted(give_up.NOT_AT_PROVIDER)
    await created_ago(ctx, ask.refund_id, 24.5)
    await redrive(ctx, ask)
    row = await refund(ctx, ask.refund_id)
    assert (row["status"], row["reserved"]) == ("failed", False)
    assert row["failure_reason"].startswith("gave_up: not_at_provider: ")
    assert await refunds_in_ledger(sandbox, external_id) == []
    assert "RefundFailed" in await outbox_types(ctx, cmd.payment_id)
    assert counted(give_up.NOT_AT_PROVIDER) == before + 1
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("0.00")


async def redrive(ctx: Context, ask: RefundPayment) -> None:
    """The reconciler's re-drive of the command (the same message), handled as the commands
    processor does; not through `reconciler.redrive_refunds`, which would also re-drive the
    accepted refunds of other tests sharing this database."""
    where = Origin(ctx.settings.commands_topic, 0, 0)
    origin = InboxEntry(handlers.CONSUMER, ask.message_id, ask.type, where, ask.payment_id)
    await handlers.refund_payment(ask, origin, ctx)
