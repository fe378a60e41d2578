""".env.example is generated from the settings classes and lists every variable any process
reads; docker-compose hands that file to every billing container and hard-codes no secret."""

import importlib
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from scripts.env_example import TARGET, render

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "gateway", "processors", "consumers", "admin_project", "sandbox")
SOURCES = (*PACKAGES, "billing_cli", "scripts", "infra", "bench")
INTERNAL = {"DJANGO_SETTINGS_MODULE", "BILLING_ROOT"}  # set by the code itself, not settings
ENV_READ = re.compile(
    r"""(?:environ(?:\.get|\.setdefault)?\(?\[?|getenv\()\s*["']([A-Z][A-Z0-9_]+)"""
)


def listed() -> set[str]:
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", TARGET.read_text(), re.MULTILINE))


def settings_classes() -> set[type[BaseSettings]]:
    for path in ROOT.glob("*/**/settings.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if module.split(".")[0] in PACKAGES:
            importlib.import_module(module)
    found: set[type[BaseSettings]] = set()
    todo = list(BaseSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES:
            found.add(cls)
    return found


def test_the_committed_file_is_what_the_settings_classes_generate() -> None:
    assert TARGET.read_text() == render(), "run `make env-example` and commit .env.example"


def test_every_field_of_every_settings_class_is_listed() -> None:
    classes = settings_classes()
    assert len(classes) >= 8, classes
    names = {name.upper() for cls in classes for name in cls.model_fields}
    assert names - listed() == set()


def test_every_variable_the_code_reads_directly_is_listed() -> None:
    read = {
        name
        for package in SOURCES
        for path in (ROOT / package).rglob("*.py")
        for name in ENV_READ.findall(path.read_text())
    }
    assert "KAFKA_BOOTSTRAP_SERVERS" in read  # the scan itself works
    assert read - listed() - INTERNAL == set()


def test_docker_compose_passes_the_env_file_to_every_billing_container() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if service.get("image") == "billing:local" or name == "postgres":
            assert service.get("env_file") == "${BILLING_ENV_FILE:-.env.example}", name
            assert "environment" not in service, name
    text = (ROOT / "docker-compose.yml").read_text().lower()
    assert not re.search(r"(password|secret)[a-z_]*\s*[:=]\s*\S", text)
