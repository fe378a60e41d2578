"""`manage.py seed_demo`: fill the database with demo data once (skips when already there)."""

from typing import Any

from django.core.management.base import BaseCommand

from admin_project.billing import demo


class Command(BaseCommand):
    help = "Seed realistic demo payments, refunds, subscribers and dead letters (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, default=6000, help="payments to create")

    def handle(self, *args: Any, **options: Any) -> None:
        if demo.already_seeded():
            self.stdout.write("seed_demo: demo data already present; nothing to do")
            return
        batch = demo.seed(options["count"])
        self.stdout.write(
            f"seed_demo: {len(batch.payments)} payments, {len(batch.refunds)} refunds, "
            f"{len(batch.subscribers)} subscribers, {len(batch.outbox)} events"
        )
