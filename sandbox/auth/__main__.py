"""``python -m sandbox.auth``: serve the Auth sandbox on the host/port of ``AUTH_URL``."""

from __future__ import annotations

import uvicorn

from common import logs
from sandbox.auth.app import create_app
from sandbox.auth.settings import AuthSettings
from sandbox.settings import bind_address


def main() -> None:
    settings = AuthSettings()
    logs.configure(settings.log_level, "sandbox-auth", settings.log_format)
    host, port = bind_address(settings.auth_url)
    uvicorn.run(
        create_app(settings), host=host, port=port, timeout_graceful_shutdown=2, log_config=None
    )


if __name__ == "__main__":
    main()
