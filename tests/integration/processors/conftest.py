"""Fixtures of the processors' integration tests; the harness lives in processors_harness.py."""

from processors_harness import (  # noqa: F401
    ctx,
    gateway,
    processors,
    provider_url,
    sandbox,
    settings,
)
