"""A user changes their own password outside the admin, under Django's validators."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

OLD = "motdepasse-demo-42"  # tests.factories.UserFactory
NEW = "Vendanges-tardives-2026"
URL = "/compte/mot-de-passe/"


def change(client, old=OLD, new=NEW, confirmation=None):
    return client.post(
        URL,
        {"old_password": old, "new_password1": new, "new_password2": confirmation or new},
    )


def test_the_page_has_a_french_url_and_french_labels(logged):
    assert reverse("password_change") == URL
    body = logged.get(URL).content.decode()
    assert "Changer de mot de passe" in body
    assert "Ancien mot de passe" in body and "Nouveau mot de passe" in body


def test_the_header_links_to_it(logged):
    body = logged.get(reverse("invoice_list")).content.decode()
    assert f'href="{URL}"' in body


def test_a_user_changes_their_password_then_logs_in_with_the_new_one(client, logged, tenant):
    response = change(logged)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    home = logged.get(response["Location"]).content.decode()
    assert "Votre mot de passe a été modifié." in home  # and the session is kept

    logged.post(reverse("logout"))
    username = tenant.user.get_username()
    refused = client.post(reverse("login"), {"username": username, "password": OLD})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    accepted = client.post(reverse("login"), {"username": username, "password": NEW})
    assert accepted.status_code == 302 and accepted.wsgi_request.user == tenant.user


@pytest.mark.parametrize(
    "weak, message",
    [
        ("court-1", "Ce mot de passe est trop court."),
        ("password123", "Ce mot de passe est trop courant."),
        ("8264019375", "Ce mot de passe est entièrement numérique."),
    ],
)
def test_a_weak_password_is_refused_with_djangos_message(logged, tenant, weak, message):
    response = change(logged, new=weak)
    assert response.status_code == 200
    assert message in response.content.decode()
    tenant.user.refresh_from_db()
    assert tenant.user.check_password(OLD)


def test_a_wrong_old_password_or_a_mismatch_is_refused(logged, tenant):
    body = change(logged, old="pas-le-bon").content.decode()
    assert "Votre ancien mot de passe est incorrect." in body
    body = change(logged, confirmation="Vendanges-precoces-2026").content.decode()
    assert "Les deux mots de passe ne correspondent pas." in body
    tenant.user.refresh_from_db()
    assert tenant.user.check_password(OLD)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_follows_the_language_cookie(logged, settings):
    logged.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = logged.get(URL).content.decode()
    assert "Change password" in body and "Old password" in body
    assert "Changer de mot de passe" not in body
