"""``python -m sandbox.auth``: serve the Auth sandbox on the host/port of ``AUTH_URL``."""

from __future__ import annotations

import logging

import uvicorn

from sandbox.auth.app import create_app
from sandbox.auth.settings import AuthSettings
from sandbox.settings import bind_address


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = AuthSettings()
    host, port = bind_address(settings.auth_url)
    uvicorn.run(create_app(settings), host=host, port=port, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
