"""Parsing of ``/v3/`` request bodies into validated commands.

Bodies are parsed with ``parse_float=Decimal`` so that a numeric ``value`` never passes
through a float. Every problem becomes YooKassa's 400 ``invalid_request`` with the
offending ``parameter``. A field the sandbox does not implement is refused, never ignored;
an empty list or ``null`` (what the official SDK sends for ``transfers``, ``statements``,
``sources`` when unused) counts as not used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.provider.domain import parse_money
from sandbox.provider.errors import InvalidRequest
from sandbox.provider.receipts import check_receipt

MAX_KEY_LENGTH = 64
UNUSED_OK = frozenset({"transfers", "statements", "sources", "airline", "deal"})
PAYMENT_FIELDS = frozenset(
    {
        "amount",
        "capture",
        "confirmation",
        "description",
        "metadata",
        "save_payment_method",
        "payment_method_id",
        "payment_method_data",
        "receipt",
    }
)
REFUND_FIELDS = frozenset({"payment_id", "amount", "description", "metadata", "receipt"})
CAPTURE_FIELDS = frozenset({"amount", "receipt"})
AMOUNT_FIELDS = frozenset({"value", "currency"})
CONFIRMATION_FIELDS = frozenset({"type", "return_url"})


@dataclass(frozen=True)
class CreatePayment:
    amount: Decimal
    currency: str
    return_url: str
    """Empty for an autopayment, which has no confirmation."""
    description: str | None
    metadata: dict[str, Any]
    save_payment_method: bool = False
    payment_method_id: str | None = None
    capture: bool = True
    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class CreateRefund:
    payment_id: str
    amount: Decimal
    currency: str
    description: str | None
    metadata: dict[str, Any]
    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class CapturePayment:
    amount: Decimal | None
    currency: str | None
    receipt: Any
    """Checked against the captured amount once the payment is known."""


def idempotence_key(header: str | None) -> str:
    if not header:
        raise InvalidRequest("Idempotence-Key header is required", parameter="Idempotence-Key")
    if len(header) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"Idempotence-Key must be at most {MAX_KEY_LENGTH} characters",
            parameter="Idempotence-Key",
        )
    return header


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object")
    return body


def parse_optional_body(raw: bytes) -> dict[str, Any]:
    """Capture and cancel take no body, an empty one, or ``{}`` alike."""
    return parse_body(raw) if raw.strip() else {}


def fingerprint(kind: str, body: dict[str, Any]) -> str:
    """Same request ⇔ same canonical JSON; ``"1.00"`` and ``1.00`` count as equal."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{kind}\n{canonical}".encode()).hexdigest()


def create_payment(body: dict[str, Any], receipts_required: bool) -> CreatePayment:
    only(body, PAYMENT_FIELDS)
    value, currency = _amount(body)
    capture = body.get("capture", False)  # YooKassa's default: two-stage
    if not isinstance(capture, bool):
        raise InvalidRequest("capture must be a boolean", parameter="capture")
    _payment_method_data(body)
    method_id = _payment_method_id(body)
    return CreatePayment(
        amount=value,
        currency=currency,
        return_url="" if method_id else _return_url(body),
        description=_description(body),
        metadata=_metadata(body),
        save_payment_method=_save_payment_method(body, method_id),
        payment_method_id=method_id,
        capture=capture,
        receipt=check_receipt(body.get("receipt"), value, currency, receipts_required),
    )


def capture_payment(body: dict[str, Any]) -> CapturePayment:
    only(body, CAPTURE_FIELDS)
    if "amount" not in body:
        return CapturePayment(None, None, body.get("receipt"))
    value, currency = _amount(body)
    return CapturePayment(value, currency, body.get("receipt"))


def only(body: dict[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
    """Refuse any field outside ``allowed``; an unused SDK default (``[]``/``null``) is fine."""
    for name, value in body.items():
        if name in allowed or (name in UNUSED_OK and value in (None, [], {})):
            continue
        raise InvalidRequest(
            f"{prefix}{name} is not supported by the sandbox", parameter=f"{prefix}{name}"
        )


def _amount(body: dict[str, Any]) -> tuple[Decimal, str]:
    amount = _object(body, "amount")
    only(amount, AMOUNT_FIELDS, "amount.")
    return parse_money(amount.get("value"), amount.get("currency"))


def _payment_method_data(body: dict[str, Any]) -> None:
    """Only ``{"type": "bank_card"}``: the card itself is typed on the payment page."""
    data = body.get("payment_method_data")
    if data is None:
        return
    if not isinstance(data, dict) or data.get("type") != "bank_card":
        raise InvalidRequest(
            "Only payment_method_data.type=bank_card is supported", "payment_method_data.type"
        )
    only(data, frozenset({"type"}), "payment_method_data.")


def _payment_method_id(body: dict[str, Any]) -> str | None:
    """An autopayment: a saved card charged with nobody present, so no ``confirmation``."""
    method_id = body.get("payment_method_id")
    if method_id is None:
        return None
    if not isinstance(method_id, str) or not method_id:
        raise InvalidRequest("payment_method_id must be a string", "payment_method_id")
    if body.get("confirmation") is not None:
        raise InvalidRequest(
            "The sandbox charges a saved card only without confirmation (an autopayment)",
            parameter="confirmation",
        )
    return method_id


def _save_payment_method(body: dict[str, Any], method_id: str | None) -> bool:
    save = body.get("save_payment_method", False)
    if not isinstance(save, bool):
        raise InvalidRequest("save_payment_method must be a boolean", "save_payment_method")
    if save and method_id:
        raise InvalidRequest(
            "save_payment_method cannot be used with payment_method_id", "save_payment_method"
        )
    return save


def _return_url(body: dict[str, Any]) -> str:
    confirmation = _object(body, "confirmation")
    only(confirmation, CONFIRMATION_FIELDS, "confirmation.")
    if confirmation.get("type") != "redirect":
        raise InvalidRequest("Only confirmation.type=redirect is supported", "confirmation.type")
    return_url = confirmation.get("return_url")
    if not isinstance(return_url, str) or not 0 < len(return_url) <= 2048:
        raise InvalidRequest("confirmation.return_url is required", "confirmation.return_url")
    return return_url


def create_refund(body: dict[str, Any], receipts_required: bool) -> CreateRefund:
    only(body, REFUND_FIELDS)
    payment_id = body.get("payment_id")
    if not isinstance(payment_id, str) or not payment_id:
        raise InvalidRequest("payment_id is required", parameter="payment_id")
    value, currency = _amount(body)
    return CreateRefund(
        payment_id=payment_id,
        amount=value,
        currency=currency,
        description=_description(body),
        metadata=_metadata(body),
        receipt=check_receipt(body.get("receipt"), value, currency, receipts_required),
    )


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name} is required", parameter=name)
    return value


def _description(body: dict[str, Any]) -> str | None:
    description = body.get("description")
    if description is None:
        return None
    if not isinstance(description, str) or len(description) > 128:
        raise InvalidRequest(
            "description must be a string of at most 128 characters", parameter="description"
        )
    return description


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    """YooKassa metadata: at most 16 keys of ≤32 chars, scalar values of ≤512 chars."""
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise InvalidRequest("metadata must be an object of at most 16 keys", "metadata")
    for key, value in metadata.items():
        if len(key) > 32 or isinstance(value, dict | list) or len(str(value)) > 512:
            raise InvalidRequest(f"Invalid metadata key {key!r}", parameter="metadata")
    return {key: (str(v) if isinstance(v, Decimal) else v) for key, v in metadata.items()}
