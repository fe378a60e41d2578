"""The invariant checker on synthetic ground truth: a clean world passes, each breach is caught."""

import copy
import uuid

import pytest

from tests.chaos.invariants import Truth, check_all
from tests.chaos.workload import Outcome, RefundOutcome

USER = str(uuid.uuid4())
PAYMENT = str(uuid.uuid4())
EXTERNAL = str(uuid.uuid4())
REFUND = str(uuid.uuid4())
EXTERNAL_REFUND = str(uuid.uuid4())
OTHER_USER = str(uuid.uuid4())
RECEIPT = {"customer": {"email": "viewer@cinema.test"}, "items": []}  # as the ledger shows it


def clean_world() -> tuple[Truth, list[Outcome]]:
    """One user paid 499.00 (their subscription's period 1) and got 100.00 back; another
    was declined."""
    declined, declined_ext = str(uuid.uuid4()), str(uuid.uuid4())
    truth = Truth(
        ledger_payments=[
            _ledger(EXTERNAL, PAYMENT, USER, "succeeded"),
            _ledger(declined_ext, declined, OTHER_USER, "canceled"),
        ],
        ledger_refunds=[
            {
                "id": EXTERNAL_REFUND,
                "payment_id": EXTERNAL,
                "status": "succeeded",
                "amount": {"value": "100.00", "currency": "RUB"},
                "receipt": RECEIPT,
            }
        ],
        db_payments=[
            _payment(PAYMENT, USER, "succeeded", "100.00", EXTERNAL),
            _payment(declined, OTHER_USER, "canceled", "0.00", declined_ext),
        ],
        db_refunds=[
            {
                "id": REFUND,
                "payment_id": PAYMENT,
                "user_id": USER,
                "status": "succeeded",
                "amount": "100.00",
                "external_id": EXTERNAL_REFUND,
            }
        ],
        subscribers={USER: True, OTHER_USER: False},
        outbox=[
            _event("PaymentSucceeded", PAYMENT),
            _event("PaymentCanceled", declined),
            _event("RefundSucceeded", PAYMENT, REFUND),
        ],
        roles={USER: ["subscriber"], OTHER_USER: []},
        subscription_status={USER: "active", OTHER_USER: "expired"},
        api_status={PAYMENT: "succeeded", declined: "canceled"},
        lag={"billing-processor-commands": 0},
        receipts_on=True,
    )
    truth.notifications = {
        USER: [_note(e) for e in truth.outbox if e["payment_id"] == PAYMENT],
        OTHER_USER: [_note(e) for e in truth.outbox if e["payment_id"] == declined],
    }
    outcomes = [
        Outcome(
            uuid.UUID(USER),
            "k1",
            PAYMENT,
            202,
            "succeeded",
            [RefundOutcome("r1", REFUND, 202, "succeeded")],
        ),
        Outcome(uuid.UUID(OTHER_USER), "k2", declined, 202, "canceled"),
    ]
    return truth, outcomes


def _ledger(ext: str, ours: str, user: str, status: str) -> dict[str, object]:
    amount = {"value": "499.00", "currency": "RUB"}
    metadata = {"payment_id": ours, "user_id": user}
    return {
        "id": ext,
        "status": status,
        "amount": amount,
        "metadata": metadata,
        "receipt": RECEIPT,
    }


def _payment(pid: str, user: str, status: str, refunded: str, ext: str) -> dict[str, object]:
    return {
        "id": pid,
        "user_id": user,
        "status": status,
        "amount": "499.00",
        "refunded_amount": refunded,
        "refunded": False,
        "external_id": ext,
    }


def _event(type_: str, payment: str, refund: str | None = None) -> dict[str, object]:
    return {
        "message_id": str(uuid.uuid4()),
        "type": type_,
        "payment_id": payment,
        "refund_id": refund,
        "published": True,
    }


def _note(event: dict[str, object]) -> dict[str, object]:
    return {"dedup_key": event["message_id"], "template": "t", "duplicate": False}


def violations(truth: Truth, outcomes: list[Outcome]) -> dict[str, list[str]]:
    return {c.name: c.violations for c in check_all(truth, outcomes) if c.violations}


def test_a_clean_world_has_no_violation() -> None:
    truth, outcomes = clean_world()
    truth.ledger_payments[0]["metadata"] |= {"subscription_id": "s-0", "period": "1"}

    assert violations(truth, outcomes) == {}
    assert all(c.checked > 0 for c in check_all(truth, outcomes))


def test_a_second_provider_payment_for_one_key_is_a_double_charge() -> None:
    truth, outcomes = clean_world()
    twin = copy.deepcopy(truth.ledger_payments[0]) | {"id": str(uuid.uuid4())}
    truth.ledger_payments.append(twin)

    assert "no double charge" in violations(truth, outcomes)


def test_a_payment_answered_202_but_stuck_is_lost() -> None:
    truth, outcomes = clean_world()
    truth.db_payments[1]["status"] = "pending"
    truth.api_status[truth.db_payments[1]["id"]] = "pending"

    assert "nothing lost" in violations(truth, outcomes)


def test_a_payment_answered_202_but_missing_from_the_db_is_lost() -> None:
    truth, outcomes = clean_world()
    outcomes.append(Outcome(uuid.uuid4(), "k3", str(uuid.uuid4()), 202))

    assert "nothing lost" in violations(truth, outcomes)


def test_our_status_must_equal_the_providers() -> None:
    truth, outcomes = clean_world()
    truth.ledger_payments[1]["status"] = "succeeded"

    assert "nothing lost" in violations(truth, outcomes)


def test_a_provider_refund_missing_from_our_db_is_caught() -> None:
    truth, outcomes = clean_world()
    truth.ledger_refunds.append(
        {
            "id": str(uuid.uuid4()),
            "payment_id": EXTERNAL,
            "status": "succeeded",
            "amount": {"value": "50.00", "currency": "RUB"},
        }
    )

    assert "refunds" in violations(truth, outcomes)


def test_refunding_more_than_was_paid_is_caught() -> None:
    truth, outcomes = clean_world()
    truth.ledger_refunds[0]["amount"] = {"value": "600.00", "currency": "RUB"}

    assert "refunds" in violations(truth, outcomes)


@pytest.mark.parametrize("where", ["roles", "subscribers"])
def test_a_role_without_a_live_subscription_is_caught(where: str) -> None:
    truth, outcomes = clean_world()
    if where == "roles":
        truth.roles[OTHER_USER] = ["subscriber"]
    else:
        truth.subscribers[OTHER_USER] = True

    assert "role held exactly while active" in violations(truth, outcomes)


@pytest.mark.parametrize("status", ["expired", "canceled"])
def test_an_ended_subscription_must_revoke_the_role(status: str) -> None:
    truth, outcomes = clean_world()
    truth.subscription_status[USER] = status

    assert "role held exactly while active" in violations(truth, outcomes)


def test_a_past_due_subscription_keeps_the_role() -> None:
    truth, outcomes = clean_world()
    truth.subscription_status[USER] = "past_due"

    assert violations(truth, outcomes) == {}


def test_a_second_charge_for_one_subscription_period_is_caught() -> None:
    truth, outcomes = clean_world()
    renewal = {"subscription_id": "s-1", "period": "2", "user_id": USER}
    for _ in range(2):  # the clean world's own charge is for s-0 period 1
        truth.ledger_payments.append(
            {"id": f"r-{_}", "status": "succeeded", "metadata": renewal, "amount": {"value": "1"}}
        )
    found = [c for c in check_all(truth, outcomes) if c.name.startswith("one charge")]
    assert found[0].violations and found[0].checked == 1


def test_a_final_event_never_notified_is_caught() -> None:
    truth, outcomes = clean_world()
    truth.notifications[OTHER_USER] = []

    assert "notifications" in violations(truth, outcomes)


def test_two_deliveries_for_one_dedup_key_are_caught_but_marked_duplicates_are_not() -> None:
    truth, outcomes = clean_world()
    first = truth.notifications[USER][0]
    truth.notifications[USER].append(first | {"duplicate": True})
    assert violations(truth, outcomes) == {}

    truth.notifications[USER].append(dict(first))
    assert "notifications" in violations(truth, outcomes)


def test_lag_unpublished_outbox_and_unexplained_dead_letters_are_stuck_messages() -> None:
    for breach in ("lag", "outbox", "dead letter"):
        truth, outcomes = clean_world()
        if breach == "lag":
            truth.lag["billing-consumer-notifications"] = 3
        elif breach == "outbox":
            truth.outbox[0]["published"] = False
        else:
            truth.dead_letters.append(
                {
                    "id": 1,
                    "consumer": "notifications",
                    "message_id": str(uuid.uuid4()),
                    "error": "x",
                }
            )
        assert "no stuck messages" in violations(truth, outcomes), breach


def test_a_dead_letter_handled_after_reinjection_is_explained() -> None:
    truth, outcomes = clean_world()
    message = str(uuid.uuid4())
    truth.dead_letters.append(
        {"id": 1, "consumer": "notifications", "message_id": message, "error": "x"}
    )
    truth.handled.add(("notifications", message))

    assert violations(truth, outcomes) == {}


def test_a_client_that_saw_another_payment_id_for_its_key_is_a_violation() -> None:
    truth, outcomes = clean_world()
    outcomes[0].problems.append("same Idempotency-Key answered with another payment_id")

    assert "no double charge" in violations(truth, outcomes)


@pytest.mark.parametrize("where", ["ledger_payments", "ledger_refunds"])
def test_a_payment_or_refund_at_the_provider_without_a_receipt_is_caught(where: str) -> None:
    truth, outcomes = clean_world()
    getattr(truth, where)[0]["receipt"] = None

    assert "receipts" in violations(truth, outcomes)
    truth.receipts_on = False  # PROVIDER_RECEIPTS=off: none is sent, none is missing
    assert violations(truth, outcomes) == {}


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("db_payments", "provider_rejected: Invalid receipt: receipt is required"),
        ("db_refunds", "provider_rejected: Invalid receipt: items add up to 10.00"),
        ("db_payments", "receipt_contact_required"),
    ],
)
def test_a_payment_or_refund_failed_over_its_receipt_is_caught(where: str, reason: str) -> None:
    """A 54-FZ shop refuses it (nothing at the provider), and `failed` alone looks legal."""
    truth, outcomes = clean_world()
    getattr(truth, where)[0]["failure_reason"] = reason

    assert "receipts" in violations(truth, outcomes)
