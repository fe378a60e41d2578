"""Notification sandbox settings (it holds no secrets)."""

from __future__ import annotations

from pathlib import Path

from sandbox.settings import SimulatorSettings


class NotifySettings(SimulatorSettings):
    notify_url: str = "http://127.0.0.1:8083"
    notify_db_path: Path = Path(".run/sandbox/notify.sqlite3")

    def validate_for_start(self) -> None:
        self.refuse_default_secrets({})
