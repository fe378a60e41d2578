import pytest

from common.settings import DEV_JWT_SECRET, InsecureConfiguration, Settings


def test_dev_profile_accepts_dev_defaults() -> None:
    assert Settings(billing_env="dev").jwt_secret.get_secret_value() == DEV_JWT_SECRET


def test_production_refuses_dev_secrets() -> None:
    with pytest.raises(InsecureConfiguration, match="jwt_secret"):
        Settings(billing_env="production")


def test_production_starts_with_real_secrets() -> None:
    settings = Settings(
        billing_env="production",
        jwt_secret="a-real-secret-from-the-vault",  # type: ignore[arg-type]
        provider_secret_key="live_abc",  # type: ignore[arg-type]
        database_url="postgresql://billing:s3cret@db:5432/billing",
    )
    assert settings.billing_env == "production"


def test_production_refuses_the_dev_database_password() -> None:
    with pytest.raises(InsecureConfiguration, match="database_url"):
        Settings(
            billing_env="production",
            jwt_secret="x-real",  # type: ignore[arg-type]
            provider_secret_key="live_abc",  # type: ignore[arg-type]
        )


def test_production_refuses_the_default_admin_password() -> None:
    from admin_project.settings import AdminSettings

    with pytest.raises(InsecureConfiguration, match="admin_password"):
        AdminSettings(
            billing_env="production",
            jwt_secret="x-real",  # type: ignore[arg-type]
            provider_secret_key="live_abc",  # type: ignore[arg-type]
            django_secret_key="a-real-django-key",  # type: ignore[arg-type]
            database_url="postgresql://billing:s3cret@db:5432/billing",
        )
