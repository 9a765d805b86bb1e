"""Template helpers of the browser application: money, optional URLs, query strings."""

from decimal import Decimal

from django import template
from django.utils import formats

from invoicing.links import optional_reverse

register = template.Library()

NBSP = "\u00a0"


@register.filter
def eur(value) -> str:
    """1234.5 -> "1 234,50 €" (French grouping, two decimals)."""
    if value in (None, ""):
        return ""
    amount = formats.number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)
    return f"{amount}{NBSP}€"


def plain_decimal(value: Decimal) -> Decimal:
    """Trailing zeros removed without scientific notation: 100.0000 -> 100, 2.5000 -> 2.5."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


@register.filter
def qty(value) -> str:
    if value in (None, ""):
        return ""
    return formats.number_format(plain_decimal(value), use_l10n=True)


@register.filter
def rate(value) -> str:
    """20.00 -> "20 %", 5.50 -> "5,5 %"."""
    if value in (None, ""):
        return ""
    text = formats.number_format(plain_decimal(value), use_l10n=True)
    return f"{text}{NBSP}%"


@register.simple_tag
def url_if_exists(name: str, *args) -> str:
    """The URL of `name`, or "" when no app provides it yet (the button is then hidden)."""
    return optional_reverse(name, *args)


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def minutes(value) -> int:
    """A timedelta in whole minutes (at least 1)."""
    return max(1, round(value.total_seconds() / 60)) if value else 0
