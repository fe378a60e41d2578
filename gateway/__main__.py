"""`python -m gateway`: uvicorn on GATEWAY_URL's host:port (default 127.0.0.1:8000)."""

import sys

import uvicorn

from common.logs import configure
from common.settings import InsecureConfiguration, host_port
from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    try:
        settings = GatewaySettings()
    except InsecureConfiguration as refused:
        sys.exit(str(refused))  # one line per problem on stderr, exit status 1
    configure(settings.log_level, "gateway")
    host, port = host_port(settings.gateway_url, 8000)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
