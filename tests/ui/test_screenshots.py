"""Screenshots of the main screens into docs/screenshots/ (also a smoke test of each page).

Run alone: pytest tests/ui/test_screenshots.py. Every page is also checked for console
errors, a <label> on every visible field, and a working keyboard focus.
"""

import datetime
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from invoicing import services
from invoicing.models import Customer
from tests.ui.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The committed screenshots are refreshed only on request (UPDATE_SCREENSHOTS=1); otherwise
# they go to a scratch folder, so a test run leaves the work tree clean.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "chorale-screenshots"
)

UNLABELLED_FIELDS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length))
  .map(el => el.name || el.id)
"""


def _check_and_shoot(page, name: str, *, full_page: bool = True) -> None:
    assert page.evaluate(UNLABELLED_FIELDS) == [], name
    if page.evaluate("document.activeElement === document.body"):
        page.keyboard.press("Tab")  # the skip link first: the page answers the keyboard
        assert page.evaluate("document.activeElement.className") == "skip-link", name
        page.evaluate("document.activeElement.blur()")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_screenshots_of_the_main_screens(page, demo):
    customers = [
        demo.customer(
            code="1FRNEG",
            name="Mairie de Reims",
            city="Reims",
            postcode="51100",
            default_service_code="SERV-COMPTA",
        ),
        demo.customer(code="LYCEE", name="Lycée Jean Moulin", city="Épernay", postcode="51200"),
        demo.customer(
            code="DUPONT",
            name="Martine Dupont",
            kind=Customer.Kind.INDIVIDUAL,
            chorus_enabled=False,
            siret="",
            email="martine.dupont@example.fr",  # BT-49 of a buyer without SIREN (BR-FR-12)
        ),
    ]
    wine, juice, transport = demo.articles
    for i, customer in enumerate(customers * 3):
        invoice = services.invoice_create(
            company=demo.company,
            customer=customer,
            lines=[
                services.line_from_article(wine, Decimal(6 + i)),
                services.line_from_article(juice, Decimal(12)),
            ],
        )
        if i % 2:
            services.invoice_finalise(
                invoice_id=invoice.pk, issue_date=datetime.date(2026, 3, 1 + i)
            )
    provisional = services.invoice_create(
        company=demo.company,
        customer=customers[0],
        lines=[
            services.line_from_article(wine, Decimal("12")),
            services.line_from_article(juice, Decimal("24")),
            services.line_from_article(transport, Decimal("1")),
        ],
    )
    final = services.invoice_finalise(
        invoice_id=services.invoice_create(
            company=demo.company,
            customer=customers[0],
            lines=[
                services.line_from_article(wine, Decimal("36")),
                services.line_from_article(transport, Decimal("1")),
            ],
        ).pk,
        issue_date=datetime.date(2026, 3, 20),
    )

    page.goto("/connexion/")
    _check_and_shoot(page, "01-connexion")
    login(page)
    _check_and_shoot(page, "02-accueil")

    page.goto("/factures/")
    _check_and_shoot(page, "03-factures")

    page.goto(f"/factures/{provisional.pk}/")
    _check_and_shoot(page, "04-saisie-facture-provisoire")
    page.locator("#invoice-header").click(button="right", position={"x": 400, "y": 20})
    page.get_by_role("menu").wait_for()
    page.screenshot(path=str(SHOTS / "05-menu-contextuel.png"))
    page.keyboard.press("Escape")

    page.goto("/factures/nouvelle/")
    page.locator("#id_customer").select_option(str(customers[1].pk))
    page.get_by_label("Article, ligne 1", exact=True).fill("AOPVEMA15B")
    page.get_by_label("Quantité, ligne 1").fill("6")
    page.get_by_label("Libellé court, ligne 2").fill("Ligne sans prix")
    page.get_by_label("Quantité, ligne 2").fill("2")
    page.get_by_role("button", name="Enregistrer").first.click()
    page.get_by_role("alert").wait_for()
    _check_and_shoot(page, "06-saisie-erreurs")

    page.goto(f"/factures/{final.pk}/")
    _check_and_shoot(page, "07-facture-definitive")

    page.goto("/clients/")
    _check_and_shoot(page, "08-clients")
    page.goto(f"/clients/{customers[0].pk}/")
    _check_and_shoot(page, "09-fiche-client")
    page.goto("/articles/")
    _check_and_shoot(page, "10-articles")
    page.goto("/parametres/")
    _check_and_shoot(page, "11-parametres-module")
    page.goto(f"/parametres/entreprises/{demo.company.pk}/")
    _check_and_shoot(page, "12-parametres-entreprise")
    page.goto("/parametres/volumetrie/")
    _check_and_shoot(page, "13-parametres-volumetrie")
