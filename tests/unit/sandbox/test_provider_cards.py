"""Every test card does what ``sandbox/README.md`` says, person present and saved."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from sandbox.provider.cards import TEST_CARDS
from tests.unit.sandbox.conftest import new_key, payment_body

README = Path(__file__).resolve().parents[3] / "sandbox" / "README.md"
ROW = re.compile(r"^\| `(\d{16})` \| (.+?) \| (.+?) \|$", re.MULTILINE)


def documented() -> dict[str, tuple[str, str]]:
    return {m[1]: (m[2], m[3]) for m in ROW.finditer(README.read_text())}


def outcome(status: str, reason: str | None) -> str:
    return "pays" if status == "succeeded" else f"`canceled`, `{reason}`"


def test_readme_lists_exactly_the_test_cards() -> None:
    assert set(documented()) == set(TEST_CARDS)


@pytest.mark.parametrize("number", sorted(TEST_CARDS))
async def test_card_behaves_as_documented(provider: httpx.AsyncClient, number: str) -> None:
    present, later = documented()[number]
    body = payment_body("10.00", save_payment_method=True)
    created = await provider.post("/v3/payments", json=body, headers={"Idempotence-Key": new_key()})
    confirmed = await provider.post(
        f"/sandbox/payments/{created.json()['id']}/confirm", json={"card_number": number}
    )
    payment = confirmed.json()
    reason = payment.get("cancellation_details", {}).get("reason")
    assert present.startswith(outcome(payment["status"], reason))
    if payment["status"] != "succeeded":
        assert later.startswith("—")
        return
    renewal = await provider.post(
        "/v3/payments",
        json={
            "amount": {"value": "10.00", "currency": "RUB"},
            "capture": True,
            "payment_method_id": payment["payment_method"]["id"],
        },
        headers={"Idempotence-Key": new_key()},
    )
    charged = renewal.json()
    reason = charged.get("cancellation_details", {}).get("reason")
    assert later == ("pay" if charged["status"] == "succeeded" else outcome("canceled", reason))
