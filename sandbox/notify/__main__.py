"""``python -m sandbox.notify``: serve the Notification sandbox on ``NOTIFY_URL``'s port."""

from __future__ import annotations

from sandbox.basic import serve
from sandbox.notify.app import create_app
from sandbox.notify.settings import NotifySettings


def main() -> None:
    settings = NotifySettings()
    serve(create_app, settings, "sandbox-notify", settings.notify_url)


if __name__ == "__main__":
    main()
