"""The technical password and the PISTE client secret: encrypted at rest, never shown back,
never in logs or error reports."""

import html
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.debug import ExceptionReporter

from invoicing.admin import CompanyAdmin
from invoicing.crypto import Secret, decrypt
from invoicing.models import Company
from tests.factories import CompanyFactory

PASSWORD = "Tr0ub4dor-Technique-Chorus"
CLIENT_SECRET = "piste-client-secret-5f2c9a"
NEW_PASSWORD = "Nouveau-Mot-De-Passe-2026"


@pytest.fixture
def secret_company(dossier):
    return CompanyFactory(
        dossier=dossier,
        chorus_password=PASSWORD,
        piste_client_id="client-id",
        piste_client_secret=CLIENT_SECRET,
    )


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.fr", "motdepasse-42")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def raw_columns(company: Company) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chorus_password, piste_client_secret FROM invoicing_company WHERE id = %s",
            [company.pk],
        )
        return cursor.fetchone()


def change_url(company: Company) -> str:
    return reverse("admin:invoicing_company_change", args=[company.pk])


def form_data(company: Company, **overrides) -> dict:
    data = {
        name: ("" if value is None else value) for name, value in model_to_dict(company).items()
    }
    data |= {"chorus_password": "", "piste_client_secret": "", "_save": "Enregistrer"}
    return data | overrides


def test_secrets_are_encrypted_in_the_database(secret_company):
    password_column, secret_column = raw_columns(secret_company)

    assert PASSWORD not in password_column
    assert CLIENT_SECRET not in secret_column
    assert decrypt(password_column) == PASSWORD
    assert decrypt(secret_column) == CLIENT_SECRET


def test_the_same_secret_encrypts_differently_each_time(secret_company, dossier):
    other = CompanyFactory(dossier=dossier, chorus_password=PASSWORD)

    assert raw_columns(secret_company)[0] != raw_columns(other)[0]


def test_secrets_round_trip_through_the_orm(secret_company):
    stored = Company.objects.get(pk=secret_company.pk)

    assert stored.chorus_password == PASSWORD
    assert stored.piste_client_secret == CLIENT_SECRET
    assert isinstance(stored.chorus_password, Secret)
    assert stored.has_chorus_credentials


def test_an_empty_secret_stays_empty(dossier):
    company = CompanyFactory(dossier=dossier, chorus_password="", piste_client_secret="")

    stored = Company.objects.get(pk=company.pk)

    assert raw_columns(company) == ("", "")
    assert stored.chorus_password == ""
    assert not stored.has_chorus_credentials


def test_the_repr_of_a_secret_hides_it(secret_company):
    stored = Company.objects.get(pk=secret_company.pk)

    assert PASSWORD not in repr(stored.chorus_password)
    assert CLIENT_SECRET not in repr(stored.piste_client_secret)
    assert PASSWORD not in repr(stored.__dict__)
    assert PASSWORD not in repr(stored)


def test_the_admin_change_form_never_renders_the_stored_secrets(admin_client, secret_company):
    response = admin_client.get(change_url(secret_company))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="chorus_password"' in page
    assert PASSWORD not in page
    assert CLIENT_SECRET not in page
    for token in raw_columns(secret_company):
        assert token not in page


def test_submitting_the_form_with_empty_secrets_keeps_the_stored_ones(admin_client, secret_company):
    response = admin_client.post(change_url(secret_company), form_data(secret_company, phone="01"))

    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Company.objects.get(pk=secret_company.pk)
    assert stored.phone == "01"
    assert stored.chorus_password == PASSWORD
    assert stored.piste_client_secret == CLIENT_SECRET


def test_a_new_secret_replaces_the_stored_one(admin_client, secret_company):
    response = admin_client.post(
        change_url(secret_company), form_data(secret_company, chorus_password=NEW_PASSWORD)
    )

    assert response.status_code == 302
    stored = Company.objects.get(pk=secret_company.pk)
    assert stored.chorus_password == NEW_PASSWORD
    assert stored.piste_client_secret == CLIENT_SECRET
    assert NEW_PASSWORD not in raw_columns(stored)[0]


def test_a_form_redisplayed_with_errors_does_not_echo_the_typed_secret(
    admin_client, secret_company
):
    response = admin_client.post(
        change_url(secret_company),
        form_data(secret_company, siret="00000000000001", chorus_password=NEW_PASSWORD),
    )

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "n'est pas un SIRET valide" in page
    assert NEW_PASSWORD not in page
    assert PASSWORD not in page
    assert Company.objects.get(pk=secret_company.pk).chorus_password == PASSWORD


def test_saving_logs_no_secret_even_at_debug_level(admin_client, secret_company, caplog):
    caplog.set_level(logging.DEBUG)

    with CaptureQueriesContext(connection) as queries:
        admin_client.post(
            change_url(secret_company),
            form_data(secret_company, chorus_password=NEW_PASSWORD, piste_client_secret="s2"),
        )

    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert Company.objects.get(pk=secret_company.pk).chorus_password == NEW_PASSWORD
    assert NEW_PASSWORD not in sql
    assert PASSWORD not in sql
    assert NEW_PASSWORD not in caplog.text
    assert PASSWORD not in caplog.text


def test_the_admin_history_does_not_record_secrets(admin_client, secret_company):
    from django.contrib.admin.models import LogEntry

    admin_client.post(
        change_url(secret_company), form_data(secret_company, chorus_password=NEW_PASSWORD)
    )

    entry = LogEntry.objects.get(object_id=str(secret_company.pk))
    assert NEW_PASSWORD not in entry.change_message
    assert NEW_PASSWORD not in entry.get_change_message()


def test_a_server_error_while_saving_reveals_no_secret(
    superuser, secret_company, caplog, monkeypatch
):
    def explode(self, request, obj, form, change):
        raise RuntimeError("panne pendant l'enregistrement")

    monkeypatch.setattr(CompanyAdmin, "save_model", explode)
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    caplog.set_level(logging.DEBUG)

    response = client.post(
        change_url(secret_company), form_data(secret_company, chorus_password=NEW_PASSWORD)
    )

    assert response.status_code == 500
    assert NEW_PASSWORD not in response.content.decode()
    record = next(r for r in caplog.records if r.name == "django.request" and r.exc_info)
    # What the error e-mail to ADMINS (AdminEmailHandler) would contain.
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    reports = [reporter.get_traceback_text(), reporter.get_traceback_html(), caplog.text]
    for report in map(html.unescape, reports):
        assert "panne pendant l'enregistrement" in report
        assert NEW_PASSWORD not in report
        assert PASSWORD not in report
        assert CLIENT_SECRET not in report
