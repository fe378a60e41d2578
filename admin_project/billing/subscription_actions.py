"""Operators' subscription changes, through the pipeline: a ChangeSubscription command.

The command's id is a function of the subscription and the action's nonce, so a double
submit changes once; the commands processor applies the same domain rule the API uses,
under the user's lock, with the event and the next due work in one transaction.
"""

import uuid

from admin_project.billing.kafka import Record, produce
from admin_project.billing.models import Subscription
from schemas import COMMANDS, encode
from schemas.messages import ChangeSubscription


def change_command(
    sub: Subscription, action: str, username: str, nonce: str, days: int = 0
) -> ChangeSubscription:
    return ChangeSubscription.model_validate(
        {
            "subscription_id": sub.id,
            "user_id": sub.user_id,
            "action": action,
            "days": days,
            "requested_by": f"admin:{username}",
            "request_id": f"admin:{nonce}",
        }
    )


def request_change(
    subs: list[Subscription], action: str, username: str, days: int = 0
) -> list[ChangeSubscription]:
    """Produce one command per subscription (acked by all replicas) and return them."""
    nonce = uuid.uuid4().hex
    commands = [change_command(sub, action, username, f"{nonce}:{sub.id}", days) for sub in subs]
    produce([Record(COMMANDS, str(c.user_id).encode(), encode(c)) for c in commands])
    return commands
