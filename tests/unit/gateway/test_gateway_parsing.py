import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.amounts import parse_amount, parse_refund_body
from gateway.errors import (
    AmountNotAllowed,
    ForbiddenSource,
    InvalidAmount,
    InvalidCursor,
    InvalidNotification,
    ValidationFailed,
)
from gateway.payments import requested_wait
from gateway.routes.payments import decode_cursor, encode_cursor
from gateway.settings import GatewaySettings
from gateway.webhooks import check_source, parse_notification
from schemas import ids


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b"", None), (b"{}", None), (b'{"reason": "moving abroad"}', "moving abroad")],
)
def test_a_refund_body_carries_at_most_a_reason(raw: bytes, expected: str | None) -> None:
    assert parse_refund_body(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": "498.99"}',
        b'{"amount": 100.1}',
        b'{"amount": null}',
        b'{"amount": "0"}',
        b'{"reason": "x", "amount": "1.00"}',
    ],
)
def test_a_refund_body_naming_an_amount_is_refused_the_policy_sets_it(raw: bytes) -> None:
    """Issue 9: a user refunded 498.99 of 499.00 and kept the subscription for 0.01."""
    with pytest.raises(AmountNotAllowed):
        parse_refund_body(raw)


@pytest.mark.parametrize("raw", [b'{"amount": NaN}', b'{"amount": Infinity}'])
def test_non_numbers_in_a_refund_body_are_refused_before_anything_else(raw: bytes) -> None:
    with pytest.raises(InvalidAmount):
        parse_refund_body(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100.00", "100.00"), ("100.1", "100.10"), (Decimal("0.3"), "0.30"), (7, "7.00")],
)
def test_an_amount_is_parsed_exactly(value: object, expected: str) -> None:
    assert parse_amount(value) == Decimal(expected)


@pytest.mark.parametrize(
    "value",
    [
        "0",
        0,
        "-1",
        "NaN",
        Decimal("Infinity"),
        "1.005",
        Decimal("1.005"),
        "abc",
        True,
        " 1",
        Decimal("1e-7"),
        "10000000000.00",
    ],
)
def test_an_amount_that_is_not_positive_money_is_refused(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(value)


@pytest.mark.parametrize(
    "raw", [b"[]", b'"x"', b"{", b'{"reason": "x", "currency": "USD"}', b'{"reason": 5}']
)
def test_refund_body_that_is_not_the_expected_object_is_refused(raw: bytes) -> None:
    with pytest.raises(ValidationFailed):
        parse_refund_body(raw)


@pytest.mark.parametrize(
    ("prefer", "seconds"),
    [
        (None, 0),
        ("", 0),
        ("wait=3", 3),
        ("respond-async, wait=5", 5),
        ("wait=99", 10),
        ("WAIT=2", 2),
        ("wait=abc", 0),
        ("wait=-1", 0),
        ("handling=lenient; wait=1", 1),
    ],
)
def test_prefer_wait_is_read_and_clamped_to_ten_seconds(prefer: str | None, seconds: int) -> None:
    assert requested_wait(prefer) == seconds


def test_cursor_round_trips_to_the_same_position() -> None:
    created_at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    payment_id = uuid.uuid4()
    assert decode_cursor(encode_cursor(created_at, payment_id)) == (created_at, payment_id)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90LWEtY3Vyc29y", "MjAyNi0wMS0wMnx4"])
def test_forged_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def notification(event: str, obj: dict[str, object]) -> bytes:
    return json.dumps({"type": "notification", "event": event, "object": obj}).encode()


def test_payment_notification_is_keyed_by_the_provider_payment_id() -> None:
    external = str(uuid.uuid4())
    parsed = parse_notification(
        notification("payment.succeeded", {"id": external, "status": "succeeded"})
    )
    assert (parsed.event, parsed.object_id, parsed.payment_external_id) == (
        "payment.succeeded",
        external,
        external,
    )
    assert parsed.message_id == ids.message_id(
        "ProviderNotification", external, "payment.succeeded", "succeeded"
    )


def test_refund_notification_is_keyed_by_its_payment() -> None:
    refund, payment = str(uuid.uuid4()), str(uuid.uuid4())
    parsed = parse_notification(
        notification("refund.succeeded", {"id": refund, "payment_id": payment})
    )
    assert (parsed.object_id, parsed.payment_external_id) == (refund, payment)
    assert parsed.message_id == ids.message_id(
        "ProviderNotification", refund, "refund.succeeded", ""
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"type": "notification"}',
        b'{"type": "other", "event": "payment.succeeded", "object": {"id": "x"}}',
        notification("payment.exploded", {"id": "x"}),
        notification("payment.succeeded", {}),
        notification("payment.succeeded", {"id": 5}),
        notification("payment.succeeded", {"id": ""}),
        notification("refund.succeeded", {"id": "r"}),
        b'{"type": "notification", "event": "payment.succeeded", "object": "x"}',
    ],
)
def test_body_that_is_not_a_notification_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidNotification):
        parse_notification(raw)


def test_webhook_source_outside_allowed_networks_is_forbidden() -> None:
    networks = GatewaySettings(
        _env_file=None, webhook_allowed_networks="185.71.76.0/27, 2a02:5180::/32"
    ).webhook_networks()
    check_source("185.71.76.5", networks)
    check_source("2a02:5180::1", networks)
    check_source("10.0.0.1", [])
    for host in ("10.0.0.1", None, "not-an-ip"):
        with pytest.raises(ForbiddenSource):
            check_source(host, networks)
