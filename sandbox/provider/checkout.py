"""The payment page a person sees: ``/checkout/{id}`` card form, then back to ``return_url``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from sandbox.provider.cards import TEST_CARDS
from sandbox.provider.errors import NotFound, UnknownCard
from sandbox.provider.runtime import ProviderRuntime, runtime

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
router = APIRouter()
Runtime = Annotated[ProviderRuntime, Depends(runtime)]


@router.get("/checkout/{payment_id}", response_class=HTMLResponse)
async def show_checkout(request: Request, payment_id: str, rt: Runtime) -> Response:
    payment = await _payment_or_none(rt, payment_id)
    if payment is None:
        return _page(request, None, "Payment not found", status_code=404)
    return _page(request, payment, None)


@router.post("/checkout/{payment_id}", response_class=HTMLResponse)
async def submit_checkout(
    request: Request,
    payment_id: str,
    rt: Runtime,
    card_number: Annotated[str, Form()] = "",
) -> Response:
    payment = await _payment_or_none(rt, payment_id)
    if payment is None:
        return _page(request, None, "Payment not found", status_code=404)
    try:
        payment = await rt.service.confirm_payment(payment_id, card_number)
    except UnknownCard:
        return _page(request, payment, "This card is not accepted", status_code=422)
    return RedirectResponse(payment["confirmation"]["return_url"], status_code=303)


async def _payment_or_none(rt: ProviderRuntime, payment_id: str) -> dict[str, Any] | None:
    try:
        return await rt.service.get_payment(payment_id)
    except NotFound:
        return None


def _page(
    request: Request, payment: dict[str, Any] | None, error: str | None, status_code: int = 200
) -> Response:
    context = {
        "payment": payment,
        "error": error,
        "test_cards": TEST_CARDS.values(),
    }
    return templates.TemplateResponse(request, "checkout.html", context, status_code=status_code)
