"""Topic names (CONTRACT §3) and their partition counts, created by infra/kafka/create_topics.py."""

COMMANDS = "billing.commands.v1"
WEBHOOKS = "billing.webhooks.v1"
EVENTS = "billing.events.v1"
DLQ = "billing.dlq.v1"

TOPICS: dict[str, int] = {
    COMMANDS: 12,
    WEBHOOKS: 12,
    EVENTS: 12,
    DLQ: 3,
}
