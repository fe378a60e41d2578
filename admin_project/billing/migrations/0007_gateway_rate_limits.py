"""The gateway's per-user token buckets, shared by every gateway instance (gateway/ratelimit.py).

UNLOGGED: no WAL for a row written on every POST; after a crash the table is empty, which
only refills every bucket. Not a Django model: only the gateway reads or writes it.
"""

from django.db import migrations

CREATE = """
CREATE UNLOGGED TABLE IF NOT EXISTS payments_history.rate_limits (
    user_id uuid PRIMARY KEY,
    tokens double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    allowed boolean NOT NULL
)"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_request_ids")]

    operations = [
        migrations.RunSQL(CREATE, "DROP TABLE IF EXISTS payments_history.rate_limits"),
    ]
