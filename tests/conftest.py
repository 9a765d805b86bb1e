import datetime
from decimal import Decimal

import pytest

from invoicing import services
from invoicing.services import LineInput
from tests.factories import CompanyFactory, CustomerFactory, DossierFactory, MembershipFactory

pytest_plugins = ["tests.integration"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached Chorus Pro lookups never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def dossier(db):
    return DossierFactory()


@pytest.fixture
def company(dossier):
    return CompanyFactory(dossier=dossier)


@pytest.fixture
def customer(dossier):
    return CustomerFactory(dossier=dossier)


@pytest.fixture
def admin_member(dossier):
    return MembershipFactory(dossier=dossier)


@pytest.fixture
def make_invoice(company, customer):
    """Build a provisional invoice: make_invoice(lines=[LineInput(...)], **fields)."""

    def make(lines=None, **fields):
        lines = lines or [
            LineInput(
                label="Prestation de conseil", quantity=Decimal("2"), unit_price=Decimal("450")
            )
        ]
        fields.setdefault("company", company)
        fields.setdefault("customer", customer)
        return services.invoice_create(lines=lines, **fields)

    return make


@pytest.fixture
def final_invoice(make_invoice):
    invoice = make_invoice()
    return services.invoice_finalise(invoice_id=invoice.pk, issue_date=datetime.date(2026, 3, 2))
