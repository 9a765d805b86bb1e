"""Who may open what: login everywhere, settings for dossier administrators only."""

import pytest
from django.urls import reverse

from invoicing.workspace import SESSION_COMPANY, SESSION_DOSSIER
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "home",
    "customer_list",
    "customer_create",
    "article_list",
    "article_create",
    "invoice_list",
    "invoice_create",
    "settings_module",
    "settings_companies",
    "settings_company_create",
    "settings_plan",
]
SETTINGS = ["settings_module", "settings_companies", "settings_company_create", "settings_plan"]


def test_every_page_asks_an_anonymous_visitor_to_log_in(client, tenant):
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith("/connexion/"), name


def test_the_login_page_is_in_french(client, db):
    body = client.get(reverse("login")).content.decode()
    assert "Se connecter" in body and 'for="id_username"' in body and 'for="id_password"' in body


def test_an_administrator_opens_every_page(logged, tenant):
    for name in PAGES:
        assert logged.get(reverse(name)).status_code == 200, name
    assert logged.get(reverse("settings_company_edit", args=[tenant.company.pk])).status_code == 200


def test_members_cannot_reach_the_settings(client, member_tenant):
    client.force_login(member_tenant.user)
    for name in SETTINGS:
        assert client.get(reverse(name)).status_code == 403, name
        assert client.post(reverse(name), {}).status_code == 403, name
    url = reverse("settings_company_edit", args=[member_tenant.company.pk])
    assert client.get(url).status_code == 403
    assert "Paramètres" not in client.get(reverse("home")).content.decode()


def test_a_user_without_dossier_is_told_so(client, db):
    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "Aucun dossier" in response.content.decode()


def test_the_switcher_changes_dossier_and_company(client, tenant, other):
    MembershipFactory(user=tenant.user, dossier=other.dossier)
    client.force_login(tenant.user)
    second = CompanyFactory(dossier=other.dossier, name="Zeta SARL")
    response = client.post(
        reverse("workspace_switch"),
        {"dossier": other.dossier.pk, "company": second.pk, "next": "/clients/"},
    )
    assert response.status_code == 302 and response["Location"] == "/clients/"
    # Changing dossier starts from its first company (the company list shown was the old one).
    assert client.session[SESSION_DOSSIER] == other.dossier.pk
    response = client.post(
        reverse("workspace_switch"), {"dossier": other.dossier.pk, "company": second.pk}
    )
    assert client.session[SESSION_COMPANY] == second.pk
    home = client.get(reverse("home"))
    assert home.context["request"].workspace.dossier == other.dossier
    assert home.context["request"].workspace.company == second


def test_the_switcher_refuses_a_company_of_another_dossier(client, tenant, other):
    client.force_login(tenant.user)
    client.post(
        reverse("workspace_switch"), {"dossier": tenant.dossier.pk, "company": other.company.pk}
    )
    assert SESSION_COMPANY not in client.session
    assert client.get(reverse("home")).context["request"].workspace.company == tenant.company


def test_the_switcher_does_not_redirect_off_site(logged, tenant):
    response = logged.post(
        reverse("workspace_switch"), {"dossier": tenant.dossier.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")
