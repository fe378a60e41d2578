"""The refund form: the nonce makes the admin action its own idempotency key."""

import uuid
from decimal import Decimal

from django import forms


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text="Leave empty to refund everything that is left.",
    )
    access = forms.ChoiceField(
        choices=[
            ("end", "End access: the period this payment bought ends now"),
            ("keep", "Keep access (goodwill): the subscription runs on"),
        ],
        initial="end",
        widget=forms.RadioSelect,
        help_text="What the refund does to the subscription the payment paid for.",
    )
    nonce = forms.RegexField(regex=r"^[A-Za-z0-9-]{8,64}$", widget=forms.HiddenInput, max_length=64)

    @classmethod
    def fresh(cls) -> "RefundForm":
        """A new form carries a new nonce; resubmitting the same page reuses it."""
        return cls(initial={"nonce": uuid.uuid4().hex, "access": "end"})

    @property
    def ends_access(self) -> bool:
        return bool(self.cleaned_data["access"] == "end")
