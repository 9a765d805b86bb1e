""" "Envoyer la facture vers Chorus Pro" in Chromium, end to end: the live server, a real Celery
worker (shared by the whole session) and the Chorus Pro sandbox over HTTP."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from chorus.models import Submission
from chorus.services.status_sync import sync_statuses
from invoicing import services
from invoicing.models import Customer, Invoice, Membership
from tests.factories import CustomerFactory, MembershipFactory, UserFactory
from tests.ui.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEND = "Envoyer la facture vers Chorus Pro"
SUCCESS = "Votre Facture-X a été déposée avec succès sur Chorus Pro"
FAILURE = "Une erreur est survenue lors de l'envoi, veuillez consulter le rapport."
SEVERAL = "Vous ne pouvez pas envoyer plusieurs factures vers Chorus Pro"
FINAL = "Cette facture est définitive vous ne pouvez plus l'envoyer sur Chorus Pro"
WORKER_TIMEOUT = 40_000  # ms: the report is polled by the page, the worker does the sending


@pytest.fixture
def accountant(seller):
    user = UserFactory(username="compta", first_name="Claire", last_name="Martin")
    MembershipFactory(user=user, dossier=seller.dossier, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def chorus_customer(seller, sandbox):
    return CustomerFactory(
        dossier=seller.dossier,
        kind=Customer.Kind.COMPANY,
        name="Mairie de Reims",
        siret=sandbox.structure("none")["siret"],
        chorus_enabled=True,
    )


def provisional(seller, customer, label="Prestation de conseil") -> Invoice:
    return services.invoice_create(
        company=seller,
        customer=customer,
        lines=[services.LineInput(label=label, quantity=Decimal("2"), unit_price=Decimal("450"))],
    )


def open_dialog(page, invoice):
    page.goto(f"/factures/{invoice.pk}/")
    page.get_by_role("link", name=SEND).click()
    page.wait_for_url(f"**/chorus/factures/{invoice.pk}/envoyer/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Saisie des informations nécessaires pour l'envoi à Chorus Pro"
    )


def send_button(page):
    return page.get_by_role("button", name="Envoyer vers Chorus Pro")


def count_navigations(page) -> list[str]:
    navigations = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )
    return navigations


# --- the happy path ----------------------------------------------------------------------------


def test_create_a_customer_and_an_invoice_send_it_and_see_the_chorus_status(
    page, chorus_settings, worker, sandbox, seller, accountant
):
    siret = sandbox.structure("none")["siret"]
    login(page)

    page.goto("/clients/nouveau/")
    page.get_by_label("Code client").fill("MAIRIE51")
    page.get_by_label("Type de client").select_option("company")
    page.get_by_label("Nom ou raison sociale").fill("Mairie de Reims")
    page.locator("#id_address_line1").fill("9 place de l'Hôtel de Ville")
    page.locator("#id_postcode").fill("51100")
    page.locator("#id_city").fill("Reims")
    page.get_by_label("Envoi vers Chorus Pro").check()
    page.get_by_label("SIRET").fill(siret)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Client « Mairie de Reims » créé.")).to_be_visible()
    customer = Customer.objects.get(code="MAIRIE51")

    page.goto("/factures/nouvelle/")
    page.locator("#id_customer").select_option(str(customer.pk))
    for n, (label, quantity, price) in enumerate(
        [("Conseil", "2", "450"), ("Formation", "1,5", "300"), ("Déplacement", "1", "85,50")],
        start=1,
    ):
        page.get_by_label(f"Libellé court, ligne {n}").fill(label)
        page.get_by_label(f"Quantité, ligne {n}").fill(quantity)
        page.get_by_label(f"Pu HT, ligne {n}").fill(price)
    expect(page.locator('aside.totals [data-total="ht"]')).to_have_text(re.compile(r"1\s?435,50"))
    page.get_by_role("button", name="Enregistrer").first.click()
    expect(page.get_by_text("Facture provisoire enregistrée.")).to_be_visible()
    invoice = Invoice.objects.get(customer=customer)
    assert invoice.lines.count() == 3

    # The dialog: SIRET pre-filled and checked, the warning about the final document.
    page.get_by_role("link", name=SEND).click()
    expect(page.get_by_label("SIRET")).to_have_value(siret)
    expect(page.locator(".final-warning")).to_contain_text("Le document sera définitif")
    expect(page.locator("#siret-check")).to_contain_text("ni référence acheteur")
    send_button(page).click()
    page.wait_for_url("**/chorus/envois/*/")

    # The report updates itself: no navigation between the first render and the outcome.
    navigations = count_navigations(page)
    expect(page.locator("#outcome")).to_contain_text(SUCCESS, timeout=WORKER_TIMEOUT)
    assert navigations == []
    expect(page.locator("#submission-status")).to_have_text("Déposée sur Chorus Pro")
    expect(page.locator("#flow-number")).not_to_have_text("–")
    expect(page.locator("#finish")).to_be_focused()

    invoice.refresh_from_db()
    assert invoice.is_final and invoice.number
    page.get_by_role("link", name="Terminer").click()
    page.wait_for_url(f"**/factures/{invoice.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)
    expect(page.locator(".state-banner")).to_contain_text("Définitive")

    # The status poll (the beat task) runs here; the invoice page shows what it brought back.
    assert sync_statuses() == 1
    submission = Submission.objects.get(invoice=invoice)
    assert submission.chorus_status
    page.reload()
    submissions = page.locator("section.chorus-submissions")
    expect(submissions).to_contain_text(submission.flow_number)
    expect(submissions.locator("tbody tr").first).to_contain_text(submission.chorus_status)
    expect(submissions.locator("table.status-history")).to_contain_text(submission.chorus_status)


# --- the refusals, shown in place ----------------------------------------------------------------


def test_module_off_the_action_is_not_offered_and_the_page_says_how_to_turn_it_on(
    page, console_errors, chorus_settings, seller, accountant, chorus_customer
):
    dossier = seller.dossier
    dossier.facturx_module_enabled = False
    dossier.save(update_fields=["facturx_module_enabled"])
    invoice = provisional(seller, chorus_customer)
    login(page)

    page.goto(f"/factures/{invoice.pk}/")
    expect(page.get_by_text("Module « Émission Factur-X » non activé")).to_be_visible()
    expect(page.get_by_role("link", name=SEND)).to_have_count(0)
    expect(page.get_by_role("link", name="Activer le module")).to_have_attribute(
        "href", "/parametres/"
    )

    # Reached by its URL all the same, the dialog refuses in place.
    page.goto(f"/chorus/factures/{invoice.pk}/envoyer/")
    send_button(page).click()
    expect(page.locator("#send-refusal")).to_contain_text(
        "Le module « Émission Factur-X » n'est pas activé pour ce dossier"
    )
    assert not Submission.objects.exists()


def test_missing_credentials_are_refused_in_the_dialog(
    page, console_errors, chorus_settings, seller, accountant, chorus_customer
):
    seller.chorus_login = ""
    seller.chorus_password = ""
    seller.save()
    invoice = provisional(seller, chorus_customer)
    login(page)

    open_dialog(page, invoice)
    send_button(page).click()
    expect(page.locator("#send-refusal")).to_contain_text(
        f"Le compte technique Chorus Pro de l'entreprise {seller.name} n'est pas renseigné"
    )
    expect(page.locator("#send-refusal")).to_contain_text("Paramètres > Entreprise")
    assert not Submission.objects.exists()


def test_a_final_invoice_is_refused_in_the_dialog(
    page, console_errors, chorus_settings, seller, accountant, chorus_customer
):
    invoice = services.invoice_finalise(invoice_id=provisional(seller, chorus_customer).pk)
    login(page)

    page.goto(f"/factures/{invoice.pk}/")
    expect(page.get_by_role("link", name=SEND)).to_have_count(0)
    page.goto(f"/chorus/factures/{invoice.pk}/envoyer/")
    expect(page.locator("#send-refusal")).to_contain_text(FINAL)  # at once, before any click
    expect(send_button(page)).to_be_disabled()
    assert not Submission.objects.exists()


def test_several_invoices_selected_in_the_list_are_refused(
    page, console_errors, chorus_settings, seller, accountant, chorus_customer
):
    first = provisional(seller, chorus_customer, "Première")
    second = provisional(seller, chorus_customer, "Seconde")
    login(page)

    page.goto("/factures/")
    page.locator(f"#sel-{first.pk}").check()
    page.locator(f"#sel-{second.pk}").check()
    page.get_by_role("button", name="Envoyer vers Chorus Pro").click()
    expect(page.locator("#send-refusal")).to_contain_text(SEVERAL)
    expect(page.locator(".refused-invoices li")).to_have_count(2)
    assert not Submission.objects.exists()


def test_an_exhausted_plan_is_refused_in_the_dialog(
    page, console_errors, chorus_settings, seller, accountant, chorus_customer
):
    dossier = seller.dossier
    dossier.chorus_yearly_allowance = 0
    dossier.save(update_fields=["chorus_yearly_allowance"])
    invoice = provisional(seller, chorus_customer)
    login(page)

    open_dialog(page, invoice)
    expect(page.locator("#send-refusal")).to_contain_text(  # at once, before any click
        "L'envoi vers Chorus Pro vous autorise à 0 Factures envoyées, vous avez atteint ce volume"
    )
    expect(page.locator("#plan-warning")).to_have_count(0)
    expect(send_button(page)).to_be_disabled()
    assert not Submission.objects.exists()


def test_a_structure_requiring_a_service_code_is_announced_before_sending(
    page, chorus_settings, sandbox, seller, accountant, chorus_customer
):
    chorus_customer.siret = sandbox.structure("service")["siret"]
    chorus_customer.save()
    invoice = provisional(seller, chorus_customer)
    login(page)

    open_dialog(page, invoice)
    check = page.locator("#siret-check")
    expect(check).to_contain_text("exige la référence acheteur (service exécutant)")
    expect(check).to_have_class("siret-check is-warn")

    # Typing another SIRET checks again; the "Vérifier le SIRET" button does it on demand.
    siret = page.get_by_label("SIRET")
    siret.fill(sandbox.structure("none")["siret"])
    siret.press("Tab")
    expect(check).to_contain_text("ni référence acheteur")
    expect(check).to_have_class("siret-check is-ok")
    siret.fill(sandbox.structure("service")["siret"])
    page.get_by_role("button", name="Vérifier le SIRET").click()
    expect(check).to_contain_text("exige la référence acheteur (service exécutant)")
    assert not Submission.objects.exists()


# --- a platform failure, then a successful retry -------------------------------------------------


def test_a_platform_failure_then_a_successful_retry(
    page, chorus_settings, worker, sandbox, seller, accountant, chorus_customer
):
    invoice = provisional(seller, chorus_customer)
    login(page)
    sandbox.platform_state("unavailable")

    open_dialog(page, invoice)
    send_button(page).click()
    page.wait_for_url("**/chorus/envois/*/")
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text(FAILURE, timeout=WORKER_TIMEOUT)
    submission = Submission.objects.get(invoice=invoice)
    assert submission.status == Submission.Status.FAILED and submission.error_message
    expect(outcome.locator(".error-message")).to_have_text(submission.error_message)
    retry = page.get_by_role("button", name="Réessayer")
    expect(retry).to_be_focused()

    sandbox.platform_state("up")
    retry.click()
    page.wait_for_url(f"**/chorus/envois/{submission.pk}/")
    expect(outcome).to_contain_text(SUCCESS, timeout=WORKER_TIMEOUT)
    expect(page.get_by_role("button", name="Réessayer")).to_have_count(0)

    invoice.refresh_from_db()
    assert invoice.is_final and invoice.number
    assert sandbox.deposit_count(invoice.number) == 1
    submission.refresh_from_db()
    assert submission.status == Submission.Status.DEPOSITED


# --- the company settings page: "Tester la connexion" --------------------------------------------


def test_the_connection_test_button_reports_in_plain_french(
    page, chorus_settings, sandbox, seller, accountant
):
    login(page)
    page.goto(f"/parametres/entreprises/{seller.pk}/")
    page.get_by_role("button", name="Tester la connexion").click()
    page.wait_for_url(f"**/parametres/entreprises/{seller.pk}/")
    expect(page.locator(".messages")).to_contain_text(
        "Connexion à Chorus Pro réussie : le compte technique est rattaché à"
    )

    account = sandbox.account("ldap_auth_failure")
    seller.chorus_login = account["login"]
    seller.chorus_password = account["password"]
    seller.save()
    page.get_by_role("button", name="Tester la connexion").click()
    expect(page.locator(".messages")).to_contain_text("La connexion à Chorus Pro a échoué :")


def test_chorus_pages_have_labels_answer_the_keyboard_and_are_photographed(
    page, chorus_settings, worker, seller, accountant, chorus_customer
):
    from tests.ui.test_screenshots import _check_and_shoot

    invoice = provisional(seller, chorus_customer)
    login(page)
    open_dialog(page, invoice)
    expect(page.locator("#siret-check")).to_contain_text("ni référence acheteur")
    _check_and_shoot(page, "14-envoi-chorus-pro")
    send_button(page).focus()
    page.keyboard.press("Enter")  # the dialog is sent with the keyboard alone
    page.wait_for_url("**/chorus/envois/*/")
    expect(page.locator("#outcome")).to_contain_text(SUCCESS, timeout=WORKER_TIMEOUT)
    number = Invoice.objects.get(pk=invoice.pk).number
    expect(page.locator("#invoice-label")).to_have_text(f"Facture n° {number}")
    _check_and_shoot(page, "15-rapport-envoi")
    page.goto("/chorus/envois/")
    expect(page.get_by_text(Invoice.objects.get(pk=invoice.pk).number)).to_be_visible()
    _check_and_shoot(page, "16-envois-chorus-pro")
