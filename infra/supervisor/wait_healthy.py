"""Waits until every HTTP process of CONTRACT §1 that this stack runs answers /healthz.

A process counts only if its supervisor file `conf.d/<name>.conf` exists, so the stack can
grow one process at a time. Its URL comes from `common.settings.Settings` (`<NAME>_URL`,
from the environment, `.env` or the default), the one place the defaults live; /healthz is
asked at the URL's origin (ADMIN_URL ends in /admin/). Prints the URLs.
"""

import argparse
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from common.settings import Settings

HTTP_PROCESSES = ("gateway", "admin", "provider", "auth", "notify")


def configured(conf_dir: Path) -> dict[str, str]:
    settings = Settings()
    return {
        name: getattr(settings, f"{name}_url")
        for name in HTTP_PROCESSES
        if (conf_dir / f"{name}.conf").exists()
    }


def healthz(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/healthz"


def is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(healthz(url), timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait(urls: dict[str, str], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending and time.monotonic() < deadline:
        pending = {name: url for name, url in pending.items() if not is_healthy(url)}
        if pending:
            time.sleep(0.5)
    return sorted(pending)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    root = Path(os.environ.get("BILLING_ROOT") or Path(__file__).resolve().parents[2])
    urls = configured(root / "infra" / "supervisor" / "conf.d")
    unhealthy = wait(urls, args.timeout)
    for name, url in urls.items():
        state = "NOT HEALTHY" if name in unhealthy else "ok"
        print(f"  {name:<9} {url:<34} {state}")
    if unhealthy:
        print(
            f"not healthy after {args.timeout:.0f}s: {', '.join(unhealthy)}"
            " (see .run/logs/<name>.log)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
