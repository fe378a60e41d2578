"""Reference data every environment needs: the plans and the payment system."""

from decimal import Decimal

from django.db import migrations

from schemas.ids import SYSTEM_YOOKASSA

PLANS = [
    ("monthly", "Monthly subscription", Decimal("499.00"), 30),
    ("yearly", "Yearly subscription", Decimal("4990.00"), 365),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    plan = apps.get_model("billing", "Plan")
    for id_, title, amount, days in PLANS:
        plan.objects.get_or_create(
            id=id_,
            defaults={"title": title, "amount": amount, "currency": "RUB", "period_days": days},
        )
    system = apps.get_model("billing", "PaymentSystem")
    system.objects.get_or_create(
        id=SYSTEM_YOOKASSA, defaults={"code": "yookassa", "title": "YooKassa"}
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_tables")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
