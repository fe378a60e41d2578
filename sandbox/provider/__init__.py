"""YooKassa API v3 simulator: payments, refunds, payment page, webhooks, ledger, faults."""
