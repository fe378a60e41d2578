"""The provider's HTTP client candidates side by side, in one run, against one slow server.

    .venv/bin/python -m bench.http_clients [--requests 3000] [--in-flight 256]
        [--connections 64] [--latency-ms 50] [--clients httpx,httpx-lean,aiohttp]

A small HTTP/1.1 server (a subprocess, so its CPU is not the client's) answers every request
after `--latency-ms` with a ~600-byte JSON object, like the provider's payment. Each client
candidate then sends the same N POSTs the way the provider client does (JSON body, Basic auth,
an Idempotence-Key, keep-alive, at most `--connections` connections), `--in-flight` at a time,
and the table gives, per candidate: requests/s, and the client's own CPU ms per request
(this process's user+sys time, which is only the client: the server is elsewhere). The best
possible rate is in-flight-limited: connections / latency (64 / 0.05 s = 1,280/s).

`httpx-lean` is httpx on `processors/provider/pool.py`'s patched httpcore pool, measured only
where that module still exists (it was removed when the provider client moved to aiohttp).
Loopback only; bounded by --requests; stops by itself.
"""

import argparse
import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

ANSWER = json.dumps(
    {
        "id": "2f1e0c6a-000f-5000-9000-1b68c5f4a2d1",
        "status": "pending",
        "paid": False,
        "amount": {"value": "499.00", "currency": "RUB"},
        "confirmation": {"type": "redirect", "confirmation_url": "http://127.0.0.1/pay/x" * 3},
        "created_at": "2026-12-03T08:00:00.000Z",
        "description": "Subscription: premium, 1 month",
        "metadata": {"payment_id": "0" * 36, "user_id": "1" * 36},
        "recipient": {"account_id": "100500", "gateway_id": "100700"},
        "refundable": False,
        "test": True,
    }
).encode()

SERVER = r"""
import asyncio, sys
latency = float(sys.argv[1]); answer = sys.stdin.buffer.read()
head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
response = head % len(answer) + answer

async def handle(reader, writer):
    try:
        while True:
            headers = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(latency)
            writer.write(response)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[2]), backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""

BODY = {
    "amount": {"value": "499.00", "currency": "RUB"},
    "capture": True,
    "confirmation": {"type": "redirect", "return_url": "http://127.0.0.1/return"},
    "metadata": {"payment_id": "0" * 36, "user_id": "1" * 36},
}
Send = Callable[[int], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(send: Send, requests: int, in_flight: int) -> tuple[float, float]:
    """Wall seconds and client CPU seconds for `requests` calls, `in_flight` at a time."""
    slots = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with slots:
            await send(i)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return time.perf_counter() - wall, time.process_time() - cpu


def httpx_client(base: str, connections: int, lean: bool) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(limits=limits)
    if lean:
        from processors.provider.pool import LeanTransport  # type: ignore[import-not-found]

        transport = LeanTransport(limits=limits)
    return httpx.AsyncClient(
        base_url=base, auth=httpx.BasicAuth("100500", "secret"), transport=transport, timeout=5
    )


async def measure_httpx(base: str, args: argparse.Namespace, lean: bool) -> tuple[float, float]:
    async with httpx_client(base, args.connections, lean) as client:
        # an httpx pool queue scanned per request is what the patch was for: cap it like the
        # provider client did (a semaphore of `connections` in front of the pool)
        slots = asyncio.Semaphore(args.connections)

        async def send(i: int) -> None:
            async with slots:
                headers = {"Idempotence-Key": f"billing-payment-{i}"}
                response = await client.post("/v3/payments", json=BODY, headers=headers)
            response.json()

        await run(send, min(args.requests, 200), args.in_flight)  # warm the pool
        return await run(send, args.requests, args.in_flight)


async def measure_aiohttp(base: str, args: argparse.Namespace) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=args.connections, limit_per_host=args.connections)
    auth = {"Authorization": aiohttp.encode_basic_auth("100500", "secret")}
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(
        base, connector=connector, headers=auth, timeout=timeout
    ) as session:

        async def send(i: int) -> None:
            headers = {"Idempotence-Key": f"billing-payment-{i}"}
            async with session.post("/v3/payments", json=BODY, headers=headers) as response:
                await response.json()

        await run(send, min(args.requests, 200), args.in_flight)
        return await run(send, args.requests, args.in_flight)


async def measure(name: str, base: str, args: argparse.Namespace) -> tuple[float, float]:
    if name == "aiohttp":
        return await measure_aiohttp(base, args)
    return await measure_httpx(base, args, lean=name == "httpx-lean")


def start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency_ms / 1000), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(ANSWER)
    server.stdin.close()
    server.stdout.readline()
    return server, f"http://127.0.0.1:{port}"


async def compare(base: str, args: argparse.Namespace) -> None:
    names = [n for n in args.clients.split(",") if n != "httpx-lean" or lean_available()]
    print(f"{args.requests} POSTs, {args.in_flight} in flight, {args.connections} connections,")
    print(f"server latency {args.latency_ms:g} ms, load average {os.getloadavg()[0]:.1f}")
    print(f"{'client':<12} {'req/s':>8} {'client CPU ms/req':>18}")
    for _ in range(args.rounds):
        for name in names:
            wall, cpu = await measure(name, base, args)
            rate, ms = args.requests / wall, cpu * 1000 / args.requests
            print(f"{name:<12} {rate:>8.0f} {ms:>18.2f}", flush=True)


def main(args: argparse.Namespace) -> None:
    server, base = start_server(args.latency_ms)
    try:
        asyncio.run(compare(base, args))
    finally:
        server.terminate()
        server.wait()


def lean_available() -> bool:
    return importlib.util.find_spec("processors.provider.pool") is not None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the candidates N times")
    parser.add_argument("--clients", default="httpx,httpx-lean,aiohttp")
    main(parser.parse_args())
