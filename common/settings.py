"""Configuration from the environment (and `.env`), validated at start-up.

Each deployable subclasses `Settings` with what only it needs. The profile fails closed:
only an explicit `BILLING_ENV=dev` or `BILLING_ENV=test` is a development profile; anything
else, unset included, is production. Production refuses to start while any check of
`production_problems` finds something (a missing, weak or development secret here; each
deployable adds its own), naming each problem on one line.
"""

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.refund_policy import RefundPolicy

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me"
DEV_PROVIDER_SECRET = "test_dev_only_secret_change_me"
DEV_DJANGO_SECRET = "dev-only-django-secret-change-me"
DEV_DATABASE_PASSWORD = "billing"
DEV_ADMIN_PASSWORD = "admin"
DEV_PROFILES = frozenset({"dev", "test"})
MIN_SECRET_LENGTH = 32
JWT_ISSUER = "auth-sandbox"
JWT_AUDIENCE = "billing"


class InsecureConfiguration(RuntimeError):
    """A production profile started with an unsafe setting; one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(f"refusing to start in production: {p}" for p in problems))


def is_dev_profile(billing_env: str) -> bool:
    return billing_env.strip().lower() in DEV_PROFILES


def secret_problem(env_name: str, value: str, min_length: int = MIN_SECRET_LENGTH) -> str | None:
    """Why `value` is not a production secret, or None."""
    if not value:
        return f"{env_name} is not set"
    if value in _DEV_SECRETS:
        return f"{env_name} is the development default"
    if len(value) < min_length:
        return f"{env_name} is weak: shorter than {min_length} characters"
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    billing_env: str = "production"

    database_url: str = f"postgresql://billing:{DEV_DATABASE_PASSWORD}@127.0.0.1:55432/billing"
    # seconds a pooled connection may sit idle before it is closed; 0 = kept. asyncpg's
    # default (300 s) closed what a burst opened, and the next burst after a quiet spell
    # opened them again: ≈ 6-7 ms of PostgreSQL's CPU each (fork, auth, the json codecs'
    # type introspection, every statement prepared again; docs/performance.md, round 11 (pg)).
    # Every pool of every program (common.db.create_pool) takes it.
    db_connection_idle_s: float = Field(
        default=0, ge=0, description="seconds a pooled connection may stay idle (0 = kept)"
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"

    gateway_url: str = "http://127.0.0.1:8000"
    admin_url: str = "http://127.0.0.1:8001/admin/"
    provider_url: str = "http://127.0.0.1:8081"
    auth_url: str = "http://127.0.0.1:8082"
    notify_url: str = "http://127.0.0.1:8083"

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    # Tokens must name both: who issued them (the Auth service) and that they are for us.
    jwt_issuer: str = JWT_ISSUER
    jwt_audience: str = JWT_AUDIENCE
    provider_shop_id: str = "100500"
    provider_secret_key: SecretStr = SecretStr(DEV_PROVIDER_SECRET)
    # 54-FZ: a fiscal receipt on every payment, refund and autopayment; with it on, a payment
    # whose user has no email is refused (422 receipt_contact_required).
    provider_receipts: bool = Field(
        default=True,
        description="on | off: a 54-FZ receipt on every payment, refund and autopayment",
    )

    # How long an Idempotency-Key is honoured as a replay at least (`billing keys expire`).
    idempotency_key_retention_hours: int = Field(default=24, ge=24)

    # The refund policy (CONTRACT §2, domain/refund_policy.py, docs/subscriptions.md): a full
    # refund this many days after the paid period starts, then unused whole days pro rata.
    # One variable for every process: the gateway computes the user's refund with it, the
    # webhooks processor whether a refund made in the provider's dashboard ends access.
    refund_full_window_days: float = Field(
        default=14.0, ge=0, description="refund policy: full refund this many days into a period"
    )

    log_level: str = "INFO"
    # json: one JSON object per line (what log shippers read); console: for humans.
    log_format: Literal["json", "console"] = "json"

    def refund_policy(self) -> RefundPolicy:
        return RefundPolicy.of_days(self.refund_full_window_days)

    @property
    def is_production(self) -> bool:
        return not is_dev_profile(self.billing_env)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.is_production:
            problems = self.production_problems()
            if problems:
                raise InsecureConfiguration(problems)
        return self

    def production_problems(self) -> list[str]:
        """Everything that makes this configuration unsafe for production (subclasses add)."""
        problems = [
            secret_problem("JWT_SECRET", self.jwt_secret.get_secret_value()),
            secret_problem("PROVIDER_SECRET_KEY", self.provider_secret_key.get_secret_value(), 1),
        ]
        problems += [
            f"{name.upper()} is the development default"
            for name, value in self._secrets().items()
            if value in _DEV_SECRETS and name not in ("jwt_secret", "provider_secret_key")
        ]
        if f":{DEV_DATABASE_PASSWORD}@" in self.database_url:
            problems.append("DATABASE_URL uses the development password")
        if not self.jwt_issuer or not self.jwt_audience:
            problems.append("JWT_ISSUER and JWT_AUDIENCE must both be set")
        return [problem for problem in problems if problem]

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


class PipelineAges(Settings):
    """Ages the reconciler acts on, shared with whoever judges its work (the admin's "stuck"
    tile reads the same env vars, so both use one `domain.stuck.StuckRule`)."""

    reconcile_after_seconds: float = Field(default=30.0, ge=0)
    reconcile_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    # YooKassa cancels an unpaid card payment after an hour (`expired_on_confirmation`): a
    # row still `pending` past this is stuck (we missed the news), not a user still paying.
    provider_pending_expiry_s: float = Field(default=3600.0, gt=0)
    # A refund sent at least once whose answer never came is re-sent under its
    # Idempotence-Key only this long after it was created; then it is looked up with the list
    # call instead (processors/refund_lookup.py). Under YooKassa's 24 h memory of a key, which
    # is why 24 h or more is refused: a re-send after it could refund twice.
    refund_resend_window_s: float = Field(
        default=23 * 3600.0,
        gt=0,
        lt=24 * 3600.0,
        description="re-send an unanswered refund blindly this long, then look it up (< 24 h)",
    )
