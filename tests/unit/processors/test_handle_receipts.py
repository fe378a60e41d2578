"""54-FZ receipts through the handlers, in memory: a payment is sent with the receipt stored on
its row, a refund with one derived for the refunded amount and fixed at reservation."""

from decimal import Decimal

from fakes import FakeDeps
from world import create, new_payment, new_refund, paid_payment, refund, refund_row

from processors.provider.receipts import ReceiptLine, receipt_for
from schemas.ids import provider_idempotence_key

EMAIL = "viewer@cinema.test"


def stored_receipt(amount: str) -> dict[str, object]:
    receipt = receipt_for(True, ReceiptLine("Monthly"), Decimal(amount), "RUB", EMAIL)
    assert receipt is not None
    return receipt


async def test_a_payment_is_sent_with_the_receipt_stored_on_its_row() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps, receipt=stored_receipt("499.00"))
    await create(deps, cmd)
    sent = deps.provider.receipts[provider_idempotence_key("payment", cmd.payment_id)]
    assert sent == stored_receipt("499.00")


async def test_a_partial_refund_is_sent_with_a_receipt_for_the_refunded_amount() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps, receipt=stored_receipt("499.00"))
    back = new_refund(deps, paid, "120.00")
    await refund(deps, back)
    sent = deps.provider.receipts[provider_idempotence_key("refund", back.refund_id)]
    assert sent is not None
    assert sent["customer"] == {"email": EMAIL}
    assert sent["items"][0]["amount"] == {"value": "120.00", "currency": "RUB"}
    assert refund_row(deps, back).receipt == sent


async def test_a_redriven_refund_resends_the_receipt_fixed_at_reservation() -> None:
    """Receipts switched off between two attempts: the same body goes under the same key."""
    deps = FakeDeps()
    paid = await paid_payment(deps, receipt=stored_receipt("499.00"))
    back = new_refund(deps, paid, "120.00")
    deps.provider.faults.append("timeout_after_commit")
    await refund(deps, back)
    fixed = refund_row(deps, back).receipt
    assert fixed is not None and refund_row(deps, back).reserved
    deps.settings = deps.settings.model_copy(update={"provider_receipts": False})
    await refund(deps, back)
    assert refund_row(deps, back).status.value == "succeeded"
    assert deps.provider.receipts[provider_idempotence_key("refund", back.refund_id)] == fixed


async def test_with_receipts_off_a_refund_goes_without_one() -> None:
    deps = FakeDeps()
    deps.settings = deps.settings.model_copy(update={"provider_receipts": False})
    paid = await paid_payment(deps)
    back = new_refund(deps, paid, "499.00")
    await refund(deps, back)
    assert deps.provider.receipts[provider_idempotence_key("refund", back.refund_id)] is None
