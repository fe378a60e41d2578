"""In-memory fakes of `processors.ports` (cosmicpython's FakeUnitOfWork is the model).

`FakeStore` keeps our rows in dicts and applies the same guards the SQL does, built from the
same domain tables (`predecessors`, `holding`). `FakeUnitOfWork.transaction()` commits all
its writes at the end of the block or none of them (a snapshot is restored on any error).
`FakeProvider` keeps YooKassa's promise: one object per Idempotence-Key, another body under
a used key is refused. Faults are queued per call to simulate crashes and outages.
"""

import copy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from domain import payments, refunds
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from processors.inbox import InboxEntry
from processors.ports import Store
from processors.provider.descriptions import refund_description
from processors.provider.objects import ProviderPayment, ProviderRefund, SavedCard
from processors.provider.yookassa import Autopayment
from processors.repository import PaymentChange, PaymentRow, RefundRow
from processors.settings import ProcessorSettings
from schemas.ids import provider_idempotence_key
from schemas.messages import Envelope

R = TypeVar("R")


class Crash(Exception):
    """The process dies here: nothing after this point happens, nothing is committed."""


@dataclass
class Rows:
    """Everything the database holds, copied whole for a rollback."""

    payments: dict[UUID, PaymentRow] = field(default_factory=dict)
    refunds: dict[UUID, RefundRow] = field(default_factory=dict)
    external_payment: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    refund_reason: dict[UUID, str] = field(default_factory=dict)
    next_check: dict[UUID, float | None] = field(default_factory=dict)
    inbox: set[tuple[str, UUID]] = field(default_factory=set)
    outbox: dict[UUID, Envelope] = field(default_factory=dict)


class FakeStore:
    def __init__(self) -> None:
        self.rows = Rows()
        self.calls: list[str] = []  # every store operation, in order
        # the subscription hooks called (processors/subscriptions/lifecycle.py in production)
        self.subscription_hooks: list[tuple[str, UUID]] = []
        self.faults: dict[str, Exception] = {}  # operation name → raised on its next call
        self.clock = datetime.now(UTC)  # the database's now(); tests move it on

    def _call(self, name: str) -> None:
        self.calls.append(name)
        fault = self.faults.pop(name, None)
        if fault is not None:
            raise fault

    # --- what the handlers read
    async def now(self) -> datetime:
        return self.clock

    async def seen(self, consumer: str, message_id: UUID) -> bool:
        self._call("seen")
        return (consumer, message_id) in self.rows.inbox

    async def payment_unless_seen(
        self, payment_id: UUID, consumer: str, message_id: UUID
    ) -> tuple[bool, PaymentRow | None]:
        self._call("payment_unless_seen")
        seen = (consumer, message_id) in self.rows.inbox
        return seen, self.rows.payments.get(payment_id)

    async def payment_by_external_unless_seen(
        self, external_id: str, consumer: str, message_id: UUID
    ) -> tuple[bool, PaymentRow | None]:
        self._call("payment_by_external_unless_seen")
        seen = (consumer, message_id) in self.rows.inbox
        found = [p for p in self.rows.payments.values() if str(p.external_id) == external_id]
        return seen, found[0] if found else None

    async def payment(self, payment_id: UUID, *, lock: bool = False) -> PaymentRow | None:
        self._call("payment")
        return self.rows.payments.get(payment_id)

    async def refund(self, refund_id: UUID, *, lock: bool = False) -> RefundRow | None:
        self._call("refund")
        return self.rows.refunds.get(refund_id)

    async def refund_by_external_id(self, external_id: UUID) -> RefundRow | None:
        self._call("refund_by_external_id")
        found = [r for r in self.rows.refunds.values() if r.external_id == external_id]
        return found[0] if found else None

    # --- guarded writes: the same guards as the SQL, from the same domain tables
    async def move_payment(
        self,
        payment_id: UUID,
        change: PaymentChange,
        recheck_after_s: float,
        *,
        unsent_only: bool = False,
    ) -> PaymentRow | None:
        self._call("move_payment")
        row = self.rows.payments.get(payment_id)
        if row is None or row.status not in payments.predecessors(change.status):
            return None
        unsent = row.status is payments.NOT_SENT and row.external_id is None
        if unsent_only and not unsent:  # repository.UNSENT_PAYMENT
            return None
        moved = replace(
            row,
            status=change.status,
            external_id=row.external_id or change.external_id,
            confirmation_url=row.confirmation_url or change.confirmation_url,
            failure_reason=change.failure_reason or row.failure_reason,
        )
        self.rows.payments[payment_id] = moved
        if change.external_payment is not None:
            self.rows.external_payment[payment_id] = change.external_payment
        waiting = change.status is payments.AWAITING_PROVIDER
        self.rows.next_check[payment_id] = recheck_after_s if waiting else None
        return moved

    async def reserved_by_others(self, payment_id: UUID, refund_id: UUID) -> list[Decimal]:
        self._call("reserved_by_others")
        return [
            r.amount
            for r in self.rows.refunds.values()
            if r.payment_id == payment_id
            and r.id != refund_id
            and r.status in refunds.holding()
            and r.reserved
        ]

    async def reserve_refund(self, refund_id: UUID, receipt: dict[str, Any] | None = None) -> None:
        self._call("reserve_refund")
        row = self.rows.refunds[refund_id]
        self.rows.refunds[refund_id] = replace(row, reserved=True, receipt=receipt)

    async def fail_refund(
        self,
        refund_id: UUID,
        reason: str,
        *,
        unsent_only: bool = False,
        unanswered_only: bool = False,
    ) -> RefundRow | None:
        self._call("fail_refund")
        row = self.rows.refunds.get(refund_id)
        if row is None or row.status not in refunds.predecessors(RefundStatus.FAILED):
            return None
        unsent = row.status is RefundStatus.ACCEPTED and row.external_id is None
        if unsent_only and not (unsent and not row.reserved):  # repository.UNSENT_REFUND
            return None
        if unanswered_only and not unsent:  # repository.UNANSWERED_REFUND
            return None
        moved = replace(row, status=RefundStatus.FAILED, reserved=False)
        self.rows.refunds[refund_id] = moved
        self.rows.refund_reason[refund_id] = reason
        return moved

    async def note_refund_external(
        self, refund_id: UUID, external_id: UUID, external_refund: dict[str, object]
    ) -> None:
        self._call("note_refund_external")
        row = self.rows.refunds.get(refund_id)
        if row is not None and row.status in refunds.holding():
            self.rows.refunds[refund_id] = replace(row, external_id=row.external_id or external_id)

    async def succeed_refund(
        self, refund_id: UUID, external_id: UUID, external_refund: dict[str, object]
    ) -> tuple[RefundRow, Decimal, bool] | None:
        self._call("succeed_refund")
        row = self.rows.refunds.get(refund_id)
        if row is None or row.status not in refunds.predecessors(RefundStatus.SUCCEEDED):
            return None
        moved = replace(row, status=RefundStatus.SUCCEEDED, external_id=external_id)
        self.rows.refunds[refund_id] = moved
        payment = self.rows.payments[row.payment_id]
        refunded_amount = payment.refunded_amount + row.amount
        refunded = refunded_amount == payment.amount
        self.rows.payments[payment.id] = replace(
            payment, refunded_amount=refunded_amount, refunded=refunded
        )
        return moved, refunded_amount, refunded

    async def append(
        self,
        event: Envelope,
        *,
        topic: str,
        key: str,
        payment_id: UUID | None = None,
        refund_id: UUID | None = None,
    ) -> None:
        self._call("append")
        self.rows.outbox.setdefault(event.message_id, event)

    async def record(self, origin: InboxEntry) -> None:
        self._call("record")
        self.rows.inbox.add((origin.consumer, origin.message_id))

    async def on_payment_moved(
        self, payment: PaymentRow, saved_card: SavedCard | None, *, topic: str
    ) -> None:
        self.subscription_hooks.append(("payment_moved", payment.id))

    async def on_refund_succeeded(self, refund_id: UUID, *, topic: str) -> None:
        self.subscription_hooks.append(("refund_succeeded", refund_id))

    # --- what the tests look at
    def events(self, subject: UUID | None = None) -> list[str]:
        return [
            e.type
            for e in self.rows.outbox.values()
            if subject is None
            or subject in (getattr(e, "payment_id", None), getattr(e, "refund_id", None))
        ]


class FakeUnitOfWork:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()
        self.commits = 0
        self.crashes: list[bool] = []  # per coming transaction: does it die before COMMIT?

    @property
    def reads(self) -> FakeStore:
        return self.store

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeStore]:
        before = copy.deepcopy(self.store.rows)
        try:
            yield self.store
            if self.crashes and self.crashes.pop(0):
                raise Crash("died before COMMIT")
        except BaseException:
            self.store.rows = before
            raise
        self.commits += 1

    async def grouped(self, key: Hashable, body: Callable[[Store], Awaitable[R]]) -> R:
        """A body alone in its transaction (group commit is PostgreSQL's: integration tests)."""
        async with self.transaction() as tx:
            return await body(tx)


@dataclass
class _Made:
    body: tuple[object, ...]
    id: str


class FakeProvider:
    """One object per Idempotence-Key; `faults` are consumed one per call:
    an exception is raised before any work, `"after"` raises `Crash` after the work is
    done (the answer is lost), `"timeout_after_commit"` raises ProviderUnavailable after it."""

    def __init__(self) -> None:
        self.payments: dict[str, ProviderPayment] = {}
        self.refunds: dict[str, ProviderRefund] = {}
        self.keys: dict[str, _Made] = {}
        self.receipts: dict[str, dict[str, Any] | None] = {}  # the last one sent per key
        self.calls: list[str] = []
        self.faults: list[Exception | str] = []
        self.refund_status = RefundStatus.SUCCEEDED
        self.list_page = 100

    def _before(self, name: str) -> str | None:
        self.calls.append(name)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, Exception):
            raise fault
        return fault

    @staticmethod
    def _after(fault: str | None) -> None:
        if fault == "after":
            raise Crash("died while the provider answered")
        if fault == "timeout_after_commit":
            raise ProviderUnavailable("ReadTimeout: the work is done, the answer never came")

    def _idempotent(self, key: str, body: tuple[object, ...]) -> str | None:
        made = self.keys.get(key)
        if made is None:
            return None
        if made.body != body:
            raise ProviderRejected("Idempotence-Key reused with another body", code="conflict")
        return made.id

    async def create_payment(
        self,
        payment_id: UUID,
        user_id: UUID,
        amount: Decimal,
        currency: str,
        return_url: str,
        description: str = "",
        *,
        save_payment_method: bool = False,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderPayment:
        fault = self._before("create_payment")
        key = provider_idempotence_key("payment", payment_id)
        body = (user_id, amount, currency, return_url, description, repr(receipt))
        self.receipts[key] = receipt
        existing = self._idempotent(key, body)
        if existing is None:
            existing = str(uuid.uuid4())
            self.keys[key] = _Made(body, existing)
            self.payments[existing] = ProviderPayment(
                id=existing,
                status=PaymentStatus.PENDING,
                amount=amount,
                currency=currency,
                our_payment_id=payment_id,
                confirmation_url=f"https://provider.example/checkout/{existing}",
                raw={"id": existing},
            )
        self._after(fault)
        return self.payments[existing]

    async def create_autopayment(self, payment_id: UUID, charge: Autopayment) -> ProviderPayment:
        """A saved card charged with nobody present: succeeded at once, one per key."""
        fault = self._before("create_autopayment")
        key = provider_idempotence_key("payment", payment_id)
        body = (charge.user_id, charge.amount, charge.currency, charge.payment_method_id)
        body += (charge.description, repr(charge.receipt))
        self.receipts[key] = charge.receipt
        existing = self._idempotent(key, body)
        if existing is None:
            existing = str(uuid.uuid4())
            self.keys[key] = _Made(body, existing)
            self.payments[existing] = ProviderPayment(
                id=existing,
                status=PaymentStatus.SUCCEEDED,
                amount=charge.amount,
                currency=charge.currency,
                our_payment_id=payment_id,
                raw={"id": existing},
            )
        self._after(fault)
        return self.payments[existing]

    async def create_refund(
        self,
        refund_id: UUID,
        payment_external_id: str,
        amount: Decimal,
        currency: str,
        *,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderRefund:
        fault = self._before("create_refund")
        key = provider_idempotence_key("refund", refund_id)
        self.receipts[key] = receipt
        existing = self._idempotent(key, (payment_external_id, amount, currency, repr(receipt)))
        if existing is None:
            paid = self.payments.get(payment_external_id)
            if paid is None:
                raise ProviderNotFound("no such payment", status_code=404)
            if amount > self.refundable(payment_external_id):
                raise ProviderRejected("refund exceeds the amount left", code="invalid_request")
            existing = str(uuid.uuid4())
            self.keys[key] = _Made((payment_external_id, amount, currency, repr(receipt)), existing)
            self.refunds[existing] = ProviderRefund(
                id=existing,
                payment_id=payment_external_id,
                status=self.refund_status,
                amount=amount,
                currency=currency,
                raw={"id": existing, "description": refund_description(refund_id)},
                our_refund_id=refund_id,  # as the client reads the description back
            )
        self._after(fault)
        return self.refunds[existing]

    async def list_refunds(
        self, payment_external_id: str, cursor: str | None = None
    ) -> tuple[list[ProviderRefund], str | None]:
        """YooKassa's list for one payment, newest first, `list_page` per page."""
        self._after(self._before("list_refunds"))
        items = [r for r in self.refunds.values() if r.payment_id == payment_external_id][::-1]
        start = int(cursor or 0)
        end = start + self.list_page
        return items[start:end], str(end) if end < len(items) else None

    def forget_keys(self) -> None:
        """YooKassa forgets an Idempotence-Key after 24 h: the same key then makes a new object."""
        self.keys.clear()

    async def get_payment(self, external_id: str) -> ProviderPayment:
        self._after(self._before("get_payment"))
        if external_id not in self.payments:
            raise ProviderNotFound("not found", status_code=404)
        return self.payments[external_id]

    async def get_refund(self, external_id: str) -> ProviderRefund:
        self._after(self._before("get_refund"))
        if external_id not in self.refunds:
            raise ProviderNotFound("not found", status_code=404)
        return self.refunds[external_id]

    # --- the card holder and the provider's back office
    def refundable(self, external_id: str) -> Decimal:
        paid = self.payments[external_id]
        done = [
            r.amount or Decimal(0)
            for r in self.refunds.values()
            if r.payment_id == external_id and r.status is not RefundStatus.FAILED
        ]
        return (paid.amount or Decimal(0)) - sum(done, Decimal(0))

    def settle(self, external_id: str, status: PaymentStatus, reason: str = "") -> ProviderPayment:
        self.payments[external_id] = replace(
            self.payments[external_id], status=status, cancellation_reason=reason
        )
        return self.payments[external_id]

    def created(self, payment_id: UUID) -> list[ProviderPayment]:
        return [p for p in self.payments.values() if p.our_payment_id == payment_id]


@dataclass
class FakeDeps:
    """`ports.Deps` for the unit tests."""

    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    provider: FakeProvider = field(default_factory=FakeProvider)
    settings: ProcessorSettings = field(
        default_factory=lambda: ProcessorSettings(
            missing_row_backoff_s=0.0, webhook_row_attempts=3, reconcile_after_seconds=30.0
        )
    )

    @property
    def store(self) -> FakeStore:
        return self.uow.store
