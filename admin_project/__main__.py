"""`python -m admin_project`: the admin under gunicorn on ADMIN_URL's host:port.

Static files are collected first (idempotent, quick when nothing changed) so that a fresh
checkout serves its CSS and JS from disk through whitenoise.
"""

import os
import sys
from pathlib import Path

from common.settings import host_port

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "admin_project.settings")
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)
    host, port = host_port(settings.BILLING_SETTINGS.admin_url, 8001)
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "admin_project.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--config",
        "python:admin_project.gunicorn_conf",
        "--chdir",
        str(ROOT),
    ]
    os.execv(sys.executable, args)


if __name__ == "__main__":
    main()
