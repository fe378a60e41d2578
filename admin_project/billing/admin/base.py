"""Read-only admins: the pipeline owns these rows, operators look and act through it."""

import json
from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from django.utils.html import format_html
from unfold.admin import ModelAdmin


def pretty_json(value: object) -> str:
    """A JSON column as an indented block, or a dash when it is null."""
    if value is None:
        return "—"
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html('<pre class="whitespace-pre-wrap text-xs">{}</pre>', text)


class ReadOnlyAdmin(ModelAdmin):
    """View-only for everyone, superusers included: money is never edited in a form."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        own = [field.name for field in self.model._meta.fields]
        return [
            *own,
            *[name for name in super().get_readonly_fields(request, obj) if name not in own],
        ]
