"""/docs and /redoc render in the real headless Chromium with every non-local request refused:
the pages must come whole from the gateway (Swagger UI and ReDoc from local assets, no CDN).
The screenshot goes to artifacts/screenshots/docs.png (git-ignored)."""

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings

pytestmark = [pytest.mark.browser]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def gateway_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # No Kafka or PostgreSQL needed for the docs: point them at closed ports.
    settings = GatewaySettings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_bootstrap_servers="127.0.0.1:1",
        database_url="postgresql://nobody:nothing@127.0.0.1:1/none",
        gateway_produce_timeout_s=0.5,
    )
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the gateway did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _offline(page, refused: list[str]) -> None:  # type: ignore[no-untyped-def]
    def route(route) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)


def test_swagger_ui_and_redoc_render_with_no_network(gateway_url: str) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (`make admin-chromium`)")
    from playwright.sync_api import expect, sync_playwright

    refused: list[str] = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        _offline(page, refused)
        page.goto(f"{gateway_url}/docs")
        expect(page.locator("button.authorize")).to_be_visible(timeout=20_000)
        expect(page.locator("#operations-payments-createPayment")).to_be_visible()
        operations = httpx.get(f"{gateway_url}/openapi.json", timeout=10).json()["paths"]
        count = sum(len(methods) for methods in operations.values())
        expect(page.locator(".opblock")).to_have_count(count)  # every operation of the spec
        page.click("#operations-payments-createPayment .opblock-summary")
        expect(page.locator("#operations-payments-createPayment")).to_contain_text(
            "Idempotent-Replayed"
        )
        page.screenshot(path=SHOTS / "docs.png", full_page=False)

        page.goto(f"{gateway_url}/redoc")
        expect(page.locator("h2", has_text="Pay for a plan")).to_be_visible(timeout=20_000)
        page.screenshot(path=SHOTS / "redoc.png", full_page=False)
        browser.close()
    assert refused == [], f"the docs tried the network: {refused}"
