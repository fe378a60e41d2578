"""Test cards and YooKassa's cancellation reasons; pure, no I/O.

Each reason has the ``party`` YooKassa names as the one who declined (``cancellation_details``).
The test cards follow Stripe's habit: one number per outcome, documented on the payment page
and in ``sandbox/README.md``. A card may also decide what its *saved* copy does later
(``saved_decline``), so that a renewal can be made to fail by the card the person paid with.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.provider.errors import UnknownCard

MERCHANT, YOO_MONEY, NETWORK = "merchant", "yoo_money", "payment_network"

PARTY: dict[str, str] = {
    "3d_secure_failed": NETWORK,
    "call_issuer": NETWORK,
    "canceled_by_merchant": MERCHANT,
    "card_expired": NETWORK,
    "country_forbidden": YOO_MONEY,
    "expired_on_capture": YOO_MONEY,
    "expired_on_confirmation": YOO_MONEY,
    "fraud_suspected": YOO_MONEY,
    "general_decline": NETWORK,
    "identification_required": YOO_MONEY,
    "insufficient_funds": NETWORK,
    "internal_timeout": YOO_MONEY,
    "invalid_card_number": NETWORK,
    "invalid_csc": NETWORK,
    "issuer_unavailable": NETWORK,
    "payment_method_limit_exceeded": NETWORK,
    "payment_method_restricted": NETWORK,
    "permission_revoked": YOO_MONEY,
}
"""Every reason a card payment can be canceled with (YooKassa's list, card-relevant part)."""

SUCCEEDED = "succeeded"
AUTOPAYMENT_RESULTS = frozenset(PARTY) - {
    "canceled_by_merchant",
    "expired_on_capture",
    "expired_on_confirmation",
}
"""What ``/sandbox/payment_methods/{id}`` may script, besides ``succeeded``."""


@dataclass(frozen=True)
class SandboxCard:
    number: str
    decline: str | None = None
    """Reason the person-present payment is canceled with; ``None``: it succeeds."""
    saved_decline: str | None = None
    """Reason every later autopayment with the saved card is canceled with; ``None``: pays."""
    expiry_month: str = "12"
    expiry_year: str = "2030"

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def first6(self) -> str:
        return self.number[:6]


SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_LATER_CARD = "4000000000009995"

TEST_CARDS: dict[str, SandboxCard] = {
    card.number: card
    for card in (
        SandboxCard(SUCCESS_CARD),
        SandboxCard(DECLINED_CARD, decline="card_expired"),
        SandboxCard(INSUFFICIENT_LATER_CARD, saved_decline="insufficient_funds"),
        SandboxCard("4000000000000051", decline="insufficient_funds"),
        SandboxCard("4000000000000119", decline="general_decline"),
        SandboxCard("4000000000000127", decline="invalid_csc"),
        SandboxCard("4000000000000101", decline="invalid_card_number"),
        SandboxCard("4000000000009235", decline="fraud_suspected"),
        SandboxCard("4000000000003063", decline="3d_secure_failed"),
        SandboxCard("4000000000000143", decline="issuer_unavailable"),
        SandboxCard("4000000000000150", decline="call_issuer"),
        SandboxCard("4000000000000168", decline="payment_method_limit_exceeded"),
        SandboxCard("4000000000000176", decline="payment_method_restricted"),
        SandboxCard("4000000000000184", decline="country_forbidden"),
        SandboxCard("4000000000000341", saved_decline="permission_revoked"),
        SandboxCard("4000000000000069", saved_decline="card_expired"),
    )
}


def find_card(card_number: str) -> SandboxCard:
    """The sandbox test card with this number (spaces ignored); ``UnknownCard`` otherwise."""
    digits = "".join(card_number.split())
    card = TEST_CARDS.get(digits)
    if card is None:
        raise UnknownCard(digits)
    return card


def party(reason: str) -> str:
    return PARTY.get(reason, NETWORK)
