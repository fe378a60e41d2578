"""Settings shared by the three simulators.

Outside an explicit ``BILLING_ENV=dev`` or ``test`` (unset included: it fails closed) the
simulators refuse to start with any of the dev default secrets: they must never be mistaken
for, or deployed as, the real thing with known keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PROFILES = frozenset({"dev", "test"})


class DefaultSecretInProduction(ValueError):
    """A dev default secret was left in place while ``BILLING_ENV=production``."""


class SimulatorSettings(BaseSettings):
    """Base of every simulator's settings: environment variables, no prefix."""

    # An empty variable is no value: `VAR= make …` or an exported unset make variable.
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, env_ignore_empty=True)

    billing_env: str = "production"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    def refuse_default_secrets(self, defaults: dict[str, str]) -> None:
        """Raise if a secret still has its dev default in production."""
        if self.billing_env.strip().lower() in DEV_PROFILES:
            return
        for name, default in defaults.items():
            value = getattr(self, name)
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            if plain == default:
                raise DefaultSecretInProduction(
                    f"{name.upper()} still has its dev default; refusing to start in production"
                )


def bind_address(url: str) -> tuple[str, int]:
    """Host and port a simulator listens on, taken from its public URL."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    default_port = 443 if parts.scheme == "https" else 80
    return parts.hostname, parts.port or default_port


def ensure_parent(path: Path) -> Path:
    """Create the folder that will hold ``path`` and return it unchanged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
