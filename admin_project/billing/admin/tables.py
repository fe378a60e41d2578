"""Small read-only HTML tables for detail pages (refunds, timeline, a subscriber's payments)."""

from collections.abc import Iterable, Sequence

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

CELL = '<td style="padding:4px 16px 4px 0;vertical-align:top">{}</td>'


def html_table(css_class: str, rows: Iterable[Sequence[object]]) -> SafeString:
    """Cells are escaped unless already safe (e.g. a link built with `admin_link`)."""
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", CELL, ((cell,) for cell in row)),) for row in rows),
    )
    return format_html('<table class="{}">{}</table>', css_class, body)


def admin_link(viewname: str, pk: object) -> SafeString:
    return format_html(
        '<a class="text-primary-600" href="{}">{}</a>', reverse(viewname, args=[pk]), pk
    )
