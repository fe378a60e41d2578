"""What a business rule can refuse: one tree, raised by `domain` only.

DomainError
 └── NotRefundable              this refund cannot be granted
      ├── PaymentNotSucceeded   only a succeeded payment gives money back
      ├── RefundAmountInvalid   not positive, or finer than a kopeck
      └── RefundExceedsAvailable more than what is left (refunded + held subtracted)
           └── NothingLeftToRefund  nothing at all is left

A status move the ALLOWED tables forbid is not an error: it is what a duplicate or a late
message looks like, so `can_move` answers False and the SQL guard matches nothing.
Callers translate these refusals at their edge: the gateway into HTTP errors, the admin into a
message for the operator, the processors into a failed refund with `str(error)` as reason.
"""

from decimal import Decimal


class DomainError(Exception):
    """Root of every refusal a business rule makes."""


class NotRefundable(DomainError):
    pass


class PaymentNotSucceeded(NotRefundable):
    def __init__(self, status: str) -> None:
        super().__init__(f"payment is {status}; only succeeded payments are refundable")
        self.status = status


class RefundAmountInvalid(NotRefundable):
    pass


class RefundExceedsAvailable(NotRefundable):
    def __init__(self, requested: Decimal, available: Decimal) -> None:
        super().__init__(f"refund {requested} exceeds what is left ({available})")
        self.requested = requested
        self.available = available


class NothingLeftToRefund(RefundExceedsAvailable):
    pass
