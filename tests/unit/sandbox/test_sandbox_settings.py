"""Settings: production refuses dev secrets; bind address comes from the public URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sandbox.auth.app import create_app as create_auth
from sandbox.auth.settings import AuthSettings
from sandbox.provider.app import create_app as create_provider
from sandbox.provider.settings import ProviderSettings
from sandbox.settings import DefaultSecretInProduction, bind_address


def test_provider_refuses_dev_secret_in_production(tmp_path: Path) -> None:
    settings = ProviderSettings(billing_env="production", provider_db_path=tmp_path / "p.db")
    with pytest.raises(DefaultSecretInProduction):
        create_provider(settings)


def test_auth_refuses_dev_jwt_secret_in_production(tmp_path: Path) -> None:
    with pytest.raises(DefaultSecretInProduction):
        create_auth(AuthSettings(billing_env="production", auth_db_path=tmp_path / "a.db"))


def test_production_with_real_secrets_starts(tmp_path: Path) -> None:
    settings = ProviderSettings(
        billing_env="production",
        provider_secret_key=SecretStr("live_x"),
        provider_db_path=tmp_path / "p",
    )
    create_provider(settings)


def test_dev_defaults_are_allowed_outside_production(tmp_path: Path) -> None:
    create_provider(ProviderSettings(provider_db_path=tmp_path / "p.db"))


def test_settings_read_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDER_URL", "http://127.0.0.1:18081")
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:18000/")
    settings = ProviderSettings()
    assert bind_address(settings.provider_url) == ("127.0.0.1", 18081)
    assert settings.webhook_url == "http://127.0.0.1:18000/api/v1/webhooks/yookassa"
    monkeypatch.setenv("PROVIDER_WEBHOOK_URL", "http://hook.test/x")
    assert ProviderSettings().webhook_url == "http://hook.test/x"
    assert "test_dev_only" not in repr(settings)


def test_an_empty_variable_is_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make test` exported an unset PROVIDER_RECEIPTS_REQUIRED as "", and every provider
    the tests started refused to boot on it."""
    monkeypatch.setenv("PROVIDER_RECEIPTS_REQUIRED", "")
    assert ProviderSettings().provider_receipts_required is False
