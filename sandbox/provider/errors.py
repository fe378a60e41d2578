"""Errors the simulated provider answers with, in YooKassa's error-object format.

``ProviderError`` (carries HTTP status + YooKassa ``code``)
 ├── ``InvalidRequest``      400 ``invalid_request`` (validation, idempotence key reuse, refunds)
 ├── ``InvalidCredentials``  401 ``invalid_credentials``
 ├── ``NotFound``            404 ``not_found``
 └── ``InjectedFailure``     500 ``internal_server_error`` (fault injection only)
"""

from __future__ import annotations

import uuid
from typing import Any


class ProviderError(Exception):
    status_code = 500
    code = "internal_server_error"

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


class NotFound(ProviderError):
    status_code = 404
    code = "not_found"


class InjectedFailure(ProviderError):
    status_code = 500
    code = "internal_server_error"


class IdempotenceKeyReused(InvalidRequest):
    """Same ``Idempotence-Key`` with another request body (YooKassa's exact wording)."""

    def __init__(self) -> None:
        super().__init__("Idempotence key duplicated", parameter="Idempotence-Key")


class UnknownCard(Exception):
    """The card number is not one of the sandbox test cards."""
