"""The French 2026 data in Chromium: nature and exemption code per line, the category of the
operation, « Facture déjà payée », the delivery address that follows the customer, the
derived SIREN of a customer, the article's exemption code and its usual text."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from invoicing.models import Article, Invoice
from tests.factories import BUYER_SIRET, ArticleFactory
from tests.ui.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LILLE = {
    "delivery_name": "Entrepôt Nord",
    "delivery_address_line1": "4 rue du Quai",
    "delivery_postcode": "59000",
    "delivery_city": "Lille",
    "delivery_country_code": "FR",
}


def test_an_invoice_of_goods_and_exempt_services_already_paid(page, demo):
    ArticleFactory(
        dossier=demo.dossier,
        code="FORMATION",
        label="Formation professionnelle",
        unit_price=Decimal("900"),
        vat_category="E",
        vat_rate=Decimal("0"),
        exemption_code="VATEX-FR-CGI261-4",
        exemption_reason="Exonération de TVA, art. 261-4 du CGI",
    )
    Article.objects.filter(code="AOPVEMA15B").update(nature="goods")
    with_delivery = demo.customer(name="Négoce du Nord", **LILLE)
    without = demo.customer(name="Lycée Jean Moulin")
    login(page)
    page.goto("/factures/nouvelle/")

    # The delivery address follows the customer chosen, unfolded when there is one.
    customer = page.locator("#id_customer")
    customer.select_option(str(with_delivery.pk))
    expect(page.locator("#delivery-address")).to_have_attribute("open", "")
    expect(page.locator("#id_delivery_city")).to_have_value("Lille")
    customer.select_option(str(without.pk))
    expect(page.locator("#id_delivery_city")).to_have_value("")
    customer.select_option(str(with_delivery.pk))
    page.locator("#id_delivery_name").fill("Chantier de Roubaix")  # typed: it stays
    customer.select_option(str(without.pk))
    expect(page.locator("#id_delivery_name")).to_have_value("Chantier de Roubaix")
    customer.select_option(str(with_delivery.pk))

    # Line 1: goods, from the article; the category of the operation follows.
    category = page.locator("[data-operation-category]")
    expect(category).to_have_text("—")
    page.get_by_label("Article, ligne 1", exact=True).fill("AOPVEMA15B")
    page.get_by_label("Quantité, ligne 1").fill("10")
    expect(page.get_by_label("Nature, ligne 1")).to_have_value("goods")
    expect(page.get_by_label("Exonération, ligne 1")).to_be_hidden()
    expect(category).to_have_text("Livraison de biens")

    # Line 2: an exempt service; its code comes from the article, shown beside the label.
    page.get_by_label("Article, ligne 2", exact=True).fill("FORMATION")
    expect(page.get_by_label("Nature, ligne 2")).to_have_value("services")
    code = page.get_by_label("Exonération, ligne 2")
    expect(code).to_be_visible()
    expect(code).to_have_value("VATEX-FR-CGI261-4")
    expect(category).to_have_text("Opération mixte (biens et services)")

    # Already paid: nothing left to pay.
    totals = page.locator("aside.totals")
    expect(totals.locator('[data-total="due"]')).to_have_text("1\u00a0020,00\u00a0€")
    expect(totals.locator("[data-prepaid-row]")).to_be_hidden()
    page.get_by_label("Facture déjà payée").check()
    expect(totals.locator('[data-total="prepaid"]')).to_have_text("1\u00a0020,00\u00a0€")
    expect(totals.locator('[data-total="due"]')).to_have_text("0,00\u00a0€")

    page.get_by_role("button", name="Enregistrer").first.click()
    expect(page.get_by_text("Facture provisoire enregistrée.")).to_be_visible()

    invoice = Invoice.objects.get(customer=with_delivery)
    assert invoice.already_paid
    assert (invoice.delivery_name, invoice.delivery_city) == ("Chantier de Roubaix", "Lille")
    lines = list(invoice.lines.order_by("position", "pk"))
    assert [(line.nature, line.exemption_code) for line in lines] == [
        ("goods", ""),
        ("services", "VATEX-FR-CGI261-4"),
    ]
    expect(page.locator("[data-operation-category]")).to_have_text(
        "Opération mixte (biens et services)"
    )
    expect(page.locator('[data-total="due"]')).to_have_text("0,00\u00a0€")


def test_a_changed_exemption_code_brings_its_usual_text(page, demo):
    ArticleFactory(
        dossier=demo.dossier,
        code="AUTOLIQ",
        label="Travaux sous-traités",
        vat_category="AE",
        vat_rate=Decimal("0"),
        exemption_code="VATEX-EU-AE",
        exemption_reason="Autoliquidation, art. 283-2 du CGI",
    )
    customer = demo.customer(name="BTP Reims")
    login(page)
    page.goto(f"/factures/nouvelle/?client={customer.pk}")
    page.get_by_label("Article, ligne 1", exact=True).fill("AUTOLIQ")
    page.get_by_label("Exonération, ligne 1").select_option("VATEX-FR-AE")
    expect(page.locator("#id_lines-0-exemption_reason")).to_have_value(
        "Autoliquidation, art. 283-2 nonies du CGI"
    )
    # Another article of the standard rate: the code is hidden and emptied.
    page.get_by_label("Article, ligne 1", exact=True).fill("JUS100")
    expect(page.get_by_label("Exonération, ligne 1")).to_be_hidden()
    expect(page.get_by_label("Exonération, ligne 1")).to_have_value("")


def test_the_customer_form_shows_the_derived_siren_and_directory_address(page, demo):
    login(page)
    page.goto("/clients/nouveau/")
    page.get_by_label("SIRET").fill("110 006 012 00014")
    expect(page.get_by_label("SIREN", exact=True)).to_have_attribute("placeholder", "110006012")
    address = page.get_by_label("Adresse électronique de facturation")
    expect(address).to_have_attribute("placeholder", "110006012")
    page.get_by_label("Envoi vers Chorus Pro").check()  # a public buyer: one per SIRET
    expect(address).to_have_attribute("placeholder", f"110006012_{BUYER_SIRET}")


def test_a_link_to_a_folded_field_unfolds_it(page, demo):
    customer = demo.customer(name="Négoce du Nord")
    login(page)
    page.goto(f"/clients/{customer.pk}/#id_delivery_city")

    expect(page.locator("#delivery-address")).to_have_attribute("open", "")
    expect(page.locator("#id_delivery_city")).to_be_focused()


def test_the_article_form_fills_the_codes_category_and_usual_text(page, demo):
    login(page)
    page.goto("/articles/nouveau/")
    page.get_by_label("Code d'exonération").select_option("VATEX-FR-FRANCHISE")

    expect(page.get_by_label("Catégorie de TVA")).to_have_value("E")
    expect(page.get_by_label("Taux de TVA (%)")).to_have_value("0")
    expect(page.get_by_label("Motif d'exonération")).to_have_value(
        "TVA non applicable, art. 293 B du CGI"
    )
