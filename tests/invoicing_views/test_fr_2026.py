"""The French 2026 data on every screen: company settings, customer and article forms, the
entry screen (nature and exemption code per line, already paid, delivery address, category
of the operation), the final invoice and the links of the « Contrôle » panel."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse

from invoicing import control, services
from invoicing.models import Article, Customer, Invoice
from invoicing.services import LineInput
from tests.factories import BUYER_SIRET, SELLER_SIREN, ArticleFactory
from tests.invoicing_views.test_customers_articles import customer_data
from tests.invoicing_views.test_invoices import entry_data
from tests.invoicing_views.test_settings import company_data

pytestmark = pytest.mark.django_db

BUYER_SIREN = BUYER_SIRET[:9]
LILLE = {
    "delivery_name": "Entrepôt Nord",
    "delivery_address_line1": "4 rue du Quai",
    "delivery_address_line2": "",
    "delivery_postcode": "59000",
    "delivery_city": "Lille",
    "delivery_country_code": "FR",
}


# Company settings.


def test_the_company_settings_save_the_2026_fields(logged, tenant):
    url = reverse("settings_company_edit", args=[tenant.company.pk])
    body = logged.get(url).content.decode()
    assert f'placeholder="{SELLER_SIREN}"' in body  # the derived directory address
    assert "Avancé" in body and "le fichier ne respecte pas les règles françaises" in body

    data = company_data(
        tenant.company,
        vat_on_debits="on",
        electronic_address=f"{SELLER_SIREN}_FACTURES",
        chorus_legacy_layout="on",
    )
    assert logged.post(url, data).status_code == 302

    tenant.company.refresh_from_db()
    assert tenant.company.vat_on_debits and tenant.company.chorus_legacy_layout
    assert tenant.company.electronic_address == f"{SELLER_SIREN}_FACTURES"


def test_the_company_directory_address_starts_with_its_siren(logged, tenant):
    url = reverse("settings_company_edit", args=[tenant.company.pk])

    response = logged.post(url, company_data(tenant.company, electronic_address="110006012"))

    assert response.context["form"].errors["electronic_address"] == [
        "L'adresse électronique de facturation doit commencer par le SIREN de l'entreprise."
    ]


# Customers.


def test_the_customer_form_saves_siren_directory_address_and_delivery_address(logged, tenant):
    data = customer_data(
        siren="110 006 012",
        electronic_address=f"{BUYER_SIREN}_{BUYER_SIRET}",
        delivery_name="Entrepôt Nord",
        delivery_address_line1="4 rue du Quai",
        delivery_postcode="59000",
        delivery_city="Lille",
        delivery_country_code="",
    )

    assert logged.post(reverse("customer_create"), data).status_code == 302

    customer = Customer.objects.get(dossier=tenant.dossier, code="MAIRIE")
    assert customer.siren == BUYER_SIREN  # typed in groups, stored as 9 digits
    assert customer.electronic_address == f"{BUYER_SIREN}_{BUYER_SIRET}"
    assert customer.delivery_address() == LILLE  # the country: the customer's own


def test_a_blank_siren_shows_the_one_derived_from_the_siret(logged, tenant):
    body = logged.get(reverse("customer_edit", args=[tenant.customer.pk])).content.decode()

    assert f'placeholder="{BUYER_SIREN}"' in body
    assert f'placeholder="{BUYER_SIREN}_{BUYER_SIRET}"' in body  # a Chorus Pro customer
    assert "Adresse de livraison (si différente)" in body


def test_the_customer_form_refuses_a_siret_that_does_not_start_with_the_siren(logged, tenant):
    response = logged.post(reverse("customer_create"), customer_data(siren=SELLER_SIREN))

    assert response.status_code == 200
    assert response.context["form"].errors["siret"] == [
        "Le SIRET doit commencer par le SIREN du client."
    ]
    assert not Customer.objects.filter(code="MAIRIE").exists()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("factures@mairie.fr", "Adresse électronique de facturation invalide"),
        (f"{BUYER_SIREN} 01", "Adresse électronique de facturation invalide"),
        (SELLER_SIREN, "doit commencer par le SIREN du client"),
    ],
)
def test_the_customer_form_refuses_a_malformed_directory_address(logged, tenant, address, message):
    response = logged.post(reverse("customer_create"), customer_data(electronic_address=address))

    assert message in response.context["form"].errors["electronic_address"][0]
    assert not Customer.objects.filter(code="MAIRIE").exists()


def test_the_customer_form_refuses_a_bad_siren(logged, tenant):
    response = logged.post(reverse("customer_create"), customer_data(siren="110006013"))

    assert "n'est pas un SIREN valide" in response.context["form"].errors["siren"][0]


def test_an_incomplete_delivery_address_is_refused_and_unfolded(logged, tenant):
    response = logged.post(reverse("customer_create"), customer_data(delivery_city="Lille"))

    errors = response.context["form"].errors
    message = "Complétez l'adresse de livraison (adresse, code postal et ville)."
    assert errors["delivery_address_line1"] == [message]
    assert errors["delivery_postcode"] == [message]
    assert '<details class="form-details" id="delivery-address" open>' in (
        response.content.decode()
    )


def test_an_individual_has_no_siren_nor_directory_address(logged, tenant):
    data = customer_data(
        kind="individual",
        code="PART",
        chorus_enabled=None,
        siret=None,
        default_service_code=None,
        default_engagement_number=None,
        siren=BUYER_SIREN,
        electronic_address=BUYER_SIREN,
    )

    response = logged.post(reverse("customer_create"), data)

    errors = response.context["form"].errors
    assert errors["siren"] == errors["electronic_address"] == ["Sans objet pour un particulier."]
    assert not Customer.objects.filter(code="PART").exists()


def test_an_individual_may_have_a_delivery_address(logged, tenant):
    data = customer_data(
        kind="individual",
        code="PART",
        chorus_enabled=None,
        siret=None,
        default_service_code=None,
        default_engagement_number=None,
        **{k: v for k, v in LILLE.items() if v},
    )

    assert logged.post(reverse("customer_create"), data).status_code == 302
    assert Customer.objects.get(code="PART").delivery_city == "Lille"


# Articles.


def _article(**fields) -> dict:
    return {
        "code": "FORM",
        "label": "Formation",
        "unit": "HUR",
        "unit_price": "50",
        "nature": "services",
        "vat_category": "S",
        "vat_rate": "20",
        **fields,
    }


def test_the_article_form_saves_nature_and_exemption_code(logged, tenant):
    data = _article(nature="goods", vat_category="K", vat_rate="0", exemption_code="VATEX-EU-IC")

    assert logged.post(reverse("article_create"), data).status_code == 302

    article = Article.objects.get(dossier=tenant.dossier, code="FORM")
    assert (article.nature, article.exemption_code) == ("goods", "VATEX-EU-IC")
    assert article.exemption_reason == "Exonération de TVA, art. 262 ter I du CGI"  # usual text


def test_the_article_form_shows_the_codes_usual_text_when_it_comes_back(logged, tenant):
    data = _article(
        code="VIN75",  # taken: the form comes back
        vat_category="E",
        vat_rate="0",
        exemption_code="VATEX-FR-FRANCHISE",
    )

    response = logged.post(reverse("article_create"), data)

    assert response.status_code == 200
    assert 'value="TVA non applicable, art. 293 B du CGI"' in response.content.decode()


def test_an_exemption_code_of_another_category_is_refused(logged, tenant):
    data = _article(vat_category="E", vat_rate="0", exemption_code="VATEX-EU-IC")

    response = logged.post(reverse("article_create"), data)

    assert response.context["form"].errors["exemption_code"] == [
        "Ce code d'exonération (VATEX-EU-IC) ne correspond pas à la catégorie de TVA choisie."
    ]


# The entry screen.


@pytest.fixture
def delivered(tenant):
    """The tenant's customer with a default delivery address."""
    Customer.objects.filter(pk=tenant.customer.pk).update(**LILLE)
    tenant.customer.refresh_from_db()
    return tenant.customer


def _new_invoice(tenant) -> Invoice:
    return Invoice.objects.exclude(pk__in=[tenant.provisional.pk, tenant.final.pk]).get()


LINE = {"label": "Conseil", "quantity": "1", "unit_price": "100"}


def test_a_new_invoice_shows_then_gets_the_customers_delivery_address(logged, tenant, delivered):
    page = logged.get(reverse("invoice_create"), {"client": delivered.pk})
    assert page.context["header_form"]["delivery_city"].value() == "Lille"
    assert page.context["header_form"].customer_deliveries()[str(delivered.pk)] == LILLE

    response = logged.post(reverse("invoice_create"), entry_data(tenant, [LINE]))

    assert response.status_code == 302
    assert _new_invoice(tenant).delivery_address() == LILLE


def test_the_user_can_change_the_delivery_address_of_an_invoice(logged, tenant, delivered):
    logged.post(reverse("invoice_create"), entry_data(tenant, [LINE]))
    invoice = _new_invoice(tenant)
    url = reverse("invoice_detail", args=[invoice.pk])
    assert "Entrepôt Nord" in logged.get(url).content.decode()

    other = {
        "delivery_name": "",
        "delivery_address_line1": "2 allée des Tilleuls",
        "delivery_postcode": "51100",
        "delivery_city": "Reims",
        "delivery_country_code": "",
    }
    assert logged.post(url, entry_data(tenant, [LINE], **other)).status_code == 302

    invoice.refresh_from_db()
    assert (invoice.delivery_name, invoice.delivery_city) == ("", "Reims")
    assert invoice.delivery_country_code == "FR"  # the customer's country
    logged.post(url, entry_data(tenant, [LINE]))  # emptied: no delivery address any more
    invoice.refresh_from_db()
    assert not invoice.has_delivery_address


def test_a_typed_delivery_address_wins_over_the_customers_at_creation(logged, tenant, delivered):
    typed = {"delivery_address_line1": "1 rue X", "delivery_postcode": "1", "delivery_city": "Y"}

    logged.post(reverse("invoice_create"), entry_data(tenant, [LINE], **typed))

    assert _new_invoice(tenant).delivery_city == "Y"


def test_an_incomplete_delivery_address_is_refused_on_the_entry_screen(logged, tenant):
    response = logged.post(
        reverse("invoice_create"), entry_data(tenant, [LINE], delivery_city="Reims")
    )

    assert response.status_code == 200
    assert (
        "Complétez l'adresse de livraison"
        in response.context["header_form"].errors["delivery_address_line1"][0]
    )


def test_nature_and_exemption_code_are_saved_per_line(logged, tenant):
    ArticleFactory(
        dossier=tenant.dossier,
        code="EXPORT",
        nature="goods",
        vat_category="G",
        vat_rate=Decimal("0"),
        exemption_code="VATEX-EU-G",
        exemption_reason="Exonération de TVA, art. 262 I du CGI (exportation)",
    )
    lines = [
        {**LINE, "nature": "goods"},
        {**LINE, "label": "Transport", "nature": "services"},
        {
            **LINE,
            "label": "Formation",
            "vat_category": "E",
            "vat_rate": "0",
            "exemption_code": "VATEX-FR-CGI261-4",
        },
        # The article's nature and code when none is posted (a page without script).
        {**LINE, "article": "export", "label": "Export", "vat_category": "G", "vat_rate": "0"},
        # A code chosen after the article's: its usual text follows it.
        {
            **LINE,
            "label": "Autoliquidation",
            "vat_category": "AE",
            "vat_rate": "0",
            "exemption_code": "VATEX-FR-AE",
            "exemption_reason": "Autoliquidation, art. 283-2 du CGI",
        },
    ]

    response = logged.post(reverse("invoice_create"), entry_data(tenant, lines))

    assert response.status_code == 302
    rows = list(_new_invoice(tenant).lines.order_by("position", "pk"))
    assert [(r.nature, r.exemption_code) for r in rows] == [
        ("goods", ""),
        ("services", ""),
        ("services", "VATEX-FR-CGI261-4"),
        ("goods", "VATEX-EU-G"),
        ("services", "VATEX-FR-AE"),
    ]
    assert rows[2].exemption_reason == "Exonération de TVA, art. 261-4 du CGI"
    assert rows[4].exemption_reason == "Autoliquidation, art. 283-2 nonies du CGI"
    page = logged.get(response["Location"])
    assert page.context["formset"].forms[0]["nature"].value() == "goods"
    assert page.context["formset"].forms[2]["exemption_code"].value() == "VATEX-FR-CGI261-4"
    assert "Opération mixte (biens et services)" in page.content.decode()


def test_an_exemption_code_of_another_category_is_refused_on_its_line(logged, tenant):
    line = {**LINE, "vat_category": "E", "vat_rate": "0", "exemption_code": "VATEX-EU-IC"}

    response = logged.post(reverse("invoice_create"), entry_data(tenant, [line]))

    form = response.context["formset"].forms[0]
    assert form.errors["exemption_code"] == [
        "Ce code d'exonération (VATEX-EU-IC) ne correspond pas à la catégorie de TVA choisie."
    ]


def test_a_row_with_only_its_prefilled_nature_and_code_stays_blank(logged, tenant):
    blank = {"nature": "goods", "exemption_code": "VATEX-EU-IC", "vat_rate": "20,00"}

    response = logged.post(reverse("invoice_create"), entry_data(tenant, [LINE, blank]))

    assert response.status_code == 302
    assert _new_invoice(tenant).lines.count() == 1


def test_an_already_paid_invoice_shows_nothing_to_pay(logged, tenant):
    response = logged.post(reverse("invoice_create"), entry_data(tenant, [LINE], already_paid="on"))

    invoice = _new_invoice(tenant)
    assert invoice.already_paid
    page = logged.get(response["Location"])
    totals = page.context["totals"]
    assert (totals.prepaid, totals.due) == (Decimal("120.00"), Decimal("0.00"))
    body = page.content.decode()
    assert "Déjà réglé" in body and '<dd data-total="due">0,00\xa0€</dd>' in body


def test_a_credit_note_offers_no_already_paid_and_copies_the_delivery_address(
    logged, tenant, delivered
):
    invoice = services.invoice_finalise(
        invoice_id=services.invoice_create(
            company=tenant.company,
            customer=delivered,
            lines=[
                LineInput(label="Vin", quantity=Decimal(1), unit_price=Decimal(10), nature="goods")
            ],
        ).pk
    )

    response = logged.post(reverse("credit_note_create", args=[invoice.pk]))

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert note.delivery_address() == LILLE and note.lines.get().nature == "goods"
    body = logged.get(response["Location"]).content.decode()
    assert 'name="already_paid"' not in body
    assert "Livraison de biens" in body


# The final invoice.


def test_the_final_invoice_shows_the_2026_mentions(logged, tenant, delivered):
    tenant.company.vat_on_debits = True
    tenant.company.save()
    invoice = services.invoice_finalise(
        invoice_id=services.invoice_create(
            company=tenant.company,
            customer=delivered,
            lines=[LineInput(label="Conseil", quantity=Decimal(1), unit_price=Decimal(100))],
            already_paid=True,
        ).pk
    )

    body = logged.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()

    assert "Entrepôt Nord, 4 rue du Quai, 59000 Lille" in body
    assert "Prestation de services" in body
    assert "Option pour le paiement de la TVA d'après les débits" in body
    assert "Facture déjà payée" in body
    assert '<dd data-total="due">0,00\xa0€</dd>' in body
    assert f'<dd class="mono">{BUYER_SIREN}</dd>' in body


# The « Contrôle » panel's links.


@dataclass
class Problem:
    field: str
    message: str = "À corriger."
    line: int | None = None


@pytest.mark.parametrize(
    ("field", "page", "anchor"),
    [
        ("customer.siren", "customer", "#id_siren"),
        ("customer.email", "customer", "#id_email"),
        ("customer.electronic_address", "customer", "#id_electronic_address"),
        ("customer.delivery_city", "customer", "#id_delivery_city"),
        ("company.electronic_address", "company", "#id_electronic_address"),
        ("company.siren", "company", "#id_siren"),
        ("company.vat_on_debits", "company", "#id_vat_on_debits"),
        ("delivery_address_line1", "entry", "#id_delivery_address_line1"),
        ("delivery_country_code", "entry", "#id_delivery_country_code"),
        ("already_paid", "entry", "#id_already_paid"),
        ("delivery_date", "entry", "#id_delivery_date"),
    ],
)
def test_the_control_panel_links_each_new_field_to_its_form(logged, tenant, field, page, anchor):
    invoice = tenant.provisional
    urls = {
        "customer": reverse("customer_edit", args=[invoice.customer_id]),
        "company": reverse("settings_company_edit", args=[invoice.company_id]),
        "entry": "",
    }

    item = control._item(Problem(field), invoice, is_admin=True)

    assert item.href == urls[page] + anchor
    target = urls[page] or reverse("invoice_detail", args=[invoice.pk])
    assert f'id="{anchor[1:]}"' in logged.get(target).content.decode()


def test_a_member_is_told_an_administrator_fixes_the_company(tenant):
    item = control._item(Problem("company.electronic_address"), tenant.provisional, is_admin=False)

    assert item.needs_admin and not item.href
