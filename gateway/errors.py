"""Everything the gateway answers with other than success, one class per error code.

    GatewayError (status, code, message, headers)
    ├── ClientError (4xx: the caller can fix it)
    │   ├── Unauthorized                 401 unauthorized (+ WWW-Authenticate: Bearer)
    │   ├── IdempotencyKeyRequired       400 idempotency_key_required
    │   ├── IdempotencyKeyInvalid        400 idempotency_key_invalid
    │   ├── InvalidNotification          400 invalid_notification
    │   ├── ForbiddenSource              403 forbidden
    │   ├── NotFound                     404 not_found
    │   ├── PaymentNotRefundable         409 payment_not_refundable
    │   ├── NothingToRefund              409 nothing_to_refund
    │   ├── NoSubscription               409 no_subscription
    │   ├── SubscriptionChangeRefused    409 subscription_change_refused
    │   ├── PayloadTooLarge              413 payload_too_large
    │   ├── ValidationFailed             422 validation_error
    │   │   ├── UnknownPlan              422 unknown_plan
    │   │   ├── IdempotencyKeyReused     422 idempotency_key_reused
    │   │   ├── InvalidAmount            422 invalid_amount
    │   │   ├── AmountNotAllowed         422 amount_not_allowed
    │   │   ├── InvalidCursor            422 invalid_cursor
    │   │   ├── RefundExceedsPayment     422 refund_exceeds_payment
    │   │   ├── ReturnUrlNotAllowed      422 return_url_not_allowed
    │   │   └── ReceiptContactRequired   422 receipt_contact_required
    │   └── RateLimited                  429 rate_limited (+ Retry-After)
    └── ServiceUnavailable               503 service_unavailable (+ Retry-After: 5)
        ├── DatabaseUnavailable          PostgreSQL did not answer
        └── BrokerUnavailable            Kafka did not ack in time

A 503 is what the gateway says instead of a 202 it could not keep: the caller retries
with the same Idempotency-Key and gets the same payment.
"""

RETRY_AFTER_S = 5


class GatewayError(Exception):
    status = 500
    code = "internal_error"
    default_message = "internal error"

    def __init__(self, message: str | None = None, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class ClientError(GatewayError):
    status = 400
    code = "bad_request"
    default_message = "bad request"


class Unauthorized(ClientError):
    status = 401
    code = "unauthorized"
    default_message = "a valid Bearer token is required"

    def __init__(self, message: str | None = None):
        super().__init__(message, {"WWW-Authenticate": "Bearer"})


class IdempotencyKeyRequired(ClientError):
    code = "idempotency_key_required"
    default_message = "the Idempotency-Key header is required"


class IdempotencyKeyInvalid(ClientError):
    code = "idempotency_key_invalid"
    default_message = "Idempotency-Key must be 1-255 printable characters"


class InvalidNotification(ClientError):
    code = "invalid_notification"
    default_message = "the body is not a provider notification"


class ForbiddenSource(ClientError):
    status = 403
    code = "forbidden"
    default_message = "source address not allowed"


class NotFound(ClientError):
    status = 404
    code = "not_found"
    default_message = "not found"


class PaymentNotRefundable(ClientError):
    status = 409
    code = "payment_not_refundable"
    default_message = "only a succeeded payment can be refunded"


class NothingToRefund(ClientError):
    status = 409
    code = "nothing_to_refund"
    default_message = "the payment is already fully refunded or reserved by pending refunds"


class NoSubscription(ClientError):
    status = 409
    code = "no_subscription"
    default_message = "there is no running subscription to change"


class SubscriptionChangeRefused(ClientError):
    status = 409
    code = "subscription_change_refused"


class PayloadTooLarge(ClientError):
    status = 413
    code = "payload_too_large"
    default_message = "request body too large"


class ValidationFailed(ClientError):
    status = 422
    code = "validation_error"
    default_message = "the request is not valid"


class UnknownPlan(ValidationFailed):
    code = "unknown_plan"
    default_message = "no active plan with this id"


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    default_message = "this Idempotency-Key was used with a different request"


class InvalidAmount(ValidationFailed):
    code = "invalid_amount"
    default_message = "amount must be a positive decimal with at most 2 decimal places"


class AmountNotAllowed(ValidationFailed):
    code = "amount_not_allowed"
    default_message = "the refund policy sets the amount; an operator refunds other amounts"


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    default_message = "the cursor is not one this API issued"


class RefundExceedsPayment(ValidationFailed):
    code = "refund_exceeds_payment"
    default_message = "the refund exceeds what is left to refund"


class ReturnUrlNotAllowed(ValidationFailed):
    code = "return_url_not_allowed"
    default_message = "return_url must point at one of the configured origins"


class ReceiptContactRequired(ValidationFailed):
    code = "receipt_contact_required"
    default_message = (
        "a 54-FZ receipt needs your email: send `email` or use a token with an email claim"
    )


class RateLimited(ClientError):
    status = 429
    code = "rate_limited"
    default_message = "too many requests"

    def __init__(self, retry_after_s: int):
        super().__init__(None, {"Retry-After": str(retry_after_s)})


class ServiceUnavailable(GatewayError):
    status = 503
    code = "service_unavailable"
    default_message = "temporarily unavailable, retry with the same Idempotency-Key"

    def __init__(self, message: str | None = None):
        super().__init__(message, {"Retry-After": str(RETRY_AFTER_S)})


class DatabaseUnavailable(ServiceUnavailable):
    default_message = "the database is unavailable, retry later"


class BrokerUnavailable(ServiceUnavailable):
    default_message = "the message broker is unavailable, retry later"
