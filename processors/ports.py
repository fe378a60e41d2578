"""What the handlers need from the world, as `Protocol`s: the provider, the store, the unit of
work. Production plugs in `provider.yookassa.YooKassaClient` and `uow.PgUnitOfWork`
(`runtime.Context`); the unit tests plug in in-memory fakes (`tests/unit/processors/fakes.py`).
"""

from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.refund_policy import RefundPolicy
from processors.inbox import InboxEntry
from processors.provider.objects import ProviderPayment, ProviderRefund, SavedCard
from processors.repository import PaymentChange, PaymentRow, RefundRow
from processors.settings import ProcessorSettings
from schemas.messages import Envelope

R = TypeVar("R")


class Provider(Protocol):
    """The payment provider. Every create carries our id as its Idempotence-Key."""

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
    ) -> ProviderPayment: ...

    async def create_refund(
        self,
        refund_id: UUID,
        payment_external_id: str,
        amount: Decimal,
        currency: str,
        *,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderRefund: ...

    async def get_payment(self, external_id: str) -> ProviderPayment: ...

    async def get_refund(self, external_id: str) -> ProviderRefund: ...

    async def list_refunds(
        self, payment_external_id: str, cursor: str | None = None
    ) -> tuple[list[ProviderRefund], str | None]:
        """One page of the payment's refunds (newest first) and the next page's cursor."""


class Store(Protocol):
    """Our rows: loads, guarded moves, the outbox and the inbox (`repository.py` in SQL)."""

    async def now(self) -> datetime:
        """The database's clock (the one `created_at` is written with)."""

    async def seen(self, consumer: str, message_id: UUID) -> bool: ...

    async def payment_unless_seen(
        self, payment_id: UUID, consumer: str, message_id: UUID
    ) -> tuple[bool, PaymentRow | None]: ...

    async def payment_by_external_unless_seen(
        self, external_id: str, consumer: str, message_id: UUID
    ) -> tuple[bool, PaymentRow | None]:
        """Whether `consumer` handled `message_id`, and the payment whose provider id is
        `external_id` (None if none has it yet, or it is no provider id)."""

    async def payment(self, payment_id: UUID, *, lock: bool = False) -> PaymentRow | None: ...

    async def refund(self, refund_id: UUID, *, lock: bool = False) -> RefundRow | None: ...

    async def refund_by_external_id(self, external_id: UUID) -> RefundRow | None: ...

    async def move_payment(
        self,
        payment_id: UUID,
        change: PaymentChange,
        recheck_after_s: float,
        *,
        unsent_only: bool = False,
    ) -> PaymentRow | None:
        """Guarded move; with `unsent_only`, only a payment never sent (`accepted`, no
        provider id: `repository.UNSENT_PAYMENT`)."""

    async def reserved_by_others(self, payment_id: UUID, refund_id: UUID) -> list[Decimal]: ...

    async def reserve_refund(
        self, refund_id: UUID, receipt: dict[str, Any] | None = None
    ) -> None: ...

    async def fail_refund(
        self,
        refund_id: UUID,
        reason: str,
        *,
        unsent_only: bool = False,
        unanswered_only: bool = False,
    ) -> RefundRow | None:
        """Guarded move to `failed`; with `unsent_only`, only a refund never sent (not
        reserved, no provider id: `repository.UNSENT_REFUND`); with `unanswered_only`, only
        one the provider never answered (no provider id: `repository.UNANSWERED_REFUND`)."""

    async def note_refund_external(
        self, refund_id: UUID, external_id: UUID, external_refund: dict[str, object]
    ) -> None:
        """A refund the provider has not finished: keep its provider id, status unchanged."""

    async def record_external_refund(
        self, payment_id: UUID, obj: ProviderRefund, policy: RefundPolicy
    ) -> RefundRow | None:
        """A refund made outside the pipeline: its row (inserted if new), or None if it does
        not fit the payment (processors/external_refunds.py)."""

    async def succeed_refund(
        self, refund_id: UUID, external_id: UUID, external_refund: dict[str, object]
    ) -> tuple[RefundRow, Decimal, bool] | None: ...

    async def append(
        self,
        event: Envelope,
        *,
        topic: str,
        key: str,
        payment_id: UUID | None = None,
        refund_id: UUID | None = None,
    ) -> None:
        """Queue `event` for the relay, in the transaction; one already queued is kept."""

    async def record(self, origin: InboxEntry) -> None: ...

    async def on_payment_moved(
        self, payment: PaymentRow, saved_card: SavedCard | None, *, topic: str
    ) -> None:
        """The subscription follows its payment (`payment` as `move_payment` returned it), in
        the same transaction."""

    async def on_refund_succeeded(self, refund_id: UUID, *, topic: str) -> None:
        """A refund that ends access takes its payment's period back, in the same transaction."""


class UnitOfWork(Protocol):
    """`reads`: one statement at a time, no transaction. `transaction()`: a `Store` whose
    writes commit together when the block ends, or not at all if it raises. `grouped(key,
    body)`: `body(store)` committed the same way, perhaps in one transaction with other
    handlers' bodies (group commit); it returns once committed. `key` is the user the body
    writes for; a body must have no effect outside its store (it may be run twice)."""

    @property
    def reads(self) -> Store: ...

    def transaction(self) -> AbstractAsyncContextManager[Store]: ...

    async def grouped(self, key: Hashable, body: Callable[[Store], Awaitable[R]]) -> R: ...


class Deps(Protocol):
    """What a handler is given: settings, the provider, the unit of work."""

    @property
    def settings(self) -> ProcessorSettings: ...

    @property
    def provider(self) -> Provider: ...

    @property
    def uow(self) -> UnitOfWork: ...
