"""``python -m sandbox.notify``: serve the Notification sandbox on ``NOTIFY_URL``'s port."""

from __future__ import annotations

import logging

import uvicorn

from sandbox.notify.app import create_app
from sandbox.notify.settings import NotifySettings
from sandbox.settings import bind_address


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = NotifySettings()
    host, port = bind_address(settings.notify_url)
    uvicorn.run(create_app(settings), host=host, port=port, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
