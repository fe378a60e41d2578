from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [
        migrations.RunSQL(
            "CREATE SCHEMA IF NOT EXISTS payments_history",
            reverse_sql="DROP SCHEMA IF EXISTS payments_history CASCADE",
        ),
    ]
