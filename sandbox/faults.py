"""Fault injection shared by the simulators.

Settings are persisted in the simulator's SQLite ``kv`` table, so a restarted simulator
keeps misbehaving the same way; the random generator restarts from ``seed``.
"""

from __future__ import annotations

import asyncio
import random
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sandbox.sqlite import Database, kv_get, kv_put

FAULTS_KEY = "faults"

Rate = float


class BasicFaults(BaseModel):
    """Faults every simulator understands."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    seed: int | None = None


F = TypeVar("F", bound=BasicFaults)


class FaultInjector(Generic[F]):
    """Holds the current fault settings and the random source that applies them."""

    def __init__(self, db: Database, model: type[F]) -> None:
        self._db = db
        self._model = model
        self.config: F = model()
        self._rng = random.Random()

    async def load(self) -> None:
        stored = await kv_get(self._db, FAULTS_KEY)
        config = self._model.model_validate_json(stored) if stored else self._model()
        self._apply(config)

    async def set(self, config: F) -> F:
        await kv_put(self._db, FAULTS_KEY, config.model_dump_json())
        self._apply(config)
        return config

    async def reset(self) -> F:
        return await self.set(self._model())

    def roll(self, rate: Rate) -> bool:
        """True with probability ``rate``; draws nothing when the rate is zero."""
        return rate > 0 and self._rng.random() < rate

    async def delay(self) -> None:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)

    def _apply(self, config: F) -> None:
        self.config = config
        self._rng = random.Random(config.seed)


async def injected_failure(injector: FaultInjector[BasicFaults]) -> JSONResponse | None:
    """Auth/Notify faults: a 503 instead of the call (no state change), else the latency."""
    if injector.roll(injector.config.error_rate):
        body = {"error": {"code": "fault_injected", "message": "Service unavailable (sandbox)"}}
        return JSONResponse(body, status_code=503)
    await injector.delay()
    return None


def current_injector(request: Request) -> FaultInjector[Any]:
    """FastAPI dependency: every simulator's runtime carries its injector as ``faults``."""
    injector: FaultInjector[Any] = request.app.state.runtime.faults
    return injector


Injector = Annotated[FaultInjector[Any], Depends(current_injector)]
basic_fault_routes = APIRouter(prefix="/sandbox")


@basic_fault_routes.get("/faults")
async def read_faults(injector: Injector) -> BasicFaults:
    return injector.config  # type: ignore[no-any-return]


@basic_fault_routes.post("/faults")
async def set_faults(body: BasicFaults, injector: Injector) -> BasicFaults:
    return await injector.set(body)  # type: ignore[no-any-return]


@basic_fault_routes.delete("/faults")
async def reset_faults(injector: Injector) -> BasicFaults:
    return await injector.reset()  # type: ignore[no-any-return]
