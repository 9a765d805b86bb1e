"""Extreme dates in the list filters and cursors answer normally, never with a 500."""

import base64
import datetime

import pytest
from django.urls import reverse

from invoicing import selectors

pytestmark = pytest.mark.django_db

EXTREMES = [
    {"au": "9999-12-31"},
    {"du": "0001-01-01"},
    {"du": "0001-01-01", "au": "9999-12-31"},
    {"du": "9999-12-31"},
    {"au": "0001-01-01"},
]


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("query", EXTREMES)
def test_the_invoice_list_answers_extreme_dates(logged, query):
    response = logged.get(reverse("invoice_list"), query)
    assert response.status_code == 200


def test_the_widest_period_still_lists_every_invoice(logged, tenant):
    response = logged.get(reverse("invoice_list"), {"du": "0001-01-01", "au": "9999-12-31"})
    assert set(response.context["page"].rows) == {tenant.provisional, tenant.final}


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+05:00|1",
        "9999-12-31T23:59:59-05:00|1",
        "0001-01-01T00:00:00|1",
        "9999-12-31T23:59:59.999999|1",
        "2026-01-01T00:00:00+00:00|99999999999999999999999",
    ],
)
@pytest.mark.parametrize("direction", ["apres", "avant"])
def test_the_invoice_list_answers_extreme_cursors(logged, raw, direction):
    response = logged.get(reverse("invoice_list"), {direction: cursor(raw)})
    assert response.status_code == 200


def test_a_cursor_the_list_made_still_pages(tenant):
    invoice = tenant.final
    stamp, pk = selectors.decode_cursor(selectors.encode_cursor(invoice))
    assert (stamp, pk) == (invoice.created_at, invoice.pk)


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+05:00|1", "2026-01-01T00:00:00|1", "2026-01-01T00:00:00Z|-3"]
)
def test_a_cursor_nobody_made_is_ignored(raw):
    assert selectors.decode_cursor(cursor(raw)) is None


def test_extreme_filter_days_are_clamped_not_overflowed():
    assert selectors.clamp_day(datetime.date.max) < datetime.date.max
    assert selectors.clamp_day(datetime.date.min) > datetime.date.min
    assert selectors.clamp_day(datetime.date(2026, 3, 2)) == datetime.date(2026, 3, 2)
