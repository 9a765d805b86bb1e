"""The data of the French 2026 invoice in the invoicing domain (the file: facturx_export)."""

from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection

from invoicing import fr_ctc, services
from invoicing.fr_ctc import ExemptionCode, Nature
from invoicing.models import Customer, Invoice, InvoiceLine, VatCategory
from invoicing.selectors import invoice_totals
from invoicing.services import LineInput
from invoicing.validators import validate_vat
from tests.factories import (
    ArticleFactory,
    CompanyFactory,
    CustomerFactory,
    DossierFactory,
)

pytestmark = pytest.mark.django_db

DELIVERY = {
    "delivery_name": "Entrepôt Nord",
    "delivery_address_line1": "2 allée Gustave Eiffel",
    "delivery_address_line2": "",
    "delivery_postcode": "51430",
    "delivery_city": "Tinqueux",
    "delivery_country_code": "FR",
}


def line(nature=Nature.SERVICES, **extra):
    return LineInput(
        label="Prestation",
        quantity=Decimal("2"),
        unit_price=Decimal("50"),
        nature=nature,
        **extra,
    )


@pytest.mark.parametrize(
    ("natures", "paid", "frame"),
    [
        ([Nature.GOODS], False, "B1"),
        ([Nature.SERVICES, Nature.SERVICES], False, "S1"),
        ([Nature.GOODS, Nature.SERVICES], False, "M1"),
        ([Nature.GOODS], True, "B2"),
        ([Nature.SERVICES, Nature.GOODS], True, "M2"),
        ([], False, "S1"),
    ],
)
def test_the_billing_frame_follows_what_is_sold_and_whether_it_is_paid(natures, paid, frame):
    assert fr_ctc.billing_frame(natures, already_paid=paid) == frame


def test_an_exemption_code_gives_its_usual_text_when_the_reason_is_blank():
    reason = validate_vat(VatCategory.EXEMPT, Decimal("0"), "", ExemptionCode.FRANCHISE)
    assert reason == "TVA non applicable, art. 293 B du CGI"
    kept = validate_vat(VatCategory.EXEMPT, Decimal("0"), "Notre texte", ExemptionCode.FRANCHISE)
    assert kept == "Notre texte"


@pytest.mark.parametrize(
    ("category", "rate", "code"),
    [
        (VatCategory.EXEMPT, "0", ExemptionCode.EXPORT),  # G's code on an E line
        (VatCategory.REVERSE_CHARGE, "0", ExemptionCode.INTRA_EU),
        (VatCategory.STANDARD, "20", ExemptionCode.FRANCHISE),  # no code on taxed lines
    ],
)
def test_an_exemption_code_must_match_the_vat_category(category, rate, code):
    with pytest.raises(ValidationError) as caught:
        validate_vat(category, Decimal(rate), "Motif", code)
    assert "exemption_code" in caught.value.message_dict


def test_an_article_line_carries_its_nature_and_exemption_code():
    dossier = DossierFactory()
    article = ArticleFactory(
        dossier=dossier,
        vat_category=VatCategory.EXPORT,
        vat_rate=Decimal("0"),
        exemption_code=ExemptionCode.EXPORT,
        exemption_reason="",
        nature=Nature.GOODS,
    )
    article.full_clean()
    assert article.exemption_reason == "Exonération de TVA, art. 262 I du CGI (exportation)"
    built = services.line_from_article(article, Decimal("3"))
    assert (built.nature, built.exemption_code) == (Nature.GOODS, ExemptionCode.EXPORT)


def test_customer_siren_must_start_the_siret_and_the_address_must_start_with_the_siren():
    customer = CustomerFactory.build(
        dossier=DossierFactory(), siret="11000601200014", siren="732829320"
    )
    with pytest.raises(ValidationError) as caught:
        customer.full_clean()
    assert "SIRET doit commencer par le SIREN" in str(caught.value.message_dict["siret"])

    customer.siren = "110006012"
    customer.electronic_address = "732829320_STE"
    with pytest.raises(ValidationError) as caught:
        customer.full_clean()
    assert "electronic_address" in caught.value.message_dict

    customer.electronic_address = "110006012 espace"
    with pytest.raises(ValidationError) as caught:
        customer.full_clean()
    assert "Adresse électronique de facturation invalide" in str(caught.value)

    customer.electronic_address = "110006012_11000601200014_SERVICE-A"
    customer.full_clean()


def test_a_partial_delivery_address_is_refused_with_the_missing_fields():
    customer = CustomerFactory.build(
        dossier=DossierFactory(), delivery_address_line1="2 allée Gustave Eiffel"
    )
    with pytest.raises(ValidationError) as caught:
        customer.full_clean()
    assert set(caught.value.message_dict) == {"delivery_postcode", "delivery_city"}


def test_identities_derive_siren_and_directory_addresses():
    dossier = DossierFactory()
    public = CustomerFactory(dossier=dossier, siret="11000601200014", chorus_enabled=True)
    business = CustomerFactory(
        dossier=dossier, code="B2B", siret="", siren="552081317", chorus_enabled=False
    )
    company = CompanyFactory(dossier=dossier)

    assert public.identity()["siren"] == "110006012"
    assert public.identity()["electronic_address"] == "110006012_11000601200014"
    assert public.identity()["public"] is True
    assert business.identity()["electronic_address"] == "552081317"
    assert company.identity()["electronic_address"] == company.siren
    company.electronic_address = f"{company.siren}_FACTURES"
    assert company.identity()["electronic_address"] == f"{company.siren}_FACTURES"


def test_an_invoice_takes_the_customers_delivery_address_and_its_credit_note_keeps_it():
    company = CompanyFactory()
    customer = CustomerFactory(dossier=company.dossier, **DELIVERY)
    invoice = services.invoice_create(
        company=company,
        customer=customer,
        lines=[line(Nature.GOODS, vat_category=VatCategory.EXPORT, vat_rate=Decimal("0"),
                    exemption_code=ExemptionCode.EXPORT)],
    )  # fmt: skip
    assert invoice.delivery_address() == DELIVERY
    assert invoice.lines.get().exemption_reason.startswith("Exonération de TVA, art. 262 I")

    elsewhere = services.invoice_create(
        company=company, customer=customer, lines=[line()], delivery_address={}
    )
    assert not elsewhere.has_delivery_address

    final = services.invoice_finalise(invoice_id=invoice.pk)
    credit_note = services.credit_note_create(invoice=final)
    assert credit_note.delivery_address() == DELIVERY
    credited = credit_note.lines.get()
    assert (credited.nature, credited.exemption_code) == (Nature.GOODS, ExemptionCode.EXPORT)


def test_an_already_paid_invoice_has_nothing_left_to_pay():
    company = CompanyFactory()
    customer = CustomerFactory(dossier=company.dossier)
    invoice = services.invoice_create(
        company=company, customer=customer, lines=[line()], already_paid=True
    )
    totals = invoice_totals(invoice)
    assert totals.prepaid == totals.tax_inclusive == Decimal("120.00")
    assert totals.due == Decimal("0.00")


def test_a_credit_note_cannot_be_marked_already_paid():
    company = CompanyFactory()
    customer = CustomerFactory(dossier=company.dossier)
    final = services.invoice_finalise(
        invoice_id=services.invoice_create(company=company, customer=customer, lines=[line()]).pk
    )
    with pytest.raises(ValidationError) as caught:
        services.invoice_create(
            company=company,
            customer=customer,
            lines=[line()],
            kind=Invoice.Kind.CREDIT_NOTE,
            credited_invoice=final,
            already_paid=True,
        )
    assert "already_paid" in caught.value.message_dict


def test_the_siret_confirmed_when_sending_also_gives_the_siren_and_the_address():
    company = CompanyFactory()
    customer = CustomerFactory(dossier=company.dossier, siret="11000601200014")
    invoice = services.invoice_create(company=company, customer=customer, lines=[line()])
    final = services.invoice_finalise(invoice_id=invoice.pk, buyer_siret="21510454200017")
    assert final.buyer_data["siret"] == "21510454200017"
    assert final.buyer_data["siren"] == "215104542"
    assert final.buyer_data["electronic_address"] == "215104542_21510454200017"


def test_individuals_have_no_siren_nor_directory_address():
    customer = CustomerFactory.build(
        dossier=DossierFactory(),
        kind=Customer.Kind.INDIVIDUAL,
        chorus_enabled=False,
        siret="",
        siren="552081317",
    )
    with pytest.raises(ValidationError):
        customer.full_clean()


def test_the_migration_codes_articles_and_provisional_lines_but_not_final_invoices():
    company = CompanyFactory()
    customer = CustomerFactory(dossier=company.dossier)
    article = ArticleFactory(
        dossier=company.dossier,
        vat_category=VatCategory.REVERSE_CHARGE,
        vat_rate=Decimal("0"),
        exemption_reason="Autoliquidation",
    )
    exempt = {"vat_category": VatCategory.EXPORT, "vat_rate": Decimal("0"),
              "exemption_reason": "Exportation"}  # fmt: skip
    franchise = {"vat_category": VatCategory.EXEMPT, "vat_rate": Decimal("0"),
                 "exemption_reason": "TVA non applicable, art. 293 B du CGI"}  # fmt: skip
    provisional = services.invoice_create(
        company=company, customer=customer, lines=[line(**exempt), line(**franchise)]
    )
    frozen = services.invoice_create(company=company, customer=customer, lines=[line(**exempt)])
    with connection.cursor() as cursor:  # a final invoice of before the migration
        cursor.execute(
            "UPDATE invoicing_invoice SET state='final', number='FA-OLD-1', issue_date=%s "
            "WHERE id=%s",
            ["2026-01-05", frozen.pk],
        )

    migration = import_module("invoicing.migrations.0005_fr_2026_invoice")
    migration.exemption_codes(apps, None)

    article.refresh_from_db()
    assert article.exemption_code == ExemptionCode.REVERSE_CHARGE_EU
    codes = list(provisional.lines.values_list("exemption_code", flat=True))
    assert codes == [ExemptionCode.EXPORT, ExemptionCode.FRANCHISE]
    assert InvoiceLine.objects.get(invoice=frozen).exemption_code == ""


def test_an_already_paid_invoice_is_due_on_the_day_it_was_paid_not_after():
    company = CompanyFactory()
    customer = CustomerFactory(dossier=company.dossier)
    invoice = services.invoice_create(
        company=company, customer=customer, lines=[line()], already_paid=True
    )
    final = services.invoice_finalise(invoice_id=invoice.pk)
    assert final.due_date == final.issue_date
