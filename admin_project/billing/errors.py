"""What an operator's request can run into.

AdminActionError
├── RefundRefused        the payment cannot be refunded this way (status, amount, currency)
└── PipelineUnavailable  Kafka did not ack; the accepted row stays for the reconciler
"""


class AdminActionError(Exception):
    """An admin action that could not be carried out; the message is shown to the operator."""


class RefundRefused(AdminActionError):
    pass


class PipelineUnavailable(AdminActionError):
    pass
