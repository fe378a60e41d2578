"""``python -m sandbox.notify``: serve the Notification sandbox on ``NOTIFY_URL``'s port."""

from __future__ import annotations

import uvicorn

from common import logs
from sandbox.notify.app import create_app
from sandbox.notify.settings import NotifySettings
from sandbox.settings import bind_address


def main() -> None:
    settings = NotifySettings()
    logs.configure(settings.log_level, "sandbox-notify", settings.log_format)
    host, port = bind_address(settings.notify_url)
    uvicorn.run(
        create_app(settings), host=host, port=port, timeout_graceful_shutdown=2, log_config=None
    )


if __name__ == "__main__":
    main()
