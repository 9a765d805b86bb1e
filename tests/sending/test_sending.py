"""One invoice sent end to end: request, real worker, sandbox over HTTP, PostgreSQL."""

import pytest

from chorus.models import PlanYear, ReportEntry, Submission
from chorus.sandbox import seed
from chorus.services.sending import SendRefused, submission_request, submission_retry
from invoicing import services
from invoicing.models import Invoice
from invoicing.services import credit_note_lines
from tests.factories import CustomerFactory
from tests.integration import report_of, wait_finished

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def request(invoice: Invoice, **fields) -> Submission:
    fields.setdefault("siret", invoice.customer.siret)
    return submission_request(invoice_ids=[invoice.pk], dossier=invoice.dossier, **fields)


@pytest.fixture
def invoice(seller, buyer, make_invoice):
    return make_invoice(company=seller, customer=buyer)


def used(dossier) -> int:
    row = PlanYear.objects.filter(dossier=dossier).first()
    return row.used if row else 0


def test_an_invoice_is_deposited_numbered_and_counted_once(invoice, worker, sandbox):
    submission = wait_finished(request(invoice))

    assert submission.status == Submission.Status.DEPOSITED, report_of(submission)
    invoice.refresh_from_db()
    assert invoice.is_final and invoice.number.startswith("FA")
    assert submission.flow_number.startswith("CPP0011117")
    assert sandbox.deposit_count(invoice.number) == 1
    assert used(invoice.dossier) == 1
    steps = [step for step, outcome, _ in report_of(submission) if outcome == "ok"]
    assert steps == [
        "request",
        "gather",
        "authenticate",
        "verify_siret",
        "finalise",
        "build",
        "deposit",
        "done",
    ]
    assert submission.report.last().message == (
        "Votre Facture-X a été déposée avec succès sur Chorus Pro."
    )


@pytest.mark.parametrize(
    ("scenario", "code", "words"),
    [
        ("ldap_auth_failure", "auth_ldap", "LDAP"),
        ("gp_not_found", "gp_not_found", "30 minutes"),
        ("password_expired", "auth_ldap", "mot de passe"),
    ],
)
def test_technical_account_failures_leave_the_invoice_provisional(
    invoice, worker, sandbox, scenario, code, words
):
    account = sandbox.account(scenario)
    company = invoice.company
    company.chorus_login, company.chorus_password = account["login"], account["password"]
    company.save()

    submission = wait_finished(request(invoice))

    assert submission.status == Submission.Status.FAILED
    assert submission.error_code == code
    assert words in submission.error_message
    invoice.refresh_from_db()
    assert not invoice.is_final
    assert used(invoice.dossier) == 0
    assert sandbox.stats()["flows"] == 0


def test_platform_down_reports_a_technical_problem_and_counts_nothing(invoice, worker, sandbox):
    sandbox.platform_state("down")

    submission = wait_finished(request(invoice), timeout=60)

    assert submission.status == Submission.Status.FAILED
    assert submission.retryable
    entries = report_of(submission)
    assert ("gather", "ok", "") in entries
    assert entries[-1][:2] == ("done", "info")
    invoice.refresh_from_db()
    assert not invoice.is_final
    assert used(invoice.dossier) == 0

    sandbox.platform_state("up")
    retried = wait_finished(submission_retry(submission=submission))
    assert retried.status == Submission.Status.DEPOSITED
    assert used(invoice.dossier) == 1


@pytest.mark.parametrize(
    ("requires", "service_code", "engagement", "ok"),
    [
        ("none", "", "", True),
        ("service", "", "", False),
        ("service", "SERV-12", "", True),
        ("engagement", "", "", False),
        ("engagement", "", "EJ-2024-000123", True),
        ("service_and_engagement", "LABO-1", "", False),
        ("service_and_engagement", "LABO-2", "EJ-2024-000456", True),
        ("service_or_engagement", "", "", False),
        ("service_or_engagement", "SG", "", True),
    ],
)
def test_buyer_requirements_are_checked_before_finalisation(
    seller, make_invoice, worker, sandbox, requires, service_code, engagement, ok
):
    structure = sandbox.structure(requires)
    customer = CustomerFactory(dossier=seller.dossier, siret=structure["siret"])
    invoice = make_invoice(company=seller, customer=customer)

    submission = wait_finished(
        request(invoice, service_code=service_code, engagement_number=engagement)
    )

    invoice.refresh_from_db()
    if ok:
        assert submission.status == Submission.Status.DEPOSITED, report_of(submission)
        assert invoice.is_final
    else:
        assert submission.status == Submission.Status.FAILED
        assert submission.error_code == f"requires_{requires}"
        assert "exige" in submission.error_message
        assert not invoice.is_final


@pytest.mark.parametrize(
    ("siret", "code"),
    [(seed.BUYER_INACTIVE, "structure_inactive"), ("11000601200014", "structure_unknown")],
)
def test_unknown_or_inactive_siret_is_refused(seller, make_invoice, worker, siret, code):
    customer = CustomerFactory(dossier=seller.dossier, siret=siret)
    invoice = make_invoice(company=seller, customer=customer)

    submission = wait_finished(request(invoice))

    assert submission.status == Submission.Status.FAILED
    assert submission.error_code == code
    step, outcome, _message = report_of(submission)[-2]
    assert (step, outcome) == (ReportEntry.Step.VERIFY_SIRET, "error")


def test_request_refusals_have_the_guide_messages(invoice, final_invoice):
    with pytest.raises(SendRefused, match="plusieurs factures"):
        submission_request(
            invoice_ids=[invoice.pk, final_invoice.pk], dossier=invoice.dossier, siret="x"
        )
    with pytest.raises(SendRefused, match="déposer le pdf de cette facture manuellement"):
        request(final_invoice)
    with pytest.raises(SendRefused, match="pas un SIRET valide"):
        request(invoice, siret="12345678901234")
    invoice.dossier.facturx_module_enabled = False
    invoice.dossier.save()
    with pytest.raises(SendRefused, match="Émission Factur-X"):
        request(invoice)


def test_plan_warns_from_ten_left_and_refuses_at_zero(invoice, worker):
    dossier = invoice.dossier
    dossier.chorus_yearly_allowance = 1
    dossier.save()

    submission = request(invoice)
    assert "vous autorise à 1 Factures envoyées, une fois ce volume atteint" in (
        submission.plan_warning
    )
    assert wait_finished(submission).status == Submission.Status.DEPOSITED

    next_invoice = services.invoice_create(
        company=invoice.company, customer=invoice.customer, lines=credit_note_lines(invoice)
    )
    with pytest.raises(SendRefused, match="vous avez atteint ce volume"):
        request(next_invoice)
