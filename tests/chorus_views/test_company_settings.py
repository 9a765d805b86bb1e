"""The company settings page: "Tester la connexion" against the sandbox, and the technical
secrets kept out of Django's error reports."""

import html
import logging

import pytest
from django.contrib.messages import get_messages
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from chorus.errors import ChorusError
from chorus.services.connection import client_for
from invoicing.forms import CompanySettingsForm
from invoicing.models import Membership
from tests.factories import CompanyFactory, DossierFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Tr0ub4dor-Technique-Chorus"
CLIENT_SECRET = "piste-client-secret-5f2c9a"
NEW_PASSWORD = "Nouveau-Mot-De-Passe-2026"
POSTED_SECRET = "secret-client-poste-77"


def admin_of(dossier, role=Membership.Role.ADMIN):
    client = Client(raise_request_exception=False)
    client.force_login(MembershipFactory(dossier=dossier, role=role).user)
    return client


def company_test_url(company) -> str:
    return reverse("chorus:company_test", args=[company.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- "Tester la connexion" -----------------------------------------------------------------------


def test_the_settings_page_offers_the_connection_test(chorus_settings, seller):
    web = admin_of(seller.dossier)
    body = web.get(reverse("settings_company_edit", args=[seller.pk])).content.decode()
    assert 'form="chorus-test-form"' in body
    assert f'action="{company_test_url(seller)}"' in body
    assert "Tester la connexion" in body


def test_a_working_account_lists_its_attached_structures(chorus_settings, seller):
    expected = len(client_for(seller).check_connection())
    assert expected >= 1
    web = admin_of(seller.dossier)

    response = web.post(company_test_url(seller), follow=True)

    assert response.redirect_chain == [(reverse("settings_company_edit", args=[seller.pk]), 302)]
    structures = "structure." if expected == 1 else "structures."
    assert messages_of(response) == [
        "Connexion à Chorus Pro réussie : le compte technique est rattaché à "
        f"{expected} {structures}"
    ]
    assert "Connexion à Chorus Pro réussie" in response.content.decode()


def test_a_refused_account_says_why_in_french(chorus_settings, sandbox, seller):
    account = sandbox.account("ldap_auth_failure")
    seller.chorus_login = account["login"]
    seller.chorus_password = account["password"]
    seller.save()
    with pytest.raises(ChorusError) as raised:
        client_for(seller).check_connection()
    web = admin_of(seller.dossier)

    response = web.post(company_test_url(seller))

    assert response.status_code == 302
    [message] = messages_of(response)
    assert message == f"La connexion à Chorus Pro a échoué : {raised.value.message_fr}"
    assert raised.value.message_fr
    assert account["password"] not in message


def test_missing_credentials_say_what_to_fill_in(chorus_settings, sandbox, seller):
    seller.chorus_password = ""
    seller.save()
    before = sandbox.stats()
    web = admin_of(seller.dossier)

    response = web.post(company_test_url(seller))

    assert response.status_code == 302
    [message] = messages_of(response)
    assert f"Le compte technique Chorus Pro de l'entreprise {seller.name}" in message
    assert "saisissez son login et son mot de passe" in message
    assert sandbox.stats() == before  # nothing was sent to Chorus Pro


def test_only_administrators_of_the_dossier_may_test(chorus_settings, seller):
    member = admin_of(seller.dossier, role=Membership.Role.MEMBER)
    assert member.post(company_test_url(seller)).status_code == 403

    other = CompanyFactory(dossier=DossierFactory())
    assert admin_of(seller.dossier).post(company_test_url(other)).status_code == 404
    assert admin_of(seller.dossier).get(company_test_url(seller)).status_code == 405


# --- secrets out of error reports ----------------------------------------------------------------


@pytest.fixture
def secret_company(dossier):
    return CompanyFactory(
        dossier=dossier,
        chorus_password=PASSWORD,
        piste_client_id="client-id",
        piste_client_secret=CLIENT_SECRET,
    )


def company_data(company, **overrides) -> dict:
    data = {
        k: ("" if v is None else v)
        for k, v in model_to_dict(company).items()
        if k not in {"id", "dossier", "chorus_password", "piste_client_id", "piste_client_secret"}
    }
    data |= {"share_capital": "10000,00", "late_penalty_rate": "12,15"}
    data |= {"chorus_password": NEW_PASSWORD, "piste_client_secret": POSTED_SECRET}
    return data | overrides


@pytest.mark.parametrize("view", ["settings_company_edit", "settings_company_create"])
def test_a_server_error_while_saving_a_company_reveals_no_secret(
    view, secret_company, caplog, monkeypatch
):
    def explode(self, commit=True):
        raise RuntimeError("panne pendant l'enregistrement")

    monkeypatch.setattr(CompanySettingsForm, "save", explode)
    web = admin_of(secret_company.dossier)
    caplog.set_level(logging.DEBUG)
    args = [secret_company.pk] if view == "settings_company_edit" else []

    response = web.post(reverse(view, args=args), company_data(secret_company))

    assert response.status_code == 500
    assert NEW_PASSWORD not in response.content.decode()
    record = next(r for r in caplog.records if r.name == "django.request" and r.exc_info)
    assert record.request.sensitive_post_parameters == ("chorus_password", "piste_client_secret")
    # What the error e-mail to ADMINS (AdminEmailHandler) would contain.
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    text, page = reporter.get_traceback_text(), reporter.get_traceback_html()
    for report in map(html.unescape, [text, page, caplog.text]):
        assert "panne pendant l'enregistrement" in report
        for secret in (NEW_PASSWORD, POSTED_SECRET, PASSWORD, CLIENT_SECRET):
            assert secret not in report
    assert "chorus_password" in text and "********************" in text
