"""Without a choice in the session, the workspace lands on the company in use."""

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from invoicing import services
from invoicing.services import LineInput
from invoicing.workspace import SESSION_COMPANY, resolve_workspace
from tests.factories import CompanyFactory, CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _request(user, company_id=None):
    request = RequestFactory().get("/")
    request.user, request.session = user, SessionStore()
    if company_id:
        request.session[SESSION_COMPANY] = company_id
    return request


def test_the_company_of_the_latest_invoice_wins_over_the_first_by_name():
    membership = MembershipFactory()
    dossier = membership.dossier
    first_by_name = CompanyFactory(dossier=dossier, name="Atelier sans gestionnaire SAS")
    in_use = CompanyFactory(dossier=dossier, name="Chorale Démo SARL")
    customer = CustomerFactory(dossier=dossier)
    services.invoice_create(
        company=in_use,
        customer=customer,
        lines=[LineInput(label="Conseil", quantity=Decimal("1"), unit_price=Decimal("10"))],
    )

    assert resolve_workspace(_request(membership.user)).company == in_use
    chosen = resolve_workspace(_request(membership.user, first_by_name.pk))
    assert chosen.company == first_by_name  # the user's own choice stays


def test_a_dossier_without_invoices_lands_on_the_first_company_by_name():
    membership = MembershipFactory()
    second = CompanyFactory(dossier=membership.dossier, name="Zéphyr SAS")
    first = CompanyFactory(dossier=membership.dossier, name="Alpha SARL")
    assert resolve_workspace(_request(membership.user)).company == first != second
