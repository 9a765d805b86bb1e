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


def test_the_plain_pdf_is_the_invoice_without_its_xml(client, final_invoice, admin_member):
    import io

    import pikepdf

    client.force_login(admin_member.user)
    response = client.get(reverse("facturx_export:download_pdf", args=[final_invoice.pk]))
    assert response.status_code == 200
    assert f'filename="Facture_{final_invoice.number}_pdf.pdf"' in response["Content-Disposition"]
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert "/AF" not in pdf.Root and "/Names" not in pdf.Root
        xmp = pdf.Root.Metadata.read_bytes()
        assert b"pdfaid:part>3<" in xmp and b"factur-x" not in xmp.lower()
        assert len(pdf.pages) >= 1


def test_a_final_invoice_that_cannot_be_built_answers_a_clear_page_not_a_500(
    client, final_invoice, admin_member
):
    from django.db import connection

    with connection.cursor() as cursor:  # data an older version let through
        cursor.execute(
            "UPDATE invoicing_invoiceline SET label = %s WHERE invoice_id = %s",
            ["Conseil\x01", final_invoice.pk],
        )
    client.force_login(admin_member.user)
    for name in ("facturx_export:download", "facturx_export:download_pdf"):
        response = client.get(reverse(name, args=[final_invoice.pk]))
        assert response.status_code == 409
        assert "corrigez-la par un avoir" in response.content.decode()


def test_an_invoice_numbered_before_the_french_rules_still_downloads(
    client, final_invoice, admin_member, caplog
):
    """Its buyer has no SIREN nor e-mail (no BT-49, BR-FR-12): numbered by an older version,
    it keeps a file that passes every other rule, and the log says why."""
    import io

    import pikepdf
    from django.db import connection

    with connection.cursor() as cursor:  # the buyer as an older version froze it
        cursor.execute(
            "UPDATE invoicing_invoice SET buyer_data = buyer_data::jsonb "
            '|| \'{"kind": "individual", "siret": "", "siren": "", "email": "", '
            '"public": false, "electronic_address": ""}\'::jsonb WHERE id = %s',
            [final_invoice.pk],
        )
    client.force_login(admin_member.user)

    response = client.get(reverse("facturx_export:download", args=[final_invoice.pk]))

    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        xml = pdf.attachments["factur-x.xml"].get_file().read_bytes()
    assert b"<ram:GlobalID" not in xml.split(b"BuyerTradeParty")[1].split(b"</ram:Buyer")[0]
    assert "fails the French CTC rules (BR-FR-12" in caplog.text
