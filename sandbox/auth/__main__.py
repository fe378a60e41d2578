"""``python -m sandbox.auth``: serve the Auth sandbox on the host/port of ``AUTH_URL``."""

from __future__ import annotations

from sandbox.auth.app import create_app
from sandbox.auth.settings import AuthSettings
from sandbox.basic import serve


def main() -> None:
    settings = AuthSettings()
    serve(create_app, settings, "sandbox-auth", settings.auth_url)


if __name__ == "__main__":
    main()
