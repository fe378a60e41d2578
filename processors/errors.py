"""Errors of the processors, one tree.

BillingError
 ├── DomainError
 │    ├── InvalidTransition       a status change the ALLOWED table forbids
 │    └── RefundExceedsPayment    more money back than is left on the payment
 ├── ProviderError
 │    ├── ProviderRejected        permanent: the provider said no (4xx); never retried
 │    │    └── ProviderNotFound   404: the object does not exist (forged webhook, wrong id)
 │    └── ProviderUnavailable     transient: 5xx, 429, timeout, connection; retried, same key
 └── NotYetRecorded               our row is not there yet (webhook first); retried in its lane
"""


class BillingError(Exception):
    """Root of every error this package raises on purpose."""


class DomainError(BillingError):
    pass


class InvalidTransition(DomainError):
    pass


class RefundExceedsPayment(DomainError):
    pass


class ProviderError(BillingError):
    pass


class ProviderRejected(ProviderError):
    """The provider refused the request for good (4xx other than 401/429)."""

    def __init__(self, message: str, *, status_code: int = 400, code: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class ProviderNotFound(ProviderRejected):
    pass


class ProviderUnavailable(ProviderError):
    """Retrying later with the same Idempotence-Key may succeed."""


class NotYetRecorded(BillingError):
    """A message refers to a row we have not written yet; retry, never drop."""
