"""429 ``too_many_requests``: wait as long as the provider asked before trying again.

YooKassa sends the pause as a ``Retry-After`` header (seconds) and as ``retry_after`` in the
error body (milliseconds); either is honoured, capped so that a bogus value cannot park a
processor lane for long. A throttled call is still transient (``ProviderUnavailable``): if
the bounded retries run out, the caller leaves it to the reconciler like any other outage.
"""

import math

from processors.errors import ProviderUnavailable
from processors.provider.http import HttpAnswer

MAX_RETRY_AFTER_S = 60.0


class ProviderThrottled(ProviderUnavailable):
    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def throttled(response: HttpAnswer) -> ProviderThrottled:
    wait = retry_after_s(response)
    return ProviderThrottled(f"provider answered 429 (retry after {wait} s)", wait)


def retry_after_s(response: HttpAnswer) -> float | None:
    seconds = _number(response.headers.get("Retry-After"))
    if seconds is None:
        millis = _number(_body(response).get("retry_after"))
        seconds = None if millis is None else millis / 1000
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


def pause_before_retry(error: Exception | None, backoff_s: float) -> float:
    """The backoff, or longer when the provider asked for a longer pause."""
    asked = getattr(error, "retry_after_s", None)
    return backoff_s if asked is None else max(backoff_s, float(asked))


def _number(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _body(response: HttpAnswer) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
