"""`python -m gateway`: uvicorn on GATEWAY_URL's host:port (default 127.0.0.1:8000).

The listening socket has SO_REUSEPORT, so `make up SCALE=N` runs N gateway processes on
the same port and the kernel spreads new connections over them; when one dies, the others
keep accepting. Their shared state (the rate limit, idempotency) lives in PostgreSQL.
"""

import socket
import sys

import uvicorn

from common.logs import configure
from common.settings import InsecureConfiguration, host_port
from gateway.app import create_app
from gateway.settings import GatewaySettings


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main() -> None:
    try:
        settings = GatewaySettings()
    except InsecureConfiguration as refused:
        sys.exit(str(refused))  # one line per problem on stderr, exit status 1
    configure(settings.log_level, "gateway", settings.log_format)
    host, port = host_port(settings.gateway_url, 8000)
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers propagate to common.logs' JSON handler
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


if __name__ == "__main__":
    main()
