"""The admin: one module per area, registered on import (Django's autodiscover)."""

from admin_project.billing.admin import (
    catalog,
    dead_letters,
    payments,
    refunds,
    subscribers,
    subscriptions,
)

__all__ = ["catalog", "dead_letters", "payments", "refunds", "subscribers", "subscriptions"]
