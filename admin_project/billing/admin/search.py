"""Search terms that are ids: exact, index-served lookups instead of LIKE scans."""

import uuid


def uuid_search(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None
