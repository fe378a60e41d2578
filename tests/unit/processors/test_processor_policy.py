"""The processors' per-record policy on the common loop: retry until it works, dead-letter
only what can never succeed (an undecodable record, an unreadable provider answer, a request
the provider refused for good, provider money that contradicts our ledger)."""

import pytest
from fakes import FakeDeps
from world import notification, origin

from common.retry import OUTAGES
from processors import webhooks
from processors.errors import (
    LedgerAnomaly,
    ProviderAnswerInvalid,
    ProviderRejected,
    ProviderUnavailable,
)
from processors.runtime import POLICY
from schemas.codec import UndecodableMessage


def test_transient_failures_are_retried_forever_and_only_poison_gives_up() -> None:
    assert POLICY.attempts is None and not POLICY.exhausted(10**6)
    assert set(POLICY.permanent) == {
        UndecodableMessage,
        ProviderAnswerInvalid,
        ProviderRejected,
        LedgerAnomaly,
    }
    for retried in (ProviderUnavailable, *OUTAGES, RuntimeError):
        assert not issubclass(retried, POLICY.permanent)
    assert POLICY.max_seconds == 30.0 and POLICY.base_seconds == 0.2


async def test_a_webhook_whose_re_read_is_refused_is_dead_lettered_not_retried_forever() -> None:
    """A 403 on the re-read escapes the handler: it must be one the lane gives up at once."""
    deps = FakeDeps()
    note = notification("ext-1", "payment.succeeded")
    deps.provider.faults.append(ProviderRejected("forbidden", status_code=403))
    with pytest.raises(POLICY.permanent):
        await webhooks.handle_notification(note, origin(webhooks.CONSUMER, note), deps)
