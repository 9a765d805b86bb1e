"""Login throttling: after a few wrong passwords the account, and the address, are locked
out with a French page, on the app's login and the admin's alike; an admin can unlock."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Bon-MotDePasse-2026"


@pytest.fixture
def user():
    person = UserFactory(username="camille", is_staff=True, is_superuser=True)
    person.set_password(PASSWORD)
    person.save()
    return person


def _login(client, url, username, password, address="192.0.2.10"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", ["/connexion/", "/admin/login/"])
def test_the_right_password_after_too_many_wrong_ones_is_refused(client, user, url, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, url, "camille", "faux")
        assert response.status_code == 200  # the form again, with its error
    assert _login(client, url, "camille", "faux").status_code == 429  # the last one allowed

    response = _login(client, url, "camille", PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert "Connexion bloquée" in page and "Réessayez dans 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_the_account_is_locked_from_another_address_too(client, user, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "/connexion/", "camille", "faux", address=f"192.0.2.{n + 1}")
    response = _login(client, "/connexion/", "camille", PASSWORD, address="198.51.100.7")
    assert response.status_code == 429


def test_an_address_trying_many_accounts_is_locked(client, user, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "/connexion/", f"inconnu{n}", "faux", address="203.0.113.9")
    response = _login(client, "/connexion/", "camille", PASSWORD, address="203.0.113.9")
    assert response.status_code == 429
    other = _login(client, "/connexion/", "camille", PASSWORD, address="198.51.100.8")
    assert other.status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "/connexion/", "camille", "faux")
    assert _login(client, "/connexion/", "camille", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "/connexion/", "camille", "faux")
    assert _login(client, "/connexion/", "camille", PASSWORD).status_code == 302


def test_an_admin_can_unlock_an_account(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "/connexion/", "camille", "faux")
    assert _login(client, "/connexion/", "camille", PASSWORD).status_code == 429

    call_command("axes_reset_username", "camille", stdout=open("/dev/null", "w"))

    assert _login(client, "/connexion/", "camille", PASSWORD).status_code == 302


def test_the_admin_lists_the_attempts_to_unlock_them(admin_client, user, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "/connexion/", "camille", "faux")
    page = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert page.status_code == 200 and "camille" in page.content.decode()
