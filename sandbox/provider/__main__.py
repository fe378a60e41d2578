"""``python -m sandbox.provider``: serve the provider on the host/port of ``PROVIDER_URL``."""

from __future__ import annotations

from sandbox.basic import serve
from sandbox.provider.app import create_app
from sandbox.provider.settings import ProviderSettings


def main() -> None:
    settings = ProviderSettings()
    serve(create_app, settings, "sandbox-provider", settings.provider_url)


if __name__ == "__main__":
    main()
