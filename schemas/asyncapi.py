"""`python -m schemas.asyncapi [FILE]`: the AsyncAPI 3 document of every topic, message and key.

Generated from the same pydantic models as the JSON Schema files (`schemas.export`): which
messages travel on which topic is read from the `Command` and `Event` unions, so a new
event appears here once it is in the union. A staleness test compares the committed file.
"""

import json
import sys
from pathlib import Path
from typing import Any, get_args

from schemas import topics
from schemas.messages import Command, DeadLetter, Envelope, Event, ProviderNotification

DEFAULT_FILE = Path(__file__).parent / "asyncapi.json"
REF = "#/components/schemas/{model}"
REQUEST_ID_HEADERS = {
    "type": "object",
    "properties": {
        "x-request-id": {
            "type": "string",
            "description": "the gateway request that caused this message (absent otherwise)",
        }
    },
}
CHANNELS: dict[str, dict[str, Any]] = {
    "commands": {
        "address": topics.COMMANDS,
        "key": "user_id (UTF-8): one user's commands are handled in order",
        "description": "What the gateway, the admin and the reconciler ask the processors "
        "to do. Read by processor-commands; internal to billing.",
        "messages": lambda: _union(Command),
        "roles": {"send": "gateway, admin, reconciler", "receive": "processor-commands"},
    },
    "webhooks": {
        "address": topics.WEBHOOKS,
        "key": "the provider's payment id (UTF-8): one payment's notifications in order",
        "description": "Provider notifications as received by the gateway, not yet trusted: "
        "processor-webhooks re-reads the object from the provider.",
        "messages": lambda: [ProviderNotification],
        "roles": {"send": "gateway", "receive": "processor-webhooks"},
    },
    "events": {
        "address": topics.EVENTS,
        "key": "user_id (UTF-8): one user's events are in order",
        "description": "What happened to payments, refunds and subscriptions: the topic "
        "other teams subscribe to. Published from the outbox, exactly once per message_id; "
        "consumers dedupe on message_id (delivery is at least once).",
        "messages": lambda: _union(Event),
        "roles": {"send": "outbox-relay", "receive": "consumer-subscriptions, -notifications"},
    },
    "dlq": {
        "address": topics.DLQ,
        "key": "the original record's key",
        "description": "Records a consumer gave up on, with the error; `billing dlq` "
        "lists, shows and re-injects them.",
        "messages": lambda: [DeadLetter],
        "roles": {"send": "the consumers", "receive": "operators"},
    },
}


def _union(annotated: Any) -> list[type[Envelope]]:
    union = get_args(annotated)[0]
    return list(get_args(union))


def _name(model: type[Envelope]) -> str:
    return str(model.model_fields["type"].default)


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel, spec in CHANNELS.items():
        models = spec["messages"]()
        for model in models:
            messages[_name(model)] = _message(model, spec, schemas, channel == "commands")
        channels[channel] = _channel(spec, models)
        for action in ("send", "receive"):
            operations[f"{action}{channel.capitalize()}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{action}: {spec['roles'][action]}",
                "messages": [
                    {"$ref": f"#/channels/{channel}/messages/{_name(model)}"} for model in models
                ],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Billing topics",
            "version": "1",
            "description": "Kafka topics of the billing service. Values are UTF-8 JSON; "
            "every message carries `type`, `schema_version`, `message_id`, `occurred_at`. "
            "Money is a decimal string. Producers are idempotent, acks=all.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make up"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _channel(spec: dict[str, Any], models: list[type[Envelope]]) -> dict[str, Any]:
    return {
        "address": spec["address"],
        "description": f"{spec['description']} Key: {spec['key']}.",
        "messages": {
            _name(model): {"$ref": f"#/components/messages/{_name(model)}"} for model in models
        },
        "bindings": {
            "kafka": {
                "partitions": topics.TOPICS[spec["address"]],
                "bindingVersion": "0.5.0",
            }
        },
    }


def _message(
    model: type[Envelope], spec: dict[str, Any], schemas: dict[str, Any], with_headers: bool
) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization", ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[_name(model)] = schema
    message: dict[str, Any] = {
        "name": _name(model),
        "title": _name(model),
        "summary": (model.__doc__ or _name(model)).strip().splitlines()[0],
        "payload": {"$ref": REF.format(model=_name(model))},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": spec["key"]},
                "bindingVersion": "0.5.0",
            }
        },
    }
    if with_headers:
        message["headers"] = REQUEST_ID_HEADERS
    return message


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main(target: Path = DEFAULT_FILE) -> None:
    target.write_text(render())
    print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FILE)
