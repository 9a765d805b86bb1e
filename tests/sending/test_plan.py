"""The yearly sending plan: reserved before finalisation, counted once, per Paris year."""

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from chorus.models import PlanYear, Submission
from chorus.services import plan
from chorus.services.sending import SendRefused, submission_request, submission_retry

pytestmark = pytest.mark.django_db

PARIS = datetime.timezone(datetime.timedelta(hours=1))


def at(moment: datetime.datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


@pytest.fixture
def submission(make_invoice, company):
    invoice = make_invoice()  # in a test transaction, nothing is enqueued (no commit)
    return submission_request(
        invoice_ids=[invoice.pk], dossier=company.dossier, siret=invoice.customer.siret
    )


def test_a_reservation_is_counted_once_however_often_it_is_committed(submission):
    plan.plan_reserve(submission_id=submission.pk)
    plan.plan_reserve(submission_id=submission.pk)
    submission.refresh_from_db()
    plan.plan_commit(submission)
    plan.plan_commit(submission)
    plan.plan_release(submission)

    row = PlanYear.objects.get(dossier=submission.dossier)
    assert (row.used, row.reserved) == (1, 0)
    assert submission.plan_state == Submission.PlanState.COUNTED


def test_a_released_reservation_gives_the_send_back(submission):
    plan.plan_reserve(submission_id=submission.pk)
    submission.refresh_from_db()
    plan.plan_release(submission)

    row = PlanYear.objects.get(dossier=submission.dossier)
    assert (row.used, row.reserved) == (0, 0)
    assert plan.plan_remaining(submission.dossier) == submission.dossier.chorus_yearly_allowance


def test_the_allowance_is_never_exceeded(submission, make_invoice):
    dossier = submission.dossier
    dossier.chorus_yearly_allowance = 1
    dossier.save()
    plan.plan_reserve(submission_id=submission.pk)
    other = Submission.objects.create(
        dossier=dossier, company=submission.company, invoice=make_invoice(), siret="x"
    )

    with pytest.raises(plan.PlanExhausted) as refused:
        plan.plan_reserve(submission_id=other.pk)

    assert "vous autorise à 1 Factures envoyées, vous avez atteint ce volume" in str(refused.value)


def test_the_warning_starts_when_ten_sends_are_left(dossier):
    dossier.chorus_yearly_allowance = 11
    assert plan.plan_warning(dossier) == ""
    dossier.chorus_yearly_allowance = 10
    assert "une fois ce volume atteint" in plan.plan_warning(dossier)
    assert "à 10 Factures" in plan.plan_warning(dossier)


def test_the_counter_restarts_on_the_first_of_january_in_paris(submission, make_invoice):
    dossier = submission.dossier
    dossier.chorus_yearly_allowance = 1
    dossier.save()
    # 31 December 2026, 23:30 UTC is already 1 January 2027 in Paris.
    with at(datetime.datetime(2026, 12, 31, 22, 30, tzinfo=datetime.UTC)):
        assert plan.current_year() == 2026
        plan.plan_reserve(submission_id=submission.pk)
        submission.refresh_from_db()
        plan.plan_commit(submission)
        assert plan.plan_remaining(dossier) == 0
    with at(datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.UTC)):
        assert timezone.localdate().year == 2027
        assert plan.plan_remaining(dossier) == 1  # nothing carried over, nothing owed
        assert plan.plan_usage(dossier) == (0, 1)
        assert plan.plan_usage(dossier, 2026) == (1, 1)


def test_a_retry_never_runs_beside_another_live_sending(submission, make_invoice):
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.FAILED, retryable=True
    )
    submission_request(
        invoice_ids=[submission.invoice_id], dossier=submission.dossier, siret=submission.siret
    )
    with pytest.raises(SendRefused, match="déjà en cours d'envoi"):
        submission_retry(submission=submission)


def test_sends_queued_but_not_yet_reserved_count_against_a_new_request(submission, make_invoice):
    dossier = submission.dossier
    dossier.chorus_yearly_allowance = 2
    dossier.save()
    second = make_invoice()
    submission_request(invoice_ids=[second.pk], dossier=dossier, siret=second.customer.siret)
    assert plan.plan_remaining(dossier) == 2  # nothing reserved yet: both still queued

    third = make_invoice()
    with pytest.raises(SendRefused) as refused:
        submission_request(invoice_ids=[third.pk], dossier=dossier, siret=third.customer.siret)

    assert "volume" in str(refused.value)
    assert not Submission.objects.filter(invoice=third).exists()
