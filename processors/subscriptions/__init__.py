"""Subscriptions on the processors' side: periods from payments, renewals, dunning, expiry.

The rules are `domain.subscriptions` (pure); this package loads and saves them
(`repository`), reacts to payments in the transaction that moves them (`lifecycle`),
handles the scheduler's commands (`handlers`) and plans the next due work (`schedule`).
"""
