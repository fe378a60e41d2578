"""``python -m sandbox.provider``: serve the provider on the host/port of ``PROVIDER_URL``."""

from __future__ import annotations

import logging

import uvicorn

from common import logs
from sandbox.provider.app import create_app
from sandbox.provider.settings import ProviderSettings
from sandbox.settings import bind_address


def main() -> None:
    settings = ProviderSettings()
    logs.configure(settings.log_level, "sandbox-provider", settings.log_format)
    # httpx says every webhook it sends at INFO, a line per delivery; the dispatcher records
    # each attempt and its error in the `deliveries` table, where the tests read them.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    host, port = bind_address(settings.provider_url)
    # A short graceful shutdown: requests hung by timeout_after_commit must not block a stop.
    # uvloop + httptools (uvicorn[standard]) named explicitly rather than left to "auto", so a
    # missing extra fails loudly instead of silently halving the provider's throughput.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        timeout_graceful_shutdown=2,
        access_log=False,
        log_config=None,
        # Nothing stands in front of a simulator: uvicorn's X-Forwarded-* middleware only
        # parsed the client's address against its trusted list on every request (~2 % of
        # the provider's samples under `make bench`).
        proxy_headers=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
