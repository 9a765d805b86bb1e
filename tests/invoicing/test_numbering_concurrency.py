"""Gapless, unique numbering: per company, per document kind, per year; also under load.

The concurrent tests need PostgreSQL (SQLite ignores SELECT ... FOR UPDATE): the test command
runs on PostgreSQL, and a misconfigured run fails loudly instead of passing.
"""

import datetime
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from invoicing import services
from invoicing.models import FinalInvoiceError, Invoice, NumberingCounter
from invoicing.services import credit_note_lines
from tests.factories import CompanyFactory, CustomerFactory, DossierFactory

ISSUE_DATE = datetime.date(2026, 3, 2)


def require_postgresql() -> None:
    assert connection.vendor == "postgresql", (
        "Numbering under concurrency is proven on PostgreSQL only: set DATABASE_URL."
    )


def run_concurrently(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call at once, each on its own thread and so its own DB connection."""
    barrier = threading.Barrier(len(calls))

    def worker(call: Callable[[], object]) -> object:
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(worker, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def finalise(invoice_id: int, issue_date: datetime.date = ISSUE_DATE) -> Callable[[], Invoice]:
    return lambda: services.invoice_finalise(invoice_id=invoice_id, issue_date=issue_date)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_finalisations_number_without_gap_or_duplicate(make_invoice):
    require_postgresql()
    invoices = [make_invoice() for _ in range(20)]

    results = run_concurrently([finalise(invoice.pk) for invoice in invoices])

    expected = [f"FA2026-{n:05d}" for n in range(1, 21)]
    assert sorted(result.number for result in results) == expected
    stored = Invoice.objects.filter(pk__in=[i.pk for i in invoices]).order_by("finalised_at", "id")
    assert sorted(stored.values_list("number", flat=True)) == expected
    assert all(invoice.state == Invoice.State.FINAL for invoice in stored)
    # Chronological: a number is taken under the counter lock, then timestamped.
    by_number = sorted(stored, key=lambda invoice: invoice.number)
    times = [invoice.finalised_at for invoice in by_number]
    assert times == sorted(times)
    assert NumberingCounter.objects.get().last_number == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_finalisations_of_two_companies_number_independently():
    require_postgresql()
    dossier = DossierFactory()
    customer = CustomerFactory(dossier=dossier)
    first, second = CompanyFactory(dossier=dossier), CompanyFactory(dossier=dossier)
    line = [services.LineInput(label="Audit", quantity=1, unit_price=100)]
    invoices = [
        services.invoice_create(company=company, customer=customer, lines=line)
        for company in (first, second)
        for _ in range(10)
    ]

    run_concurrently([finalise(invoice.pk) for invoice in invoices])

    expected = [f"FA2026-{n:05d}" for n in range(1, 11)]
    for company in (first, second):
        numbers = Invoice.objects.filter(company=company).values_list("number", flat=True)
        assert sorted(numbers) == expected


@pytest.mark.django_db(transaction=True)
def test_finalising_the_same_invoice_concurrently_gives_one_number(make_invoice):
    require_postgresql()
    invoice = make_invoice()
    make_invoice()  # another provisional invoice, never finalised

    results = run_concurrently([finalise(invoice.pk) for _ in range(10)])

    assert {result.number for result in results} == {"FA2026-00001"}
    assert NumberingCounter.objects.get().last_number == 1
    assert Invoice.objects.final().count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_and_credit_notes_use_separate_series(make_invoice):
    require_postgresql()
    credited = services.invoice_finalise(invoice_id=make_invoice().pk, issue_date=ISSUE_DATE)
    invoices = [make_invoice() for _ in range(8)]
    credit_notes = [
        make_invoice(
            kind=Invoice.Kind.CREDIT_NOTE,
            credited_invoice=credited,
            lines=credit_note_lines(credited),
        )
        for _ in range(8)
    ]

    run_concurrently([finalise(invoice.pk) for invoice in invoices + credit_notes])

    invoice_numbers = Invoice.objects.filter(kind=Invoice.Kind.INVOICE).values_list(
        "number", flat=True
    )
    credit_numbers = Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).values_list(
        "number", flat=True
    )
    assert sorted(invoice_numbers) == [f"FA2026-{n:05d}" for n in range(1, 10)]
    assert sorted(credit_numbers) == [f"AV2026-{n:05d}" for n in range(1, 9)]


# Sequential rules of the series (any database).


def test_numbers_follow_each_other_per_company(make_invoice, company):
    numbers = [
        services.invoice_finalise(invoice_id=make_invoice().pk, issue_date=ISSUE_DATE).number
        for _ in range(3)
    ]
    other = CompanyFactory(dossier=company.dossier)
    other_customer = CustomerFactory(dossier=company.dossier)
    other_invoice = make_invoice(company=other, customer=other_customer)

    other_number = services.invoice_finalise(invoice_id=other_invoice.pk, issue_date=ISSUE_DATE)

    assert numbers == ["FA2026-00001", "FA2026-00002", "FA2026-00003"]
    assert other_number.number == "FA2026-00001"


def test_credit_notes_have_their_own_series(final_invoice, make_invoice):
    credit_note = make_invoice(
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=final_invoice,
        lines=credit_note_lines(final_invoice),
    )
    next_invoice = make_invoice()

    credit_note = services.invoice_finalise(invoice_id=credit_note.pk, issue_date=ISSUE_DATE)
    next_invoice = services.invoice_finalise(invoice_id=next_invoice.pk, issue_date=ISSUE_DATE)

    assert final_invoice.number == "FA2026-00001"
    assert credit_note.number == "AV2026-00001"
    assert next_invoice.number == "FA2026-00002"


def test_a_pattern_with_the_year_restarts_each_year(make_invoice):
    december = services.invoice_finalise(
        invoice_id=make_invoice().pk, issue_date=datetime.date(2025, 12, 31)
    )
    january = services.invoice_finalise(
        invoice_id=make_invoice().pk, issue_date=datetime.date(2026, 1, 2)
    )

    assert (december.number, january.number) == ("FA2025-00001", "FA2026-00001")


def test_a_pattern_without_the_year_keeps_counting_across_years(make_invoice, company):
    company.invoice_number_pattern = "F-{number:06d}"
    company.save()

    december = services.invoice_finalise(
        invoice_id=make_invoice().pk, issue_date=datetime.date(2025, 12, 31)
    )
    january = services.invoice_finalise(
        invoice_id=make_invoice().pk, issue_date=datetime.date(2026, 1, 2)
    )

    assert (december.number, january.number) == ("F-000001", "F-000002")


def test_finalising_twice_keeps_the_same_number_and_date(final_invoice, make_invoice):
    again = services.invoice_finalise(
        invoice_id=final_invoice.pk, issue_date=datetime.date(2026, 6, 1)
    )
    following = services.invoice_finalise(invoice_id=make_invoice().pk, issue_date=ISSUE_DATE)

    assert again.number == final_invoice.number == "FA2026-00001"
    assert again.issue_date == datetime.date(2026, 3, 2)
    assert following.number == "FA2026-00002"


def test_a_caller_that_needs_a_provisional_invoice_is_refused_a_final_one(final_invoice):
    with pytest.raises(FinalInvoiceError):
        services.invoice_finalise(invoice_id=final_invoice.pk, already_final_ok=False)

    final_invoice.refresh_from_db()
    assert final_invoice.number == "FA2026-00001"


def test_finalisation_carries_the_references_confirmed_at_sending(make_invoice):
    final = services.invoice_finalise(
        invoice_id=make_invoice().pk,
        issue_date=ISSUE_DATE,
        buyer_reference="SERV-01",
        order_reference="EJ-42",
    )

    final.refresh_from_db()
    assert (final.buyer_reference, final.order_reference) == ("SERV-01", "EJ-42")


def test_finalisation_freezes_seller_and_buyer_and_sets_the_due_date(final_invoice, company):
    assert final_invoice.state == Invoice.State.FINAL
    assert final_invoice.issue_date == ISSUE_DATE
    assert final_invoice.due_date == ISSUE_DATE + datetime.timedelta(days=30)
    assert final_invoice.seller_data["siret"] == company.siret
    assert final_invoice.buyer_data["name"] == final_invoice.customer.name
    assert "chorus_password" not in final_invoice.seller_data


@pytest.mark.django_db
def test_a_number_never_goes_to_a_date_before_the_last_one(make_invoice):
    first = make_invoice()
    services.invoice_finalise(invoice_id=first.pk, issue_date=datetime.date(2026, 3, 10))
    late = make_invoice()

    with pytest.raises(ValidationError, match="chronologique"):
        services.invoice_finalise(invoice_id=late.pk, issue_date=datetime.date(2026, 3, 9))

    late.refresh_from_db()
    assert not late.is_final
    same_day = services.invoice_finalise(invoice_id=late.pk, issue_date=datetime.date(2026, 3, 10))
    assert same_day.number.endswith("00002")
