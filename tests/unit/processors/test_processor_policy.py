"""The processors' per-record policy on the common loop: retry until it works, skip only junk."""

from common.retry import OUTAGES
from processors.errors import ProviderAnswerInvalid, ProviderUnavailable
from processors.runtime import POLICY
from schemas.codec import UndecodableMessage


def test_every_failure_but_an_undecodable_record_is_retried_forever() -> None:
    assert POLICY.attempts is None and not POLICY.exhausted(10**6)
    assert POLICY.permanent == (UndecodableMessage,)
    for retried in (ProviderUnavailable, ProviderAnswerInvalid, *OUTAGES, RuntimeError):
        assert not issubclass(retried, POLICY.permanent)
    assert POLICY.max_seconds == 30.0 and POLICY.base_seconds == 0.2
