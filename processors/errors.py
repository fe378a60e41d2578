"""Errors of the provider edge, one tree (the business rules' refusals are `domain.errors`).

ProviderError
 ├── ProviderRejected        permanent: the provider said no (4xx); never retried
 │    └── ProviderNotFound   404: the object does not exist (forged webhook, wrong id)
 ├── ProviderUnavailable     transient: 5xx, 429, timeout, connection; retried, same key
 ├── ProviderAnswerInvalid   an answer we cannot read (unknown status); surfaces in the lane
 └── LedgerAnomaly           the provider's money contradicts our ledger; dead-lettered
"""


class ProviderError(Exception):
    """Root of every error the provider adapter raises on purpose."""


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


class ProviderAnswerInvalid(ProviderError):
    """The provider answered something we cannot read (an unknown status): not applied,
    not retried with a new body; it surfaces in the lane and the reconciler sees it again."""


class LedgerAnomaly(ProviderError):
    """The provider's object contradicts our ledger (another amount or currency, another
    provider id than the one we hold, a refund of more than is left): not applied. Raised
    with `processors.apply.contradiction`, which counts it; the message it came with is
    dead-lettered with this as its reason, for an operator."""
