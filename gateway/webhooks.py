"""Provider webhook intake: check the shape, hand it to Kafka as received.

Only the shape is checked; the content is never trusted for money (processors re-read
the payment or refund from the provider). The message_id includes the event and the
object's status, so a provider's duplicate delivery dedupes while a later, different
notification about the same object does not.
"""

import ipaddress
import json
from typing import Any

from gateway.errors import ForbiddenSource, InvalidNotification
from gateway.settings import Network
from schemas import ids
from schemas.messages import ProviderNotification

EVENTS = frozenset(
    {
        "payment.succeeded",
        "payment.canceled",
        "payment.waiting_for_capture",
        "refund.succeeded",
        "refund.canceled",  # CONTRACT §4
    }
)


def parse_notification(raw: bytes) -> ProviderNotification:
    body = _json_object(raw)
    event, obj = body.get("event"), body.get("object")
    if body.get("type") != "notification" or event not in EVENTS or not isinstance(obj, dict):
        raise InvalidNotification()
    object_id = _text(obj.get("id"))
    payment_external_id = _text(obj.get("payment_id")) if event.startswith("refund.") else object_id
    status = obj.get("status")
    return ProviderNotification(
        message_id=ids.message_id(
            "ProviderNotification", object_id, event, status if isinstance(status, str) else ""
        ),
        event=event,
        object_id=object_id,
        payment_external_id=payment_external_id,
        body=body,
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidNotification("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidNotification()
    return body


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise InvalidNotification("the notification names no object id")
    return value


def check_source(host: str | None, networks: list[Network]) -> None:
    """403 unless the sender is in one of `networks` (no list configured = everyone)."""
    if not networks:
        return
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError as exc:
        raise ForbiddenSource() from exc
    if not any(address in network for network in networks):
        raise ForbiddenSource()
