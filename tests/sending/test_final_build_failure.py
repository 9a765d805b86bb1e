"""A final invoice whose Factur-X cannot be built (a defect: its pre-flight passed) ends
its sending at once, failed, with the reason and what to do; never a retry loop."""

import pytest

from chorus.models import ReportEntry, Submission
from chorus.services import sending
from chorus.services.sending import submission_request, submission_send
from facturx_export.checks import FacturxCheckError, Problem

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def broken_final_build(monkeypatch):
    """The pre-flight (facturx_export.preflight) passes; the final build's check fails."""

    def check_xml(xml_bytes, snapshot, rules=None):
        raise FacturxCheckError([Problem("BR-XX", "Règle cassée pour le test.")], "x")

    monkeypatch.setattr("facturx_export.services.check_xml", check_xml)


def test_a_final_build_that_fails_ends_failed_on_the_first_attempt(
    seller, buyer, make_invoice, sandbox, chorus_settings, no_enqueue, broken_final_build
):
    invoice = make_invoice(company=seller, customer=buyer)
    submission = submission_request(
        invoice_ids=[invoice.pk], dossier=seller.dossier, siret=buyer.siret
    )
    # Not the last attempt: a transient failure would be queued again; this one must not.
    result = submission_send(submission_id=submission.pk, final_attempt=False)

    submission = Submission.objects.get(pk=submission.pk)
    assert result is not None and submission.status == Submission.Status.FAILED
    assert submission.attempts == 1 and not submission.retryable
    assert submission.error_code == "facturx_invalid"
    assert "avoir" in submission.error_message and "Règle cassée" in submission.error_message
    steps = list(submission.report.values_list("step", "outcome"))
    assert (ReportEntry.Step.BUILD, ReportEntry.Outcome.ERROR) in steps
    assert steps[-1] == (ReportEntry.Step.DONE, ReportEntry.Outcome.INFO)
    invoice.refresh_from_db()
    assert invoice.is_final  # numbered: to be corrected with a credit note
    assert sandbox.stats()["flows"] == 0


def test_an_invoice_that_fails_the_preflight_is_refused_at_request_with_no_number(
    seller, buyer, make_invoice, chorus_settings, no_enqueue
):
    type(seller).objects.filter(pk=seller.pk).update(iban="")
    invoice = make_invoice(company=seller, customer=buyer)
    with pytest.raises(sending.SendRefused) as refused:
        submission_request(invoice_ids=[invoice.pk], dossier=seller.dossier, siret=buyer.siret)
    assert "IBAN" in refused.value.message and "provisoire" in refused.value.message
    invoice.refresh_from_db()
    assert invoice.number is None and not Submission.objects.exists()
