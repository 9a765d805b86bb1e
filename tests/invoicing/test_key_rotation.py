"""Changing CHORALE_ENCRYPTION_KEY: previous keys decrypt, a command re-encrypts, and a secret
no key decrypts shows as « à ressaisir » instead of breaking the page."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from invoicing.models import Company
from tests.factories import CompanyFactory, MembershipFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "ancienne-clé-de-chiffrement", "nouvelle-clé-de-chiffrement"


def _stored_token(company) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT chorus_password FROM invoicing_company WHERE id = %s", [company.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def company(settings):
    settings.FIELD_ENCRYPTION_KEY = OLD
    return CompanyFactory(chorus_password="MotDePasse-1", piste_client_secret="")


def test_a_previous_key_still_decrypts(company, settings):
    settings.FIELD_ENCRYPTION_KEY = NEW
    settings.FIELD_ENCRYPTION_PREVIOUS_KEYS = [OLD]
    assert Company.objects.get(pk=company.pk).chorus_password == "MotDePasse-1"


def test_the_command_reencrypts_with_the_new_key(company, settings):
    settings.FIELD_ENCRYPTION_KEY = NEW
    settings.FIELD_ENCRYPTION_PREVIOUS_KEYS = [OLD]
    before = _stored_token(company)

    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))

    assert _stored_token(company) != before
    settings.FIELD_ENCRYPTION_PREVIOUS_KEYS = []  # the old key can now go
    assert Company.objects.get(pk=company.pk).chorus_password == "MotDePasse-1"


def test_a_dry_run_writes_nothing(company, settings):
    settings.FIELD_ENCRYPTION_KEY = NEW
    settings.FIELD_ENCRYPTION_PREVIOUS_KEYS = [OLD]
    before = _stored_token(company)
    call_command("rotate_encryption_key", "--dry-run", stdout=open("/dev/null", "w"))
    assert _stored_token(company) == before


def test_an_undecryptable_secret_is_to_reenter_and_kept_as_stored(company, settings, caplog):
    settings.FIELD_ENCRYPTION_KEY = NEW  # the old key is lost
    before = _stored_token(company)

    loaded = Company.objects.get(pk=company.pk)

    assert loaded.chorus_password == "" and loaded.chorus_password.unreadable
    assert loaded.secrets_to_reenter == ["mot de passe du compte technique"]
    assert not loaded.has_chorus_credentials
    assert "cannot be decrypted" in caplog.text and before not in caplog.text
    loaded.name = "Renommée SAS"
    loaded.save()  # saving the row does not erase the stored token
    assert _stored_token(company) == before
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))
    assert _stored_token(company) == before


def test_pages_that_load_the_company_answer_and_say_a_ressaisir(company, settings, client):
    membership = MembershipFactory(dossier=company.dossier)
    client.force_login(membership.user)
    settings.FIELD_ENCRYPTION_KEY = NEW

    for url in (
        reverse("home"),
        reverse("settings_companies"),
        reverse("settings_company_edit", args=[company.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "à ressaisir" in client.get(reverse("settings_companies")).content.decode()
    assert (
        "à ressaisir"
        in client.get(reverse("settings_company_edit", args=[company.pk])).content.decode()
    )


def test_typing_the_password_again_fixes_it(company, settings):
    settings.FIELD_ENCRYPTION_KEY = NEW
    loaded = Company.objects.get(pk=company.pk)
    loaded.chorus_password = "Nouveau-1"
    loaded.save()
    again = Company.objects.get(pk=company.pk)
    assert again.chorus_password == "Nouveau-1" and not again.secrets_to_reenter
