"""Exact parsing of the refund body: JSON numbers become Decimal, never float.

`json.loads` with `parse_float=Decimal` keeps `100.10` as `Decimal("100.10")` and makes
`1e309` a huge Decimal instead of `inf`; `NaN`/`Infinity` literals are refused outright.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.errors import InvalidAmount, ValidationFailed

MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12,2)
CENT = Decimal("0.01")
_DECIMAL_STRING = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _refuse_constant(name: str) -> Any:
    raise InvalidAmount(f"{name} is not an amount")


def parse_refund_body(raw: bytes) -> Decimal | None:
    """The requested amount, or None for "everything left"; raises a 422 error otherwise."""
    if not raw.strip():
        return None
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    extra = set(body) - {"amount"}
    if extra:
        raise ValidationFailed(f"unexpected fields: {', '.join(sorted(extra))}")
    if body.get("amount") is None:
        return None
    return parse_amount(body["amount"])


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
