"""Django admin tests: pytest-django against the real PostgreSQL (a test database built by the
migrations, payments_history schema included) and the real Kafka.

DJANGO_SETTINGS_MODULE is set here, not globally: the other test folders are not Django.
"""

import os
import uuid
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "admin_project.settings")

import django  # noqa: E402

django.setup()  # test modules import models at collection time, before pytest-django would

import pytest  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from schemas import ids  # noqa: E402

PASSWORD = "test-password-123"


@pytest.fixture(autouse=True)
def _static_storage(settings) -> None:  # type: ignore[no-untyped-def]
    """No collectstatic in tests: plain storage resolves `{% static %}` without a manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def groups(db) -> dict[str, Group]:  # type: ignore[no-untyped-def]
    from admin_project.billing.management.commands.bootstrap import ensure_groups

    support, finance = ensure_groups()
    return {"support": support, "finance": finance}


def _user(role: str, groups: dict[str, Group]) -> User:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    if role == "superuser":
        return User.objects.create_superuser(name, f"{name}@example.com", PASSWORD)
    user = User.objects.create_user(name, f"{name}@example.com", PASSWORD, is_staff=role != "user")
    if role in groups:
        user.groups.add(groups[role])
    return user


@pytest.fixture
def make_client(groups: dict[str, Group]) -> Callable[..., Client]:
    def make(role: str, enforce_csrf: bool = False) -> Client:
        client = Client(enforce_csrf_checks=enforce_csrf)
        client.force_login(_user(role, groups))
        return client

    return make


@pytest.fixture
def admin_client_(make_client: Callable[..., Client]) -> Client:
    return make_client("superuser")


@pytest.fixture
def make_payment(db) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    from admin_project.billing.models import Payment, Plan

    def make(**fields: object) -> Payment:
        user_id = fields.pop("user_id", uuid.uuid4())
        key = f"test-{uuid.uuid4().hex}"
        plan = Plan.objects.get(id=fields.pop("plan_id", "monthly"))
        values: dict[str, object] = {
            "id": ids.payment_id(user_id, key),  # type: ignore[arg-type]
            "user_id": user_id,
            "plan": plan,
            "amount": plan.amount,
            "currency": plan.currency,
            "status": "succeeded",
            "external_id": uuid.uuid4(),
            "external_payment": {"id": "x", "status": "succeeded", "paid": True},
            "system_id": ids.SYSTEM_YOOKASSA,
            "idempotency_key": key,
            "request_fingerprint": "f" * 64,
            "return_url": "https://cinema.example/return",
            "created_at": timezone.now(),
            "updated_at": timezone.now(),
        }
        if "system" in fields:
            values.pop("system_id")
        values.update(fields)
        return Payment.objects.create(**values)

    return make
