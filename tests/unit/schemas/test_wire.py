import json
import uuid
from decimal import Decimal

import pytest

from schemas import CreatePayment, RefundSucceeded, decode, encode, ids
from schemas.codec import UndecodableMessage
from schemas.export import DEFAULT_DIR, render


def _create(**overrides: object) -> CreatePayment:
    fields: dict[str, object] = {
        "payment_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "plan_id": "monthly",
        "amount": Decimal("499.00"),
        "currency": "RUB",
        "return_url": "https://cinema.example/return",
    }
    fields.update(overrides)
    return CreatePayment(**fields)  # type: ignore[arg-type]


def test_command_round_trips_through_the_codec() -> None:
    command = _create()
    assert decode(encode(command)) == command


def test_money_crosses_the_wire_as_a_decimal_string() -> None:
    assert b'"amount":"499.00"' in encode(_create())


@pytest.mark.parametrize("amount", ["-1.00", "1.001", "NaN", "Infinity"])
def test_invalid_money_is_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        _create(amount=Decimal(amount))


def test_a_command_id_is_derived_from_what_it_is_about() -> None:
    command = _create()
    assert command.message_id == ids.message_id("CreatePayment", command.payment_id)
    assert decode(encode(command)).message_id == command.message_id


def test_a_command_with_another_id_is_refused() -> None:
    with pytest.raises(ValueError, match="message_id must be"):
        _create(message_id=uuid.uuid4())


def test_unknown_message_type_is_undecodable() -> None:
    with pytest.raises(UndecodableMessage):
        decode(f'{{"type":"ChargeTwice","schema_version":1,"message_id":"{uuid.uuid4()}"}}')


def test_an_unknown_field_is_ignored_but_a_missing_mistyped_or_future_version_is_not() -> None:
    """A rolling deploy: a newer writer's extra field must not make this reader refuse it."""
    wire = json.loads(encode(_create()))
    assert decode(json.dumps({**wire, "coupon": "SPRING"})) == decode(json.dumps(wire))
    for broken in (
        {k: v for k, v in wire.items() if k != "amount"},
        {**wire, "amount": "lots"},
        {**wire, "schema_version": 2},
    ):
        with pytest.raises(UndecodableMessage):
            decode(json.dumps(broken))


def test_malformed_json_is_undecodable() -> None:
    with pytest.raises(UndecodableMessage):
        decode(b"{not json")


def test_event_decodes_to_its_own_type() -> None:
    event = RefundSucceeded(
        message_id=uuid.uuid4(),
        refund_id=uuid.uuid4(),
        payment_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        amount=Decimal("100.00"),
        currency="RUB",
        external_id=uuid.uuid4(),
        payment_refunded_amount=Decimal("100.00"),
        payment_refunded=False,
    )
    assert isinstance(decode(encode(event)), RefundSucceeded)


def test_ids_are_deterministic_and_distinct_per_user_and_key() -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    assert ids.payment_id(user, "k1") == ids.payment_id(user, "k1")
    assert ids.payment_id(user, "k1") != ids.payment_id(other, "k1")
    assert ids.payment_id(user, "k1") != ids.refund_id(user, "k1")
    assert ids.message_id("PaymentSucceeded", user) != ids.message_id("PaymentCanceled", user)


def test_committed_json_schemas_are_not_stale() -> None:
    expected = render()
    on_disk = {path.name: path.read_text() for path in DEFAULT_DIR.glob("*.json")}
    assert on_disk == expected, "run `python -m schemas.export` and commit schemas/json/"
