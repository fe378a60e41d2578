"""Whole-stack tests (replay, the billing CLI against the stack); marked e2e where they need it."""

from tests.e2e.fixtures import db, http, paid_payment, stack, urls, user  # noqa: F401
