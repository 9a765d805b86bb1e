"""The status sync follows deposited invoices on Chorus Pro until a final status."""

import pytest

from chorus.models import Submission
from chorus.services.sending import submission_request, submission_send
from chorus.services.status_sync import FLOW_REJECTED, sync_statuses

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deposited(seller, buyer, make_invoice, no_enqueue):
    """An invoice deposited on the sandbox (the sending runs in this process)."""
    invoice = make_invoice(company=seller, customer=buyer)
    submission = submission_request(
        invoice_ids=[invoice.pk], dossier=invoice.dossier, siret=buyer.siret
    )
    submission_send(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.DEPOSITED
    return submission


def codes(submission: Submission) -> list[str]:
    return list(submission.status_changes.values_list("code", flat=True))


def test_statuses_are_recorded_with_their_dates_until_a_final_one(deposited, sandbox):
    assert sync_statuses() == 1
    deposited.refresh_from_db()
    assert deposited.flow_status == "IN_INTEGRE"
    assert deposited.chorus_invoice_id is not None
    assert deposited.chorus_status == "DEPOSEE"
    assert codes(deposited) == ["DEPOSEE"]

    sandbox.advance_clock(120)  # DEPOSEE -> ... -> MISE_A_DISPOSITION
    sync_statuses()
    deposited.refresh_from_db()
    assert deposited.chorus_status == "MISE_A_DISPOSITION"
    assert codes(deposited)[-1] == "MISE_A_DISPOSITION"
    assert not deposited.sync_done

    sandbox.set_invoice_status(
        "REJETEE", invoice_number=deposited.invoice.number, comment="Bon de commande absent"
    )
    sync_statuses()
    deposited.refresh_from_db()
    assert deposited.chorus_status == "REJETEE"
    assert deposited.sync_done
    rejected = deposited.status_changes.get(code="REJETEE")
    assert rejected.comment == "Bon de commande absent"
    assert rejected.changed_at is not None

    calls_before = sandbox.stats()["calls"]
    assert sync_statuses() == 0  # a final status is not polled again
    assert sandbox.stats()["calls"] == calls_before


def test_syncing_twice_records_each_change_once(deposited, sandbox):
    sync_statuses()
    sync_statuses()
    assert codes(deposited) == ["DEPOSEE"]


def test_a_flow_rejected_by_chorus_is_recorded_with_its_reasons(deposited, sandbox):
    sandbox.set_flow_state(deposited.flow_number, "IN_REJETE")

    sync_statuses()

    deposited.refresh_from_db()
    assert deposited.chorus_status == FLOW_REJECTED
    assert deposited.sync_done
    assert deposited.report.filter(step="status", outcome="error").exists()


def test_platform_trouble_during_sync_changes_nothing(deposited, sandbox):
    sandbox.platform_state("unavailable")

    assert sync_statuses() == 0

    deposited.refresh_from_db()
    assert deposited.chorus_status == ""
    assert not deposited.sync_done
    sandbox.platform_state("up")
