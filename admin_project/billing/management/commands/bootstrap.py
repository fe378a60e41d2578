"""`manage.py bootstrap`: what `make up` needs after `migrate`, idempotent.

Static files collected (served locally by whitenoise, no CDN), the superuser from
ADMIN_USERNAME/ADMIN_PASSWORD (password reset to the configured one on every run, so the
printed credentials always work), and the two operator groups:
* support — view every model, change nothing, refund nothing;
* finance — view everything, refund, re-check, re-inject dead letters, edit plans.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand

FINANCE_EXTRA = [
    "billing.refund_payment",
    "billing.recheck_payment",
    "billing.manage_subscription",
    "billing.reinject_deadletter",
    "billing.change_plan",
    "billing.change_paymentsystem",
]


def _permissions(names: list[str]) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def ensure_groups() -> tuple[Group, Group]:
    view_all = list(Permission.objects.filter(codename__startswith="view_"))
    support, _ = Group.objects.get_or_create(name="support")
    support.permissions.set(view_all)
    finance, _ = Group.objects.get_or_create(name="finance")
    finance.permissions.set([*view_all, *_permissions(FINANCE_EXTRA)])
    return support, finance


def ensure_superuser(username: str, password: str) -> bool:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return created


class Command(BaseCommand):
    help = "Collect static files, create the admin superuser and the support/finance groups."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--skip-static", action="store_true", help="skip collectstatic")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["skip_static"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        env = settings.BILLING_SETTINGS
        created = ensure_superuser(env.admin_username, env.admin_password.get_secret_value())
        ensure_groups()
        verb = "created" if created else "updated"
        self.stdout.write(
            f"admin: superuser {env.admin_username!r} {verb}; groups support, finance"
        )
