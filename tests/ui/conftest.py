"""Playwright on Debian's Chromium against pytest-django's live server.

Never `playwright install`: the browser is /usr/bin/chromium (apt package `chromium`).
Every page's console errors and uncaught exceptions are collected and must stay empty.
"""

import os
from decimal import Decimal

import pytest

from invoicing.models import Customer, Membership
from tests.factories import (
    ArticleFactory,
    CompanyFactory,
    CustomerFactory,
    DossierFactory,
    MembershipFactory,
    UserFactory,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "motdepasse-demo-42"

# Playwright's sync API runs an event loop; Django refuses ORM calls from such a thread
# unless told it is fine (the live server itself runs in another thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def insecure_cookies(settings):
    # The live server speaks plain HTTP; production cookies are Secure.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def console_errors():
    return []


@pytest.fixture
def page(browser, live_server, insecure_cookies, console_errors):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 900}, locale="fr-FR"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda msg: (
            console_errors.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: console_errors.append(f"pageerror: {exc}"))
    yield page
    context.close()
    assert console_errors == [], console_errors


class Demo:
    """A dossier with a company, a few articles and an accountant who is its administrator."""

    def __init__(self):
        self.dossier = DossierFactory(name="Vignobles de Champagne", chorus_yearly_allowance=100)
        self.user = UserFactory(username="compta", first_name="Claire", last_name="Martin")
        MembershipFactory(user=self.user, dossier=self.dossier, role=Membership.Role.ADMIN)
        self.company = CompanyFactory(dossier=self.dossier, name="Société Vigne")
        self.articles = [
            ArticleFactory(
                dossier=self.dossier,
                code="AOPVEMA15B",
                label="AOP vin effervescent 2015 75 cl",
                unit_price=Decimal("10.00"),
                vat_rate=Decimal("20.00"),
            ),
            ArticleFactory(
                dossier=self.dossier,
                code="JUS100",
                label="Jus de raisin 1 l",
                unit_price=Decimal("3.35"),
                vat_rate=Decimal("5.50"),
            ),
            ArticleFactory(
                dossier=self.dossier,
                code="TRANSPORT",
                label="Transport et livraison",
                unit="LS",
                unit_price=Decimal("45.00"),
                vat_rate=Decimal("20.00"),
            ),
        ]

    def customer(self, **fields):
        fields.setdefault("kind", Customer.Kind.COMPANY)
        return CustomerFactory(dossier=self.dossier, **fields)


@pytest.fixture
def demo(transactional_db):
    return Demo()


def login(page, username="compta", password=PASSWORD):
    page.goto("/connexion/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")
