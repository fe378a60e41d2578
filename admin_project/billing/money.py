"""Amounts as operators read them: the sign of the amount's own currency, never a fixed ₽.

Sums are kept per currency: adding roubles to dollars is not a figure anyone can use.
"""

from decimal import Decimal

SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "BYN": "Br", "UAH": "₴"}


def money(amount: Decimal, currency: str) -> str:
    """'1,234.50 ₽' for RUB; the ISO code itself for a currency without a known sign."""
    code = currency.strip().upper()
    return f"{amount:,.2f} {SIGNS.get(code, code)}"


def totals(by_currency: dict[str, Decimal]) -> str:
    """One amount per currency, largest first; '0.00' when there is none."""
    if not by_currency:
        return "0.00"
    ordered = sorted(by_currency.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(money(amount, currency) for currency, amount in ordered)
