"""Search terms that are ids: exact, index-served lookups instead of LIKE scans."""

import uuid

from django.db.models import Q

MIN_KEY_PREFIX = 3  # shorter prefixes match too much to be a search
SEARCH_HELP = (
    "Search takes an exact UUID (payment, user or external id) or the first "
    f"{MIN_KEY_PREFIX}+ characters of an Idempotency-Key."
)


def uuid_search(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def key_prefix_search(term: str) -> Q:
    """`idempotency_key LIKE 'term%'` (an empty Q when the term is too short to be one)."""
    if len(term) < MIN_KEY_PREFIX:
        return Q()
    return Q(idempotency_key__startswith=term)
