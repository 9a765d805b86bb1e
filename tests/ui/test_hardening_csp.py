"""The Content-Security-Policy breaks no page: Chromium reports no violation on the main
screens (the site's and the admin's), while it does block what the policy forbids."""

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from chorus.models import Submission
from invoicing import services
from tests.ui.conftest import PASSWORD, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every violation the page reports, kept in the page (init scripts run before the page's).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.ok, path
    assert "default-src 'self'" in response.headers["content-security-policy"], path
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__cspViolations") == [], path


def test_the_main_pages_load_without_a_policy_violation(page, demo, console_errors):
    demo.user.is_staff = demo.user.is_superuser = True
    demo.user.save()
    customer = demo.customer(name="Mairie de Reims", default_service_code="SERV-01")
    wine, juice, _ = demo.articles
    provisional = services.invoice_create(
        company=demo.company,
        customer=customer,
        lines=[services.line_from_article(wine, Decimal("6"))],
    )
    final = services.invoice_finalise(
        invoice_id=services.invoice_create(
            company=demo.company,
            customer=customer,
            lines=[services.line_from_article(juice, Decimal("12"))],
        ).pk,
        issue_date=datetime.date(2026, 3, 2),
    )
    submission = Submission.objects.create(
        dossier=demo.dossier,
        company=demo.company,
        invoice=final,
        siret=customer.siret,
        status=Submission.Status.FAILED,
        error_message="Refus de test",
    )
    page.add_init_script(RECORD_VIOLATIONS)
    # The admin's pages name no icon, so Chromium asks for /favicon.ico, which we lack.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))

    visit(page, "/connexion/")
    login(page)
    for path in [
        "/",
        "/factures/",
        "/factures/?du=2026-01-01&au=2026-12-31",
        "/factures/nouvelle/",
        f"/factures/{provisional.pk}/",
        f"/factures/{final.pk}/",
        "/clients/",
        "/clients/nouveau/",
        f"/clients/{customer.pk}/",
        "/articles/",
        "/articles/nouveau/",
        "/parametres/",
        "/parametres/entreprises/",
        f"/parametres/entreprises/{demo.company.pk}/",
        "/parametres/volumetrie/",
        "/chorus/envois/",
        f"/chorus/envois/{submission.pk}/",
        f"/chorus/factures/{provisional.pk}/envoyer/",
        "/compte/mot-de-passe/",
        "/admin/",
        "/admin/invoicing/invoice/",
        f"/admin/invoicing/invoice/{provisional.pk}/change/",
        "/admin/auth/user/add/",
    ]:
        visit(page, path)

    # The scripts still work under the policy: the entry screen's live totals and article
    # lookup, the header's context menu.
    visit(page, "/factures/nouvelle/")
    page.get_by_label("Article, ligne 1", exact=True).fill("AOPVEMA15B")
    page.get_by_label("Quantité, ligne 1").fill("3")
    expect(page.locator('aside.totals [data-total="ht"]')).to_have_text("30,00\u00a0€")
    visit(page, f"/factures/{provisional.pk}/")
    page.locator("#invoice-header").click(button="right", position={"x": 300, "y": 10})
    expect(page.get_by_role("menu")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []

    # And the policy is in force: an image from another origin is refused, and reported.
    page.evaluate(
        """() => { const img = document.createElement("img");
                   img.src = "http://127.0.0.1:9/canary.png"; document.body.append(img); }"""
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__cspViolations")[0].startswith("img-src")
    console_errors[:] = [e for e in console_errors if "canary.png" not in e]


def test_a_user_changes_their_password_from_the_header(page, demo):
    login(page)
    page.get_by_role("link", name="Mot de passe").click()
    page.wait_for_url("**/compte/mot-de-passe/")
    page.locator("#id_old_password").fill(PASSWORD)
    page.locator("#id_new_password1").fill("court")
    page.locator("#id_new_password2").fill("court")
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_text("Ce mot de passe est trop court.")).to_be_visible()

    new = "Vendanges-tardives-2026"
    page.locator("#id_old_password").fill(PASSWORD)
    page.locator("#id_new_password1").fill(new)
    page.locator("#id_new_password2").fill(new)
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_text("Votre mot de passe a été modifié.")).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/connexion/")
    login(page, password=new)
    expect(page.locator(".who")).to_have_text("Claire Martin")
