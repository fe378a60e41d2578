"""The processors' per-record policy on the common loop: retry until it works, dead-letter
only what can never succeed (an undecodable record, an unreadable provider answer)."""

from common.retry import OUTAGES
from processors.errors import ProviderAnswerInvalid, ProviderRejected, ProviderUnavailable
from processors.runtime import POLICY
from schemas.codec import UndecodableMessage


def test_transient_failures_are_retried_forever_and_only_poison_gives_up() -> None:
    assert POLICY.attempts is None and not POLICY.exhausted(10**6)
    assert set(POLICY.permanent) == {UndecodableMessage, ProviderAnswerInvalid}
    for retried in (ProviderUnavailable, ProviderRejected, *OUTAGES, RuntimeError):
        assert not issubclass(retried, POLICY.permanent)
    assert POLICY.max_seconds == 30.0 and POLICY.base_seconds == 0.2
