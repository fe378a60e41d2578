"""The production profile fails closed: anything but an explicit dev/test is production, and
production refuses every unsafe setting with one line naming it."""

import pytest

from common.settings import DEV_JWT_SECRET, InsecureConfiguration, Settings

REAL = {
    "jwt_secret": "a-real-secret-from-the-vault-0123456789",
    "provider_secret_key": "live_abc",
    "database_url": "postgresql://billing:s3cret@db:5432/billing",
}
ADMIN_REAL = {
    **REAL,
    "django_secret_key": "a-real-django-key-from-the-vault-0123456789",
    "admin_password": "a-long-admin-password",
    "django_allowed_hosts": "admin.cinema.example",
    "django_secure_cookies": True,
}
GATEWAY_REAL = {**REAL, "webhook_allowed_networks": "185.71.76.0/27"}


def problems(factory: type[Settings], **values: object) -> list[str]:
    with pytest.raises(InsecureConfiguration) as refused:
        factory(_env_file=None, **values)  # type: ignore[call-arg]
    lines = str(refused.value).splitlines()
    assert all(line.startswith("refusing to start in production: ") for line in lines)
    return lines


@pytest.mark.parametrize("profile", ["dev", "test", "DEV", " test "])
def test_only_an_explicit_dev_or_test_profile_accepts_dev_defaults(profile: str) -> None:
    settings = Settings(_env_file=None, billing_env=profile)  # type: ignore[call-arg]
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    assert not settings.is_production


@pytest.mark.parametrize("profile", ["production", "prod", "staging", "", "development"])
def test_any_other_profile_is_production_and_refuses_dev_secrets(profile: str) -> None:
    lines = problems(Settings, billing_env=profile)
    assert any("JWT_SECRET is the development default" in line for line in lines)


def test_an_unset_profile_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_ENV", raising=False)
    with pytest.raises(InsecureConfiguration):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_production_names_each_problem_on_its_own_line() -> None:
    lines = problems(Settings, billing_env="production")
    assert len(lines) == 3
    assert [line.split(": ", 1)[1].split()[0] for line in lines] == [
        "JWT_SECRET",
        "PROVIDER_SECRET_KEY",
        "DATABASE_URL",
    ]


@pytest.mark.parametrize(("secret", "why"), [("", "is not set"), ("short-but-not-dev", "is weak")])
def test_production_refuses_a_missing_or_weak_jwt_secret(secret: str, why: str) -> None:
    lines = problems(Settings, **{**REAL, "billing_env": "production", "jwt_secret": secret})
    assert len(lines) == 1
    assert lines[0].startswith(f"refusing to start in production: JWT_SECRET {why}")


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(_env_file=None, billing_env="production", **REAL)  # type: ignore[call-arg]
    assert settings.is_production


def test_production_refuses_the_dev_database_password() -> None:
    values = {**REAL, "database_url": "postgresql://billing:billing@db/billing"}
    lines = problems(Settings, billing_env="production", **values)
    assert lines == ["refusing to start in production: DATABASE_URL uses the development password"]


def test_gateway_production_refuses_an_empty_webhook_allowlist() -> None:
    from gateway.settings import GatewaySettings

    lines = problems(GatewaySettings, billing_env="production", **REAL)
    assert len(lines) == 1 and "WEBHOOK_ALLOWED_NETWORKS is empty" in lines[0]
    settings = GatewaySettings(_env_file=None, billing_env="production", **GATEWAY_REAL)  # type: ignore[arg-type]
    assert settings.webhook_networks()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"admin_password": "admin"}, "ADMIN_PASSWORD is the development default"),
        ({"django_secret_key": "tiny"}, "DJANGO_SECRET_KEY is weak"),
        ({"django_debug": True}, "DJANGO_DEBUG is on"),
        ({"django_allowed_hosts": "*"}, "DJANGO_ALLOWED_HOSTS"),
        ({"django_allowed_hosts": "admin.cinema.example, *"}, "DJANGO_ALLOWED_HOSTS"),
        ({"django_secure_cookies": False}, "DJANGO_SECURE_COOKIES is off"),
    ],
)
def test_admin_production_refuses_each_unsafe_setting(
    override: dict[str, object], named: str
) -> None:
    from admin_project.settings import AdminSettings

    lines = problems(AdminSettings, billing_env="production", **{**ADMIN_REAL, **override})
    assert len(lines) == 1 and named in lines[0], lines


def test_admin_production_starts_behind_tls() -> None:
    from admin_project.settings import AdminSettings

    settings = AdminSettings(_env_file=None, billing_env="production", **ADMIN_REAL)  # type: ignore[arg-type]
    assert settings.allowed_hosts() == ["admin.cinema.example"]


def test_the_refund_policy_is_one_variable_declared_once_for_every_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 10: it was declared twice (gateway and processors) and could drift apart. Now in
    common.settings only; the gateway, the processors and the admin read the same value."""
    from admin_project.settings import AdminSettings
    from gateway.settings import GatewaySettings
    from processors.settings import ProcessorSettings

    monkeypatch.setenv("BILLING_ENV", "dev")
    monkeypatch.setenv("REFUND_FULL_WINDOW_DAYS", "3")
    kinds = (GatewaySettings, ProcessorSettings, AdminSettings)
    declared = {
        c.__name__
        for k in kinds
        for c in k.__mro__
        if "refund_full_window_days" in vars(c).get("__annotations__", {})
    }
    assert declared == {"Settings"}
    policies = {k(_env_file=None).refund_policy() for k in kinds}  # type: ignore[call-arg]
    common = Settings(_env_file=None)  # type: ignore[call-arg]
    assert policies == {common.refund_policy()} and common.refund_full_window_days == 3


def test_a_refund_resend_window_at_or_past_the_providers_key_memory_is_refused() -> None:
    """Past 24 h YooKassa has forgotten the key: a blind re-send could refund twice."""
    from processors.settings import ProcessorSettings

    dev = {"_env_file": None, "billing_env": "dev"}
    with pytest.raises(ValueError, match="refund_resend_window_s"):
        ProcessorSettings(**dev, refund_resend_window_s=86400)  # type: ignore[arg-type]
    ok = ProcessorSettings(**dev)  # type: ignore[arg-type]
    assert ok.refund_resend_window_s == 23 * 3600
