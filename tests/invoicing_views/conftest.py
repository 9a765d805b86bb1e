from decimal import Decimal

import pytest

from invoicing import services
from invoicing.models import Membership
from invoicing.services import LineInput
from tests.factories import (
    ArticleFactory,
    CompanyFactory,
    CustomerFactory,
    DossierFactory,
    MembershipFactory,
)


class Tenant:
    """One dossier with a company, a customer, an article and two invoices (one final)."""

    def __init__(self, *, role=Membership.Role.ADMIN, name="Dossier"):
        self.dossier = DossierFactory(name=name)
        self.membership = MembershipFactory(dossier=self.dossier, role=role)
        self.user = self.membership.user
        self.company = CompanyFactory(dossier=self.dossier)
        self.customer = CustomerFactory(dossier=self.dossier)
        self.article = ArticleFactory(
            dossier=self.dossier, code="VIN75", label="Vin 75 cl", unit_price=Decimal("10")
        )
        self.provisional = services.invoice_create(
            company=self.company,
            customer=self.customer,
            lines=[LineInput(label="Conseil", quantity=Decimal("2"), unit_price=Decimal("450"))],
        )
        self.final = services.invoice_finalise(
            invoice_id=services.invoice_create(
                company=self.company,
                customer=self.customer,
                lines=[services.line_from_article(self.article, Decimal("12"))],
            ).pk
        )


@pytest.fixture
def tenant(db):
    return Tenant(name="Vignoble A")


@pytest.fixture
def other(db):
    return Tenant(name="Vignoble B")


@pytest.fixture
def member_tenant(db):
    return Tenant(role=Membership.Role.MEMBER, name="Négoce C")


@pytest.fixture
def logged(client, tenant):
    client.force_login(tenant.user)
    return client
