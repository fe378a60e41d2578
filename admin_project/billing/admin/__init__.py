"""The admin: one module per area, registered on import (Django's autodiscover)."""

from admin_project.billing.admin import others, payments, subscriptions

__all__ = ["others", "payments", "subscriptions"]
