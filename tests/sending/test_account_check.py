"""The technical account is checked before finalisation, once a minute per account."""

import pytest

from chorus.client import ChorusClient
from chorus.models import PlanYear, Submission
from chorus.services.sending import submission_request, submission_retry, submission_send
from invoicing.models import Invoice
from tests.integration import report_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def checks(chorus_settings, monkeypatch):
    """Counts the account checks put to Chorus Pro; the window is the production one."""
    chorus_settings.CHORUS_ACCOUNT_CHECK_SECONDS = 60
    calls = []
    check = ChorusClient.check_connection

    def counted(client):
        calls.append(client.settings.login)
        return check(client)

    monkeypatch.setattr(ChorusClient, "check_connection", counted)
    return calls


def send(make_invoice, seller, buyer) -> tuple[Submission, Invoice]:
    invoice = make_invoice(company=seller, customer=buyer)
    submission = submission_request(
        invoice_ids=[invoice.pk], dossier=invoice.dossier, siret=buyer.siret
    )
    submission_send(submission_id=submission.pk)
    submission.refresh_from_db()
    invoice.refresh_from_db()
    return submission, invoice


def test_a_batch_asks_chorus_pro_about_the_account_once(
    checks, make_invoice, seller, buyer, sandbox, no_enqueue
):
    for _ in range(3):
        submission, _invoice = send(make_invoice, seller, buyer)
        assert submission.status == Submission.Status.DEPOSITED, report_of(submission)
        assert ("authenticate", "ok", seller.chorus_login) in report_of(submission)

    assert checks == [seller.chorus_login]


def test_a_password_changed_in_the_settings_is_checked_at_once(
    checks, make_invoice, seller, buyer, sandbox, no_enqueue
):
    send(make_invoice, seller, buyer)
    seller.chorus_password = "not-the-password"
    seller.save()

    submission, invoice = send(make_invoice, seller, buyer)

    assert len(checks) == 2
    assert submission.status == Submission.Status.FAILED
    assert submission.error_code == "auth_ldap"
    assert not invoice.is_final


def test_an_account_broken_on_chorus_pro_within_the_minute_fails_at_the_deposit(
    checks, make_invoice, seller, buyer, sandbox, no_enqueue
):
    send(make_invoice, seller, buyer)
    sandbox.update_account(seller.chorus_login, password_expired=True)

    submission, invoice = send(make_invoice, seller, buyer)

    assert submission.status == Submission.Status.FAILED, report_of(submission)
    assert submission.error_code == "auth_ldap"
    assert "mot de passe" in submission.error_message
    assert invoice.is_final and submission.retryable  # same file, once the account works
    assert sandbox.deposit_count(invoice.number) == 0
    assert PlanYear.objects.get(dossier=seller.dossier).used == 1
    assert PlanYear.objects.get(dossier=seller.dossier).reserved == 0

    sandbox.update_account(seller.chorus_login, password_expired=False)
    submission_retry(submission=submission)
    submission_send(submission_id=submission.pk)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.DEPOSITED, report_of(submission)
    assert sandbox.deposit_count(invoice.number) == 1
    assert PlanYear.objects.get(dossier=seller.dossier).used == 2
