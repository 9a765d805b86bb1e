"""Text an invoice cannot carry is refused at entry, named, in the entry screen, the
customer and company records and the admin: the invoice is never saved with it."""

import pytest
from django.urls import reverse

from invoicing.models import Customer, Invoice
from tests.invoicing_views.test_invoices import entry_data

pytestmark = pytest.mark.django_db

BAD = [("\x01", "U+0001"), ("\x1f", "U+001F"), ("\U00013000", "U+13000")]


@pytest.mark.parametrize(("char", "named"), BAD)
def test_the_entry_screen_refuses_a_label_with_a_field_error(logged, tenant, char, named):
    before = Invoice.objects.count()
    response = logged.post(
        reverse("invoice_create"),
        entry_data(tenant, [{"label": f"Con{char}seil", "quantity": "1", "unit_price": "10"}]),
    )
    assert response.status_code == 200
    assert named in response.content.decode()
    assert Invoice.objects.count() == before


@pytest.mark.parametrize(("char", "named"), BAD)
def test_the_note_of_an_invoice_is_refused_too(logged, tenant, char, named):
    response = logged.post(
        reverse("invoice_create"),
        entry_data(
            tenant, [{"label": "Conseil", "quantity": "1", "unit_price": "10"}], note=f"N{char}B"
        ),
    )
    assert named in response.content.decode()


def test_a_customer_name_no_font_draws_is_refused(logged, tenant):
    customer = Customer.objects.filter(dossier=tenant.dossier).first()
    response = logged.post(
        reverse("customer_edit", args=[customer.pk]),
        {"code": customer.code, "kind": customer.kind, "name": "Client \U00013000"},
    )
    assert "U+13000" in response.content.decode()
    customer.refresh_from_db()
    assert "\U00013000" not in customer.name
