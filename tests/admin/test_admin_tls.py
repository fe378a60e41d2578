"""docs/security.md, "Admin behind TLS": what the settings promise, seen in the responses.

The admin's settings are computed from the environment when Django starts, so each case runs
a fresh interpreter with its environment and asks the admin for its login page through
Django's test client (no network, no database needed for that page)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "admin_project.settings"
import django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/admin/login/")
proxied = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
cookie = proxied.cookies.get("csrftoken")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location", "")],
    "proxied": proxied.status_code,
    "headers": {k: proxied.headers.get(k, "") for k in (
        "Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy",
        "X-Frame-Options")},
    "cookie": None if cookie is None else [bool(cookie["secure"]), cookie["samesite"]],
}))
"""


def probe(**env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "BILLING_ENV": "test", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_behind_a_tls_proxy_http_is_redirected_and_https_gets_hsts_and_secure_cookies() -> None:
    seen = probe(DJANGO_SECURE_COOKIES="1", DJANGO_SSL_REDIRECT="1", DJANGO_BEHIND_TLS_PROXY="1")
    status, location = seen["plain"]  # type: ignore[misc]
    assert status == 301 and str(location).startswith("https://")
    assert seen["proxied"] == 200
    assert seen["headers"] == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    assert seen["cookie"] == [True, "Lax"]


def test_in_development_cookies_travel_over_plain_http_and_nothing_redirects() -> None:
    seen = probe(DJANGO_SECURE_COOKIES="0", DJANGO_SSL_REDIRECT="0", DJANGO_BEHIND_TLS_PROXY="0")
    assert seen["plain"] == [200, ""]
    assert seen["cookie"] == [False, "Lax"]
