"""What our refunds are called at the provider: `Refund <our refund id>`, written once here.

The description is the one field of a provider refund that names our refund before its
provider id is stored: `yookassa.create_refund` sends it, `yookassa.refund_of` reads it back
into `ProviderRefund.our_refund_id`, which tells our refunds apart from ones made in the
provider's dashboard (processors/external_refunds.py) and finds a refund by the list call
(processors/refund_lookup.py).
"""

import re
from uuid import UUID

_PREFIX = "Refund "
_OURS = re.compile(r"^Refund ([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$")


def refund_description(refund_id: UUID) -> str:
    """The description our refund `refund_id` is created with."""
    return f"{_PREFIX}{refund_id}"


def refund_id_in(description: object) -> UUID | None:
    """The id of ours a provider refund's description names (None: not one of ours)."""
    found = _OURS.match(description) if isinstance(description, str) else None
    return UUID(found.group(1)) if found else None
