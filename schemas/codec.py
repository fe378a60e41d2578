"""The one codec: JSON bytes on the wire, pydantic models in the code."""

from pydantic import TypeAdapter, ValidationError

from schemas.messages import Envelope, Message

_MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)


class UndecodableMessage(ValueError):
    """Bytes that are not a message this service knows (malformed, unknown type)."""


def encode(message: Envelope) -> bytes:
    return message.model_dump_json().encode()


def decode(raw: bytes | str) -> Envelope:
    try:
        return _MESSAGE.validate_json(raw)
    except ValidationError as exc:
        raise UndecodableMessage(str(exc)) from exc


def encode_key(key: object) -> bytes:
    return str(key).encode()
