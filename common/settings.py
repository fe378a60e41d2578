"""Configuration from the environment (and `.env`), validated at start-up.

Each deployable subclasses `Settings` with what only it needs. A production profile
(`BILLING_ENV=production`) refuses every obviously-dev default secret.
"""

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me"
DEV_PROVIDER_SECRET = "test_dev_only_secret_change_me"
DEV_DJANGO_SECRET = "dev-only-django-secret-change-me"
DEV_DATABASE_PASSWORD = "billing"
DEV_ADMIN_PASSWORD = "admin"


class InsecureConfiguration(RuntimeError):
    """A production profile started with a development secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    billing_env: Literal["dev", "test", "production"] = "dev"

    database_url: str = f"postgresql://billing:{DEV_DATABASE_PASSWORD}@127.0.0.1:55432/billing"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"

    gateway_url: str = "http://127.0.0.1:8000"
    admin_url: str = "http://127.0.0.1:8001/admin/"
    provider_url: str = "http://127.0.0.1:8081"
    auth_url: str = "http://127.0.0.1:8082"
    notify_url: str = "http://127.0.0.1:8083"

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    provider_shop_id: str = "100500"
    provider_secret_key: SecretStr = SecretStr(DEV_PROVIDER_SECRET)

    # How long an Idempotency-Key is honoured as a replay at least (`billing keys expire`).
    idempotency_key_retention_hours: int = Field(default=24, ge=24)

    log_level: str = "INFO"
    # json: one JSON object per line (what log shippers read); console: for humans.
    log_format: Literal["json", "console"] = "json"

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Self:
        if self.billing_env != "production":
            return self
        insecure = [name for name, value in self._secrets().items() if value in _DEV_SECRETS]
        if f":{DEV_DATABASE_PASSWORD}@" in self.database_url:
            insecure.append("database_url")
        if insecure:
            raise InsecureConfiguration(
                f"production refuses development defaults for: {', '.join(sorted(insecure))}"
            )
        return self

    def _secrets(self) -> dict[str, str]:
        return {
            name: value.get_secret_value()
            for name, value in self.__dict__.items()
            if isinstance(value, SecretStr)
        }


_DEV_SECRETS = frozenset(
    {DEV_JWT_SECRET, DEV_PROVIDER_SECRET, DEV_DJANGO_SECRET, DEV_ADMIN_PASSWORD}
)


def host_port(url: str, default_port: int) -> tuple[str, int]:
    """('127.0.0.1', 8000) from 'http://127.0.0.1:8000/anything' — where a service listens."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port
