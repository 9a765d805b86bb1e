"""Faults during a sending: after each, no duplicate flow, the plan counts exactly what was
deposited, and every submission ends in a clear state."""

import threading
import time

import pytest

from chorus import tasks
from chorus.models import PlanYear, Submission
from chorus.services import sweeper
from chorus.services.sending import SendRefused, submission_request
from invoicing.models import Invoice
from tests.integration import report_of, wait_finished

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEPOSIT = "/cpro/factures/v1/deposer/flux"


@pytest.fixture
def invoice(seller, buyer, make_invoice):
    return make_invoice(company=seller, customer=buyer)


def request(invoice: Invoice) -> Submission:
    return submission_request(
        invoice_ids=[invoice.pk], dossier=invoice.dossier, siret=invoice.customer.siret
    )


def assert_deposited_once(submission: Submission, sandbox) -> None:
    assert submission.status == Submission.Status.DEPOSITED, report_of(submission)
    submission.invoice.refresh_from_db()
    assert sandbox.deposit_count(submission.invoice.number) == 1
    assert PlanYear.objects.get(dossier=submission.dossier).used == 1
    assert PlanYear.objects.get(dossier=submission.dossier).reserved == 0


def sweep_until_finished(submission: Submission, timeout: float = 60) -> Submission:
    """Run the sweeper (as beat would) until the submission ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.is_finished:
            return submission
        sweeper.sweep_stuck_submissions()
        time.sleep(0.5)
    raise AssertionError(f"still {submission.status}: {report_of(submission)}")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_http_errors_during_deposit_are_retried_without_duplicate(
    invoice, worker, sandbox, status
):
    kind = "rate_limit" if status == 429 else "status"
    sandbox.add_fault(kind, route=DEPOSIT, count=3, status=status)

    submission = sweep_until_finished(request(invoice), timeout=90)

    assert_deposited_once(submission, sandbox)


def test_a_lost_deposit_answer_is_looked_up_before_any_new_deposit(invoice, worker, sandbox):
    # The deposit is recorded by Chorus Pro, but its answer never arrives (read timeout).
    sandbox.add_fault("delay", route=DEPOSIT, count=1, delay=6, phase="after")

    submission = sweep_until_finished(request(invoice))

    assert_deposited_once(submission, sandbox)
    messages = " ".join(message for _s, _o, message in report_of(submission))
    assert "déjà reçue par Chorus Pro" in messages


def test_a_worker_killed_in_the_middle_of_a_sending_neither_loses_nor_duplicates(
    invoice, worker, sandbox
):
    sandbox.add_fault("delay", route=DEPOSIT, count=1, delay=3, phase="after")
    submission = request(invoice)
    deadline = time.monotonic() + 30
    while sandbox.stats()["flows"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.kill()  # SIGKILL while the deposit call is in flight
    worker.start()

    submission = sweep_until_finished(submission)

    assert_deposited_once(submission, sandbox)


def test_a_redis_restart_between_request_and_execution_loses_nothing(
    invoice, worker, sandbox, redis_server
):
    worker.stop()
    submission = request(invoice)
    redis_server.restart()  # no persistence: the queued message is gone
    worker.start()

    submission = sweep_until_finished(submission)

    assert_deposited_once(submission, sandbox)


def test_a_broker_down_at_request_time_still_queues_the_request(
    invoice, worker, sandbox, redis_server, caplog
):
    worker.stop()
    redis_server.stop()
    try:
        submission = request(invoice)  # the user's request succeeds all the same
    finally:
        redis_server.start()
    worker.start()

    assert submission.status == Submission.Status.QUEUED
    assert "in on_commit()" in caplog.text  # logged, not raised
    submission = sweep_until_finished(submission)

    assert_deposited_once(submission, sandbox)


def test_the_same_task_delivered_twice_deposits_once(invoice, worker, sandbox):
    submission = request(invoice)
    tasks.send_submission.delay(submission.pk)
    tasks.send_submission.delay(submission.pk)

    assert_deposited_once(wait_finished(submission), sandbox)


def test_fifty_sends_racing_for_the_last_ten_of_the_plan(
    seller, buyer, make_invoice, worker, sandbox
):
    dossier = seller.dossier
    dossier.chorus_yearly_allowance = 10
    dossier.save()
    invoices = [make_invoice(company=seller, customer=buyer) for _ in range(50)]
    submissions: list[Submission] = []
    refused_at_once: list[str] = []
    lock = threading.Lock()

    def send(invoice):
        from django.db import connection

        try:
            submission = request(invoice)
            with lock:
                submissions.append(submission)
        except SendRefused as exc:  # the plan was already used up when it asked
            with lock:
                refused_at_once.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(inv,)) for inv in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = [wait_finished(s, timeout=120) for s in submissions]

    deposited = [s for s in finished if s.status == Submission.Status.DEPOSITED]
    refused = [s for s in finished if s.status == Submission.Status.FAILED]
    assert len(deposited) == 10
    assert len(refused) + len(refused_at_once) == 40
    messages = [s.error_message for s in refused] + refused_at_once
    assert all("vous avez atteint ce volume" in message for message in messages)
    assert PlanYear.objects.get(dossier=dossier).used == 10
    numbers = sorted(
        Invoice.objects.filter(company=seller, state=Invoice.State.FINAL).values_list(
            "number", flat=True
        )
    )
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(1, 11))
    assert Invoice.objects.filter(company=seller, state=Invoice.State.PROVISIONAL).count() == 40
    assert sandbox.stats()["flows"] == 10


def test_the_siret_confirmed_at_sending_is_the_one_in_the_factur_x(
    seller, make_invoice, sandbox, chorus_settings, no_enqueue
):
    from chorus.services.sending import submission_send
    from tests.factories import CustomerFactory

    customer = CustomerFactory(dossier=seller.dossier, siret="")  # SIRET typed in the dialog
    invoice = make_invoice(company=seller, customer=customer)
    typed = sandbox.structure("none")["siret"]
    submission = submission_request(invoice_ids=[invoice.pk], dossier=seller.dossier, siret=typed)

    submission_send(submission_id=submission.pk)

    submission.refresh_from_db()
    invoice.refresh_from_db()
    assert submission.status == Submission.Status.DEPOSITED, report_of(submission)
    assert invoice.buyer_data["siret"] == typed
    sandbox.process_flows()
    assert [i["numeroFacture"] for i in sandbox.invoices()] == [invoice.number]


def test_a_crash_right_after_chorus_answers_keeps_the_flow_and_never_deposits_again(
    invoice, sandbox, chorus_settings, monkeypatch, no_enqueue
):
    from chorus.services import sending

    record = sending._record_deposit
    calls = []

    def crash_once(*args, **kwargs):  # the process dies between the answer and the bookkeeping
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return record(*args, **kwargs)

    monkeypatch.setattr(sending, "_record_deposit", crash_once)
    submission = request(invoice)
    sending.submission_send(submission_id=submission.pk, final_attempt=True)
    submission.refresh_from_db()
    assert submission.flow_number
    assert submission.deposit_state == Submission.DepositState.DONE
    assert submission.status == Submission.Status.QUEUED  # resumed later, never failed

    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=None)
    sending.submission_send(submission_id=submission.pk)

    submission.refresh_from_db()
    assert_deposited_once(submission, sandbox)
    assert len(calls) == 2


def test_a_submission_claimed_again_while_finalising_rolls_back_number_and_plan(
    invoice, sandbox, chorus_settings, monkeypatch, no_enqueue
):
    from django.db.models import F

    from chorus.services import sending

    finalise = sending.invoice_finalise

    def claimed_meanwhile(**kwargs):  # as if another run had taken the submission
        Submission.objects.filter(pk=submission.pk).update(attempts=F("attempts") + 1)
        return finalise(**kwargs)

    monkeypatch.setattr(sending, "invoice_finalise", claimed_meanwhile)
    submission = request(invoice)
    sending.submission_send(submission_id=submission.pk, final_attempt=True)

    invoice.refresh_from_db()
    submission.refresh_from_db()
    assert not invoice.is_final and not invoice.number  # the number was rolled back
    assert not submission.finalised_here
    assert submission.status == Submission.Status.FAILED and submission.retryable
    assert not PlanYear.objects.filter(dossier=invoice.dossier, reserved__gt=0).exists()
    assert not PlanYear.objects.filter(dossier=invoice.dossier, used__gt=0).exists()
    assert sandbox.stats()["flows"] == 0


def test_an_invoice_finalised_elsewhere_meanwhile_is_not_sent(
    invoice, sandbox, chorus_settings, no_enqueue
):
    from chorus.services.sending import submission_send
    from invoicing.services import invoice_finalise

    submission = request(invoice)
    invoice_finalise(invoice_id=invoice.pk)  # e.g. an import with --finalise

    submission_send(submission_id=submission.pk)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert submission.error_code == "invoice_final"
    assert "manuellement" in submission.error_message
    assert sandbox.stats()["flows"] == 0
    assert not PlanYear.objects.filter(dossier=invoice.dossier, used__gt=0).exists()


def test_recording_a_deposit_again_neither_counts_nor_reports_twice(
    invoice, make_invoice, sandbox, chorus_settings, no_enqueue
):
    from chorus.services import sending

    submission = request(invoice)
    sending.submission_send(submission_id=submission.pk)
    submission.refresh_from_db()
    lines = submission.report.count()

    for plan_state in (Submission.PlanState.RESERVED, Submission.PlanState.COUNTED):
        again = Submission.objects.get(pk=submission.pk)
        again.plan_state = plan_state  # whatever that late run knew
        sending._record_deposit(again, "CPP-OTHER", None, sending._RunReport(submission.pk))

    submission.refresh_from_db()
    assert_deposited_once(submission, sandbox)
    assert submission.flow_number != "CPP-OTHER"
    assert submission.report.count() == lines

    # A row that is not what the run knows is left for a later run to record.
    other = request(make_invoice(company=invoice.company, customer=invoice.customer))
    other.plan_state = Submission.PlanState.RESERVED  # the row still says "none"
    with pytest.raises(RuntimeError):
        sending._record_deposit(other, "CPP-X", None, sending._RunReport(other.pk))
    other.refresh_from_db()
    assert other.status == Submission.Status.QUEUED and not other.flow_number
    assert PlanYear.objects.get(dossier=invoice.dossier).used == 1
