"""Benchmark: the payments changelist over 1,000,000 rows.

`python -m bench.admin_changelist [--rows N] [--runs K]` creates (or reuses) a separate
database `<name>_admin_bench` next to DATABASE_URL's, migrates it, fills it with N payments
by `generate_series` (once), then renders the changelist through Django's test client as a
logged-in superuser, with and without filters and search, and prints the median render time
and the number of SQL queries of each. A benchmark reports figures; it asserts nothing.
"""

import argparse
import os
import statistics
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg

from domain.payments import PaymentStatus

FILL = """
INSERT INTO payments_history.payments (
    id, user_id, plan_id, amount, currency, status, external_id, refunded, refunded_amount,
    system_id, idempotency_key, request_fingerprint, return_url, created_at, updated_at)
SELECT md5('bench-p-' || g)::uuid, md5('bench-u-' || (g %% 250000))::uuid,
       CASE WHEN g %% 6 = 0 THEN 'yearly' ELSE 'monthly' END,
       CASE WHEN g %% 6 = 0 THEN 4990.00 ELSE 499.00 END, 'RUB',
       CASE WHEN g %% 20 = 0 THEN %(failed)s WHEN g %% 20 = 1 THEN %(canceled)s
            WHEN g %% 20 = 2 THEN %(pending)s ELSE %(succeeded)s END,
       md5('bench-e-' || g)::uuid,
       g %% 50 = 3,
       CASE WHEN g %% 50 = 3 THEN (CASE WHEN g %% 6 = 0 THEN 4990.00 ELSE 499.00 END)
            WHEN g %% 50 = 4 THEN 100.00 ELSE 0 END,
       %(system)s::uuid, 'bench-' || g, 'bench', 'https://cinema.example/return',
       now() - g * interval '8 seconds', now() - g * interval '8 seconds'
FROM generate_series(%(start)s, %(stop)s) AS g
ON CONFLICT DO NOTHING
"""


def bench_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_admin_bench"))


def ensure_database(database_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(url: str, rows: int, system: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        counted = conn.execute("SELECT count(*) FROM payments_history.payments").fetchone()
        have = counted[0] if counted else 0
        if have >= rows:
            print(f"reusing {have:,} payments")
            return
        started = time.perf_counter()
        for start in range(have + 1, rows + 1, 100_000):
            stop = min(start + 99_999, rows)
            statuses = {str(s): str(s) for s in PaymentStatus}
            conn.execute(FILL, {"start": start, "stop": stop, "system": system, **statuses})
        conn.execute("ANALYZE payments_history.payments")
        print(f"filled {rows - have:,} payments in {time.perf_counter() - started:.1f} s")


def scenarios(sample_user: str) -> list[tuple[str, dict[str, str]]]:
    today = time.strftime("%Y-%m-%d")
    return [
        ("no filter", {}),
        ("status = failed", {"status__exact": str(PaymentStatus.FAILED)}),
        ("refunded = any", {"refund": "any"}),
        ("plan = yearly", {"plan__id__exact": "yearly"}),
        ("created today", {"created_at_from": today, "created_at_to": today}),
        ("search user_id", {"q": sample_user}),
        ("page 200", {"p": "200"}),
        (
            "status + plan, page 50",
            {
                "status__exact": str(PaymentStatus.SUCCEEDED),
                "plan__id__exact": "monthly",
                "p": "50",
            },
        ),
    ]


def measure(runs: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from admin_project.billing.models import Payment

    setup_test_environment()  # so that responses carry their template context
    user, _ = User.objects.get_or_create(username="bench-admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    sample = str(Payment.objects.order_by("-created_at").values_list("user_id", flat=True)[500])
    print(f"{'scenario':28} {'median ms':>10} {'max ms':>8} {'queries':>8} {'rows':>6}")
    for name, params in scenarios(sample):
        client.get("/admin/billing/payment/", params)  # warm-up
        times = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get("/admin/billing/payment/", params)
                times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")
        shown = len(response.context["cl"].result_list)
        median, worst = statistics.median(times), max(times)
        print(f"{name:28} {median:10.1f} {worst:8.1f} {len(queries):8} {shown:6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    database_url = os.environ.get(
        "DATABASE_URL", "postgresql://billing:billing@127.0.0.1:55432/billing"
    )
    url = bench_url(database_url)
    ensure_database(database_url, url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "admin_project.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from schemas.ids import SYSTEM_YOOKASSA

    fill(url, args.rows, str(SYSTEM_YOOKASSA))
    measure(args.runs)


if __name__ == "__main__":
    main()
