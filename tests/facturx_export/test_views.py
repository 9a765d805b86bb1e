"""Downloading the Factur-X of a final invoice from the browser."""

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _url(invoice):
    return reverse("facturx_export:download", args=[invoice.pk])


def test_member_downloads_the_factur_x_of_a_final_invoice(client, final_invoice, admin_member):
    client.force_login(admin_member.user)
    response = client.get(_url(final_invoice))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="Facture_{final_invoice.number}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF-")


def test_another_dossiers_invoice_is_not_found(client, final_invoice):
    stranger = MembershipFactory()  # a member of another dossier
    client.force_login(stranger.user)
    assert client.get(_url(final_invoice)).status_code == 404


def test_provisional_invoice_is_refused(client, make_invoice, admin_member):
    client.force_login(admin_member.user)
    assert client.get(_url(make_invoice())).status_code == 404


def test_anonymous_user_is_sent_to_the_login_page(client, final_invoice):
    response = client.get(_url(final_invoice))
    assert response.status_code == 302
    assert "next=" in response["Location"]
