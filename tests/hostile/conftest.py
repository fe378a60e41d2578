"""Hostile input against the running stack; every test here is marked e2e."""

from pathlib import Path

import pytest

from tests.e2e.fixtures import db, http, mark_e2e, paid_payment, stack, urls, user  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_e2e(items, Path(__file__).resolve().parent)
