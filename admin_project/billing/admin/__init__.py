"""The admin: one module per area, registered on import (Django's autodiscover)."""

from admin_project.billing.admin import others, payments

__all__ = ["others", "payments"]
