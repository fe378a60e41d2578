"""Parsing of the refund body, and exact amounts: JSON numbers become Decimal, never float.

`json.loads` with `parse_float=Decimal` keeps `100.10` as `Decimal("100.10")` and makes
`1e309` a huge Decimal instead of `inf`; `NaN`/`Infinity` literals are refused outright.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.errors import AmountNotAllowed, InvalidAmount, ValidationFailed

MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2)
CENT = Decimal("0.01")
_DECIMAL_STRING = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _refuse_constant(name: str) -> Any:
    raise InvalidAmount(f"{name} is not an amount")


def parse_refund_body(raw: bytes) -> str | None:
    """The user's reason, if any. The amount is the refund policy's: asking for one is a 422."""
    if not raw.strip():
        return None
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    if "amount" in body:
        raise AmountNotAllowed()
    extra = set(body) - {"reason"}
    if extra:
        raise ValidationFailed(f"unexpected fields: {', '.join(sorted(extra))}")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValidationFailed("reason must be a string of at most 500 characters")
    return reason


def parse_amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise InvalidAmount()
    if isinstance(value, str):
        if not _DECIMAL_STRING.match(value):
            raise InvalidAmount()
        value = Decimal(value)
    elif isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidAmount()
    return _checked(value)


def _checked(amount: Decimal) -> Decimal:
    if amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidAmount()
    try:
        exact = amount.quantize(CENT)
    except InvalidOperation as exc:
        raise InvalidAmount() from exc
    if exact != amount:
        raise InvalidAmount("amount has more than 2 decimal places")
    return exact
