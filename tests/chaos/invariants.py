"""The invariants of the issue, checked against ground truth. Pure: data in, violations out.

`Truth` is what the world holds once the run is quiet (the provider's ledger, our
database, Auth, Notifications, the API, Kafka); `Outcome`s are what the clients saw.
Money is compared as `Decimal`; ids as strings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.chaos.workload import FINAL_PAYMENT, FINAL_REFUND, Outcome

Row = dict[str, Any]
PAYMENT_EVENT = {
    "succeeded": "PaymentSucceeded",
    "canceled": "PaymentCanceled",
    "failed": "PaymentFailed",
}
REFUND_EVENT = {"succeeded": "RefundSucceeded", "failed": "RefundFailed"}
ZERO = Decimal("0.00")


@dataclass
class Truth:
    ledger_payments: list[Row] = field(default_factory=list)
    ledger_refunds: list[Row] = field(default_factory=list)
    db_payments: list[Row] = field(default_factory=list)
    db_refunds: list[Row] = field(default_factory=list)
    subscribers: dict[str, bool] = field(default_factory=dict)
    outbox: list[Row] = field(default_factory=list)
    dead_letters: list[Row] = field(default_factory=list)
    handled: set[tuple[str, str]] = field(default_factory=set)  # inbox (consumer, message_id)
    roles: dict[str, list[str]] = field(default_factory=dict)
    subscription_status: dict[str, str] = field(default_factory=dict)  # user -> status
    notifications: dict[str, list[Row]] = field(default_factory=dict)
    api_status: dict[str, str] = field(default_factory=dict)  # payment_id -> GET status
    lag: dict[str, int] = field(default_factory=dict)
    receipts_on: bool = False  # the pipeline's PROVIDER_RECEIPTS (54-FZ receipts sent)


@dataclass
class Check:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def expect(self, ok: bool, message: str) -> None:
        self.checked += 1
        if not ok:
            self.violations.append(message)


def money(value: Any) -> Decimal:
    """A ledger amount ({"value","currency"}) or a DB/API amount as Decimal."""
    if isinstance(value, dict):
        value = value["value"]
    return Decimal(str(value))


def no_double_charge(truth: Truth, outcomes: list[Outcome]) -> Check:
    check = Check("no double charge")
    per_payment = Counter(str(p["metadata"].get("payment_id")) for p in truth.ledger_payments)
    for payment_id, count in per_payment.items():
        check.expect(count == 1, f"payment {payment_id}: {count} provider payments")
    ours = {str(p["id"]) for p in truth.db_payments}
    for payment_id in per_payment:
        check.expect(payment_id in ours, f"provider charged for unknown payment {payment_id}")
    captured = _sum(p["amount"] for p in truth.ledger_payments if p["status"] == "succeeded")
    recorded = _sum(p["amount"] for p in truth.db_payments if p["status"] == "succeeded")
    check.expect(captured == recorded, f"provider captured {captured}, our DB says {recorded}")
    for outcome in outcomes:
        for problem in outcome.problems:
            check.expect(False, f"user {outcome.user_id}: {problem}")
    return check


def nothing_lost(truth: Truth, outcomes: list[Outcome]) -> Check:
    check = Check("nothing lost")
    payments = {str(p["id"]): p for p in truth.db_payments}
    refunds = {str(r["id"]): r for r in truth.db_refunds}
    at_provider = {str(p["metadata"].get("payment_id")): p for p in truth.ledger_payments}
    for outcome in outcomes:
        if outcome.accepted and outcome.payment_id is not None:
            _payment_reached_the_end(check, outcome.payment_id, payments, at_provider, truth)
        for refund in outcome.refunds:
            if refund.answer == 202 and refund.refund_id is not None:
                row = refunds.get(refund.refund_id)
                status = None if row is None else row["status"]
                check.expect(status in FINAL_REFUND, f"refund {refund.refund_id}: {status}")
    return check


def _payment_reached_the_end(
    check: Check,
    payment_id: str,
    payments: dict[str, Row],
    at_provider: dict[str, Row],
    truth: Truth,
) -> None:
    row = payments.get(payment_id)
    if row is None:
        check.expect(False, f"payment {payment_id} answered 202 is not in the DB")
        return
    status = row["status"]
    check.expect(status in FINAL_PAYMENT, f"payment {payment_id} stuck in {status}")
    provider = at_provider.get(payment_id)
    expected = _our_status_for(None if provider is None else provider["status"])
    check.expect(
        status in expected,
        f"payment {payment_id}: ours {status}, provider {provider and provider['status']}",
    )
    api = truth.api_status.get(payment_id)
    check.expect(api == status, f"payment {payment_id}: API says {api}, DB {status}")


def _our_status_for(provider_status: str | None) -> frozenset[str]:
    """Provider-neutral statuses our row may hold for what the provider recorded."""
    return {
        None: frozenset({"failed"}),
        "succeeded": frozenset({"succeeded"}),
        "canceled": frozenset({"canceled", "failed"}),
    }.get(provider_status, frozenset())


def refunds_match(truth: Truth) -> Check:
    check = Check("refunds")
    ledger_by_id = {str(r["id"]): r for r in truth.ledger_refunds}
    ours_by_external = {str(r["external_id"]): r for r in truth.db_refunds if r["external_id"]}
    for refund_id in ledger_by_id:
        ours = ours_by_external.get(refund_id)
        state = "missing" if ours is None else ours["status"]
        check.expect(state == "succeeded", f"provider refund {refund_id} is {state} in our DB")
    for external_id, ours in ours_by_external.items():
        if ours["status"] == "succeeded":
            check.expect(
                external_id in ledger_by_id, f"our refund {ours['id']} unknown to the provider"
            )
    _refunded_amounts(check, truth)
    return check


def _refunded_amounts(check: Check, truth: Truth) -> None:
    ledger_refunded: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in truth.ledger_refunds:
        ledger_refunded[str(r["payment_id"])] += money(r["amount"])
    ours_refunded: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in truth.db_refunds:
        if r["status"] == "succeeded":
            ours_refunded[str(r["payment_id"])] += money(r["amount"])
    for p in truth.ledger_payments:
        paid, given = money(p["amount"]), ledger_refunded[str(p["id"])]
        check.expect(given <= paid, f"provider refunded {given} of {paid} for {p['id']}")
    for p in truth.db_payments:
        pid, amount, refunded = str(p["id"]), money(p["amount"]), money(p["refunded_amount"])
        check.expect(refunded <= amount, f"payment {pid}: refunded {refunded} > {amount}")
        check.expect(
            refunded == ours_refunded[pid],
            f"payment {pid}: refunded_amount {refunded} != refunds {ours_refunded[pid]}",
        )
        external = str(p["external_id"]) if p["external_id"] else None
        at_provider = ledger_refunded[external] if external else ZERO
        check.expect(
            refunded == at_provider,
            f"payment {pid}: ours refunded {refunded}, provider {at_provider}",
        )


def grants_match(truth: Truth, users: Iterable[str]) -> Check:
    """The role is held exactly while the subscription is active (CONTRACT §2a)."""
    check = Check("role held exactly while active")
    live = {"active", "past_due"}
    for user in users:
        should = truth.subscription_status.get(user) in live
        in_auth = "subscriber" in truth.roles.get(user, [])
        in_db = truth.subscribers.get(user, False)
        check.expect(
            in_auth == should,
            f"user {user}: Auth subscriber={in_auth}, subscription "
            f"{truth.subscription_status.get(user)}",
        )
        check.expect(in_db == should, f"user {user}: subscribers={in_db}, active={should}")
    return check


def one_charge_per_period(truth: Truth) -> Check:
    """At most one provider charge that took money per (subscription, period)."""
    check = Check("one charge per (subscription, period)")
    taken = Counter(
        (p["metadata"]["subscription_id"], p["metadata"].get("period"))
        for p in truth.ledger_payments
        if (p.get("metadata") or {}).get("subscription_id") and p["status"] == "succeeded"
    )
    for (subscription, period), charges in sorted(taken.items()):
        check.expect(
            charges == 1, f"subscription {subscription} period {period}: {charges} charges"
        )
    return check


def notifications_match(truth: Truth) -> Check:
    check = Check("notifications")
    outbox = {
        (r["type"], str(r["payment_id"] or ""), str(r["refund_id"] or "")): r for r in truth.outbox
    }
    delivered: Counter[str] = Counter()
    for items in truth.notifications.values():
        delivered.update(str(n["dedup_key"]) for n in items if not n.get("duplicate"))
    for key, count in delivered.items():
        check.expect(count <= 1, f"dedup_key {key} delivered {count} times")
    for event in _final_events(truth, outbox, check):
        key = str(event["message_id"])
        check.expect(delivered[key] >= 1, f"{event['type']} {key} never notified")
    return check


def _final_events(truth: Truth, outbox: dict[tuple[str, str, str], Row], check: Check) -> list[Row]:
    """The outbox event announcing each final payment and refund (a missing one is a violation)."""
    wanted = [
        (PAYMENT_EVENT[p["status"]], str(p["id"]), "")
        for p in truth.db_payments
        if p["status"] in PAYMENT_EVENT
    ]
    wanted += [
        (REFUND_EVENT[r["status"]], str(r["payment_id"]), str(r["id"]))
        for r in truth.db_refunds
        if r["status"] in REFUND_EVENT
    ]
    found = []
    for key in wanted:
        event = outbox.get(key)
        check.expect(event is not None, f"no {key[0]} event in the outbox for {key[2] or key[1]}")
        if event is not None:
            found.append(event)
    return found


def nothing_stuck(truth: Truth) -> Check:
    check = Check("no stuck messages")
    for group, lag in sorted(truth.lag.items()):
        check.expect(lag == 0, f"consumer group {group} lags by {lag}")
    unpublished = [r for r in truth.outbox if not r["published"]]
    check.expect(not unpublished, f"{len(unpublished)} outbox rows never published")
    for letter in truth.dead_letters:
        resolved = (str(letter["consumer"]), str(letter["message_id"])) in truth.handled
        check.expect(
            resolved, f"dead letter {letter['id']} ({letter['consumer']}): {letter['error']}"
        )
    return check


def receipts_sent(truth: Truth) -> Check:
    """54-FZ (issue 11): with receipts on, every payment, refund and autopayment the provider
    holds for the run carries one; and nothing of ours failed over its receipt (a shop with
    receipts on refuses a payment or refund without one, which alone would pass as `failed`).
    """
    check = Check("receipts")
    for kind, rows in (("payment", truth.db_payments), ("refund", truth.db_refunds)):
        for row in rows:
            reason = str(row.get("failure_reason") or "")
            check.expect("receipt" not in reason.lower(), f"{kind} {row['id']} failed: {reason}")
    if truth.receipts_on:
        for kind, rows in (("payment", truth.ledger_payments), ("refund", truth.ledger_refunds)):
            for row in rows:
                check.expect(row.get("receipt") is not None, f"{kind} {row['id']}: no receipt")
    return check


def check_all(truth: Truth, outcomes: list[Outcome]) -> list[Check]:
    users = [str(o.user_id) for o in outcomes]
    checks: list[Callable[[], Check]] = [
        lambda: no_double_charge(truth, outcomes),
        lambda: nothing_lost(truth, outcomes),
        lambda: refunds_match(truth),
        lambda: grants_match(truth, users),
        lambda: one_charge_per_period(truth),
        lambda: notifications_match(truth),
        lambda: nothing_stuck(truth),
        lambda: receipts_sent(truth),
    ]
    return [make() for make in checks]


def _sum(values: Iterable[Any]) -> Decimal:
    return sum((money(v) for v in values), ZERO)
