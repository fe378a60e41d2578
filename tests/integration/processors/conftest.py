"""Fixtures of the processors' integration tests; the harness lives in processors_harness.py."""

from collections.abc import Callable

import pytest
from processors_harness import (  # noqa: F401
    ctx,
    gateway,
    processors,
    provider_url,
    sandbox,
    settings,
)


@pytest.fixture(scope="module", autouse=True)
def stack_janitors_paused(pause_stack_programs: Callable[..., None]) -> None:
    """The stack's reconciler and scheduler work the same tables as these tests' own passes:
    the stack's reconciler re-drove a test's accepted payment before the test's `run_once`
    (which then found nothing to re-drive). Paused while each module runs."""
    pause_stack_programs("reconciler", "scheduler")
