"""infra/supervisor/render.py: the supervisord program files for SCALE and KAFKA_BROKERS."""

import configparser
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "infra" / "supervisor" / "conf.d"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render", ROOT / "infra/supervisor/render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["render"] = module
    spec.loader.exec_module(module)
    return module


render = _load()


def rendered(tmp_path: Path, scale: int, brokers: int) -> dict[str, dict[str, str]]:
    shape = render.Shape(scale=scale, kafka_brokers=brokers)
    render.render_all(TEMPLATES, tmp_path, shape)
    parser = configparser.RawConfigParser()
    for path in sorted(tmp_path.glob("*.conf")):
        parser.read_string(path.read_text(), source=path.name)
    return {s.removeprefix("program:"): dict(parser[s]) for s in parser.sections()}


def test_scale_1_keeps_the_contracts_names_and_numbers_instance_0(tmp_path: Path) -> None:
    programs = rendered(tmp_path, 1, 1)
    for name, options in programs.items():
        assert "process_name" not in options, name  # the name stays the program's own
        assert options.get("numprocs", "1") == "1", name
    assert 'BILLING_INSTANCE="%(process_num)d"' in programs["processor-commands"]["environment"]
    assert "numprocs_start" not in programs["processor-commands"]  # BILLING_INSTANCE=0
    assert "environment" not in programs["postgres"]


def test_scale_2_runs_two_of_each_scalable_program_with_their_own_logs(tmp_path: Path) -> None:
    programs = rendered(tmp_path, 2, 1)
    scaled = {name for name, options in programs.items() if options.get("numprocs") == "2"}
    expected = {n for n in programs if n.startswith(("processor-", "consumer-"))}
    assert scaled == expected | {"gateway", "outbox-relay", "reconciler", "scheduler"}
    gateway = programs["gateway"]
    assert gateway["process_name"] == "%(program_name)s-%(process_num)d"
    assert gateway["stdout_logfile"].endswith("/.run/logs/%(program_name)s-%(process_num)d.log")
    assert {"admin", "provider", "postgres", "kafka"}.isdisjoint(scaled)


def test_three_brokers_are_kafka_1_to_3_and_everyone_gets_every_broker(tmp_path: Path) -> None:
    programs = rendered(tmp_path, 1, 3)
    kafka = programs["kafka"]
    assert (kafka["numprocs"], kafka["numprocs_start"]) == ("3", "1")
    assert 'KAFKA_NODE_ID="%(process_num)d"' in kafka["environment"]
    bootstrap = 'KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"'
    assert bootstrap in programs["admin"]["environment"]
    assert bootstrap in programs["processor-commands"]["environment"]


def test_the_receipts_switch_reaches_only_the_provider_and_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = render.Shape(receipts_required=True)
    render.render_all(TEMPLATES, tmp_path / "on", shape)
    on = (tmp_path / "on" / "provider.conf").read_text()
    assert 'PROVIDER_RECEIPTS_REQUIRED="1"' in on
    assert "PROVIDER_RECEIPTS" not in (tmp_path / "on" / "gateway.conf").read_text()
    render.render_all(TEMPLATES, tmp_path / "off", render.Shape())
    assert 'PROVIDER_RECEIPTS_REQUIRED="0"' in (tmp_path / "off" / "provider.conf").read_text()
    monkeypatch.delenv("PROVIDER_RECEIPTS_REQUIRED", raising=False)
    (tmp_path / "stack.env").write_text("SCALE=1\nKAFKA_BROKERS=1\nPROVIDER_RECEIPTS_REQUIRED=1\n")
    assert render.resolve_shape(tmp_path / "stack.env").receipts_required
    monkeypatch.setenv("PROVIDER_RECEIPTS_REQUIRED", "0")
    assert not render.resolve_shape(tmp_path / "stack.env").receipts_required


def test_a_scheduler_added_later_is_scaled_like_the_reconciler(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "scheduler.conf").write_text(
        '; renewals\n[program:scheduler]\ncommand=python -m x\nenvironment=A="1"\n'
        "stdout_logfile=%(ENV_BILLING_ROOT)s/.run/logs/scheduler.log\n"
    )
    out = tmp_path / "out"
    render.render_all(templates, out, render.Shape(scale=3))
    text = (out / "scheduler.conf").read_text()
    assert 'environment=A="1",BILLING_INSTANCE="%(process_num)d"' in text
    assert "numprocs=3" in text and "logs/%(program_name)s-%(process_num)d.log" in text


@pytest.mark.parametrize(("scale", "brokers"), [("0", "1"), ("10", "1"), ("1", "2")])
def test_shapes_it_cannot_run_are_refused(
    scale: str, brokers: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCALE", scale)
    monkeypatch.setenv("KAFKA_BROKERS", brokers)
    with pytest.raises(SystemExit):
        render.resolve_shape(tmp_path / "stack.env")


def test_without_settings_the_running_stacks_shape_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCALE", raising=False)
    monkeypatch.delenv("KAFKA_BROKERS", raising=False)
    (tmp_path / "stack.env").write_text("SCALE=2\nKAFKA_BROKERS=3\n")
    kept = render.resolve_shape(tmp_path / "stack.env")
    assert (kept.scale, kept.kafka_brokers) == (2, 3)
    (tmp_path / "stack.env").unlink()
    default = render.resolve_shape(tmp_path / "stack.env")
    assert (default.scale, default.kafka_brokers) == (1, 1)
