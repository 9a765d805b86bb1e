"""The accountant's day in Chromium: a Chorus customer, an invoice of three lines, live totals."""

import re

import pytest
from playwright.sync_api import expect

from invoicing.models import Customer, Invoice
from tests.factories import BUYER_SIRET
from tests.ui.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_chorus_customer_then_an_invoice_of_three_lines(page, demo):
    login(page)

    # A company customer: the Chorus Pro zone is there; for an individual it disappears.
    page.goto("/clients/nouveau/")
    page.get_by_label("Code client").fill("MAIRIE51")
    kind = page.get_by_label("Type de client")
    kind.select_option("individual")
    expect(page.locator("#chorus-zone")).to_be_hidden()
    kind.select_option("company")
    expect(page.locator("#chorus-zone")).to_be_visible()
    page.get_by_label("Nom ou raison sociale").fill("Mairie de Reims")
    page.locator("#id_address_line1").fill("9 place de l'Hôtel de Ville")
    page.locator("#id_postcode").fill("51100")
    page.locator("#id_city").fill("Reims")
    page.get_by_label("Envoi vers Chorus Pro").check()
    page.get_by_label("SIRET").fill("110 006 012 00014")
    page.get_by_label("Référence acheteur (service exécutant)").fill("SERV-COMPTA")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Client « Mairie de Reims » créé.")).to_be_visible()
    customer = Customer.objects.get(code="MAIRIE51")
    assert customer.chorus_enabled and customer.siret == BUYER_SIRET

    # The entry screen: pick articles by code, type quantities, watch the totals.
    page.goto("/factures/nouvelle/")
    page.locator("#id_customer").select_option(str(customer.pk))
    first = page.get_by_label("Article, ligne 1", exact=True)
    first.fill("AOPVEMA15B")
    expect(page.get_by_label("Libellé court, ligne 1")).to_have_value(
        "AOP vin effervescent 2015 75 cl"
    )
    first.press("Enter")  # Enter goes on to the quantity
    quantity = page.get_by_label("Quantité, ligne 1")
    expect(quantity).to_be_focused()
    quantity.fill("12")
    expect(page.locator("tr[data-line]").nth(0).locator("[data-amount]")).to_have_text(
        "120,00\u00a0€"
    )

    page.get_by_label("Article, ligne 2", exact=True).fill("JUS100")
    page.get_by_label("Quantité, ligne 2").fill("3")  # 3 x 3,35 = 10,05 at 5,5 %

    # Line 3 typed by hand, with a French decimal comma.
    page.get_by_label("Libellé court, ligne 3").fill("Dégustation commentée")
    page.get_by_label("Quantité, ligne 3").fill("1,5")
    page.get_by_label("Pu HT, ligne 3").fill("33,33")  # 49,995 -> 50,00 (half-up)

    totals = page.locator("aside.totals")
    expect(totals.locator('[data-total="ht"]')).to_have_text("180,05\u00a0€")
    # VAT: 20 % of 170,00 = 34,00 ; 5,5 % of 10,05 = 0,55275 -> 0,55
    expect(totals.locator('[data-total="tva"]')).to_have_text("34,55\u00a0€")
    expect(totals.locator('[data-total="ttc"]')).to_have_text("214,60\u00a0€")
    expect(totals.locator("[data-vat-breakdown] tr")).to_have_count(2)

    # Ctrl+Entrée adds a line, Ctrl+Suppr removes it again.
    page.get_by_label("Quantité, ligne 3").press("Control+Enter")
    expect(page.locator("tr[data-line]")).to_have_count(4)
    expect(page.get_by_label("Article, ligne 4", exact=True)).to_be_focused()
    page.keyboard.press("Control+Delete")
    expect(page.locator("tr[data-line]")).to_have_count(3)

    page.get_by_role("button", name="Enregistrer").first.click()
    expect(page.get_by_text("Facture provisoire enregistrée.")).to_be_visible()

    invoice = Invoice.objects.get(customer=customer)
    assert invoice.state == Invoice.State.PROVISIONAL
    assert [line.label for line in invoice.lines.all()] == [
        "AOP vin effervescent 2015 75 cl",
        "Jus de raisin 1 l",
        "Dégustation commentée",
    ]

    # Reopened: the same lines and the server's totals, still editable.
    page.goto(f"/factures/{invoice.pk}/")
    expect(page.get_by_label("Quantité, ligne 3")).to_have_value("1,5")
    expect(page.locator('[data-total="ttc"]')).to_have_text("214,60\u00a0€")
    expect(page.locator(".state-banner")).to_contain_text("Provisoire")
    expect(page.get_by_label("Libellé court, ligne 1")).to_be_editable()


def test_a_refused_save_keeps_everything_typed(page, demo):
    customer = demo.customer(name="Lycée Jean Moulin")
    login(page)
    page.goto("/factures/nouvelle/")
    page.locator("#id_customer").select_option(str(customer.pk))
    page.get_by_label("Libellé court, ligne 1").fill("Formation")
    page.get_by_label("Quantité, ligne 1").fill("2")
    page.get_by_label("Pu HT, ligne 1").fill("abc")
    page.get_by_label("Libellé court, ligne 2").fill("Support de cours")
    page.get_by_label("Quantité, ligne 2").fill("2")
    page.get_by_label("Pu HT, ligne 2").fill("15")
    page.get_by_role("button", name="Enregistrer").first.click()

    expect(page.get_by_role("alert")).to_contain_text("Votre saisie est conservée")
    expect(page.get_by_label("Pu HT, ligne 1")).to_have_value("abc")
    expect(page.get_by_label("Pu HT, ligne 1")).to_be_focused()
    expect(page.locator("tr[data-line]").nth(0)).to_contain_text("Saisissez un nombre.")
    expect(page.get_by_label("Libellé court, ligne 2")).to_have_value("Support de cours")
    expect(page.locator("#id_customer")).to_have_value(str(customer.pk))
    assert not Invoice.objects.exists()


def test_leaving_with_unsaved_changes_asks_first(page, demo):
    login(page)
    page.goto("/factures/nouvelle/")
    page.get_by_label("Libellé court, ligne 1").fill("Travail en cours")
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("link", name="Clients").click()
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert page.url.endswith("/factures/nouvelle/")


def test_final_invoice_is_read_only_and_offers_a_credit_note(page, demo):
    from decimal import Decimal

    from invoicing import services

    customer = demo.customer(name="Conseil départemental")
    invoice = services.invoice_finalise(
        invoice_id=services.invoice_create(
            company=demo.company,
            customer=customer,
            lines=[services.line_from_article(demo.articles[0], Decimal("6"))],
        ).pk
    )
    login(page)
    page.goto(f"/factures/{invoice.pk}/")
    expect(page.locator(".state-banner")).to_contain_text("Définitive")
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)
    assert page.locator("form#invoice-form").count() == 0
    assert page.locator("main input:not([type=hidden])").count() == 0
    expect(page.get_by_role("link", name="Télécharger le Factur-X")).to_be_visible()
    page.get_by_role("button", name="Créer un avoir").click()
    expect(page.get_by_text(re.compile("Avoir provisoire créé"))).to_be_visible()
    expect(page.get_by_label("Quantité, ligne 1")).to_have_value("6")


def test_the_header_context_menu_offers_the_send_action_by_mouse_and_keyboard(page, demo):
    from decimal import Decimal

    from invoicing import services

    invoice = services.invoice_create(
        company=demo.company,
        customer=demo.customer(),
        lines=[services.line_from_article(demo.articles[0], Decimal("6"))],
    )
    login(page)
    page.goto(f"/factures/{invoice.pk}/")
    expect(page.get_by_role("link", name="Envoyer la facture vers Chorus Pro")).to_be_visible()

    page.locator("#invoice-header").click(button="right", position={"x": 300, "y": 10})
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Valider la facture")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Envoyer la facture vers Chorus Pro")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    page.locator("#id_customer").focus()
    page.keyboard.press("Shift+F10")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Enregistrer")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Valider la facture")).to_be_focused()
    page.keyboard.press("ArrowDown")
    send = menu.get_by_role("menuitem", name="Envoyer la facture vers Chorus Pro")
    expect(send).to_be_focused()
    assert send.get_attribute("href") == f"/chorus/factures/{invoice.pk}/envoyer/"
    page.keyboard.press("Escape")
    expect(page.locator("#id_customer")).to_be_focused()
