"""Errors the simulated provider answers with, in YooKassa's error-object format.

``ProviderError`` (carries HTTP status + YooKassa ``code``)
 ├── ``InvalidRequest``      400 ``invalid_request`` (validation, idempotence key reuse, refunds)
 ├── ``InvalidCredentials``  401 ``invalid_credentials``
 ├── ``Forbidden``           403 ``forbidden`` (fault injection)
 ├── ``NotFound``            404 ``not_found`` (also any unknown route)
 ├── ``MethodNotAllowed``    405 ``invalid_request`` (a known route, another method)
 ├── ``TooManyRequests``     429 ``too_many_requests`` + ``Retry-After`` (fault injection)
 └── ``InjectedFailure``     500 ``internal_server_error`` (fault injection, or a sandbox bug)
"""

from __future__ import annotations

import uuid
from typing import Any


class ProviderError(Exception):
    status_code = 500
    code = "internal_server_error"
    headers: dict[str, str] | None = None

    def __init__(self, description: str, parameter: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.parameter = parameter

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "error",
            "id": str(uuid.uuid4()),
            "code": self.code,
            "description": self.description,
        }
        if self.parameter is not None:
            body["parameter"] = self.parameter
        return body


class InvalidRequest(ProviderError):
    status_code = 400
    code = "invalid_request"


class InvalidCredentials(ProviderError):
    status_code = 401
    code = "invalid_credentials"


class Forbidden(ProviderError):
    status_code = 403
    code = "forbidden"


class NotFound(ProviderError):
    status_code = 404
    code = "not_found"


class MethodNotAllowed(ProviderError):
    status_code = 405
    code = "invalid_request"


class TooManyRequests(ProviderError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, description: str, retry_after_s: int) -> None:
        super().__init__(description)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(retry_after_s)}

    def to_wire(self) -> dict[str, Any]:
        """YooKassa also puts the pause in the body, in milliseconds (``retry_after``)."""
        return {**super().to_wire(), "retry_after": self.retry_after_s * 1000}


class InjectedFailure(ProviderError):
    status_code = 500
    code = "internal_server_error"


class IdempotenceKeyReused(InvalidRequest):
    """Same ``Idempotence-Key`` with another request body (YooKassa's exact wording)."""

    def __init__(self) -> None:
        super().__init__("Idempotence key duplicated", parameter="Idempotence-Key")


class UnknownCard(Exception):
    """The card number is not one of the sandbox test cards."""
