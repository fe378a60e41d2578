"""Auth sandbox settings. ``JWT_SECRET`` is shared with the gateway (docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from sandbox.settings import SimulatorSettings

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me"
ISSUER = "auth-sandbox"
AUDIENCE = "billing"


class AuthSettings(SimulatorSettings):
    auth_url: str = "http://127.0.0.1:8082"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_ttl_seconds: int = Field(default=3600, gt=0)
    # The gateway requires both (same env vars as its own settings).
    jwt_issuer: str = ISSUER
    jwt_audience: str = AUDIENCE
    auth_db_path: Path = Path(".run/sandbox/auth.sqlite3")

    def validate_for_start(self) -> None:
        self.refuse_default_secrets({"jwt_secret": DEV_JWT_SECRET})
