"""The AsyncAPI document: committed up to date, every message on a channel, every $ref resolves."""

import json
from typing import Any

from schemas.asyncapi import DEFAULT_FILE, document, render
from schemas.messages import ALL_MESSAGES


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_committed_asyncapi_document_is_not_stale() -> None:
    assert DEFAULT_FILE.read_text() == render(), (
        "run `python -m schemas.asyncapi` and commit schemas/asyncapi.json"
    )


def test_every_message_travels_on_exactly_one_channel_with_its_key() -> None:
    doc = document()
    placed = [name for channel in doc["channels"].values() for name in channel["messages"]]
    assert sorted(placed) == sorted(m.model_fields["type"].default for m in ALL_MESSAGES)
    for message in doc["components"]["messages"].values():
        assert message["bindings"]["kafka"]["key"]["description"]


def test_every_reference_resolves() -> None:
    doc = json.loads(render())
    assert doc["asyncapi"].startswith("3.")
    for ref in refs(doc):
        assert resolve(doc, ref) is not None, ref
    for operation in doc["operations"].values():
        channel = resolve(doc, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert resolve(doc, message["$ref"]) in channel["messages"].values()
