"""Reads of the invoicing domain for the browser application (lists, search, plan)."""

import base64
import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from invoicing.models import Article, Customer, Dossier, Invoice, InvoiceLine
from invoicing.totals import Totals, compute_totals

PAGE_SIZE = 50
# Counting 100,000 rows on every page view is the slow part of a list: stop counting here.
COUNT_LIMIT = 1000


# Provider hook: the chorus app (which depends on invoicing, never the reverse) fills this
# dict in its AppConfig.ready() with "plan_usage", "latest_submissions" and
# "invoice_submissions". Without it, the functions below answer as if nothing was sent.
PROVIDERS: dict[str, Callable] = {}


def plan_usage(dossier: Dossier, year: int) -> tuple[int, int]:
    """(sends counted, allowance) of a dossier for a calendar year."""
    provider = PROVIDERS.get("plan_usage")
    if provider is not None:
        return provider(dossier, year)
    return 0, dossier.chorus_yearly_allowance


def latest_submissions(dossier: Dossier, limit: int = 10) -> list:
    """The dossier's latest Chorus Pro submissions (provided by the chorus app)."""
    provider = PROVIDERS.get("latest_submissions")
    return provider(dossier, limit) if provider is not None else []


def invoice_submissions(invoice: Invoice) -> list:
    """An invoice's Chorus Pro submissions with their status history (chorus app)."""
    provider = PROVIDERS.get("invoice_submissions")
    return provider(invoice) if provider is not None else []


def customer_search(dossier: Dossier, q: str = "") -> QuerySet[Customer]:
    qs = Customer.objects.filter(dossier=dossier)
    q = q.strip()
    if q:
        qs = qs.filter(
            Q(code__istartswith=q)
            | Q(name__icontains=q)
            | Q(siret__startswith=q)
            | Q(city__icontains=q)
        )
    return qs.order_by("name", "id")


def article_search(dossier: Dossier, q: str = "") -> QuerySet[Article]:
    qs = Article.objects.filter(dossier=dossier)
    q = q.strip()
    if q:
        qs = qs.filter(Q(code__istartswith=q) | Q(label__icontains=q))
    return qs.order_by("code", "id")


@dataclass(frozen=True)
class InvoiceFilters:
    state: str = ""
    kind: str = ""
    customer_id: int | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    q: str = ""


def invoice_search(dossier: Dossier, filters: InvoiceFilters) -> QuerySet[Invoice]:
    """Invoices of a dossier, newest first, filtered; every filter starts from the dossier.

    The period is the invoice date for final invoices and the creation date for provisional
    ones (they have no date yet). Ordering (created_at, id) matches the (dossier,
    -created_at) indexes, which keyset pagination walks without OFFSET.
    """
    qs = Invoice.objects.filter(dossier=dossier)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.customer_id:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.date_from or filters.date_to:
        final = Q(state=Invoice.State.FINAL)
        provisional = Q(state=Invoice.State.PROVISIONAL)
        if filters.date_from:
            final &= Q(issue_date__gte=filters.date_from)
            provisional &= Q(created_at__gte=_start_of(filters.date_from))
        if filters.date_to:
            final &= Q(issue_date__lte=filters.date_to)
            provisional &= Q(created_at__lt=_start_of_next(filters.date_to))
        qs = qs.filter(final | provisional)
    q = filters.q.strip()
    if q:
        customers = Customer.objects.filter(dossier=dossier).filter(
            Q(name__icontains=q) | Q(code__istartswith=q)
        )
        qs = qs.filter(Q(number__istartswith=q) | Q(customer__in=customers.values("pk")))
    return qs.order_by("-created_at", "-id")


# A period bound outside these days means "no bound" for a timestamp: one day of margin keeps
# midnight, the next day and their conversion to UTC (any offset) inside datetime's range, so
# `?au=9999-12-31` or `?du=0001-01-01` filter normally instead of overflowing.
FIRST_DAY = datetime.date.min + datetime.timedelta(days=1)
LAST_DAY = datetime.date.max - datetime.timedelta(days=2)


def clamp_day(day: datetime.date) -> datetime.date:
    """A filter date brought inside the range where its timestamps can be computed."""
    return min(max(day, FIRST_DAY), LAST_DAY)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(clamp_day(day), datetime.time.min))


def _start_of_next(day: datetime.date) -> datetime.datetime:
    return _start_of(clamp_day(day) + datetime.timedelta(days=1))


def encode_cursor(invoice: Invoice) -> str:
    raw = f"{invoice.created_at.isoformat()}|{invoice.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime.datetime, int] | None:
    """The (created_at, id) of a cursor, or None for anything encode_cursor cannot have made
    (a hand-edited URL is ignored, never an error): an aware time that stays in range in UTC,
    a positive 64-bit id."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, pk = raw.split("|")
        when = datetime.datetime.fromisoformat(stamp)
        if when.tzinfo is None or not FIRST_DAY <= when.date() <= LAST_DAY:
            return None
        when = when.astimezone(datetime.UTC)
        key = int(pk)
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None
    return (when, key) if 0 < key < 2**63 else None


@dataclass
class InvoicePage:
    rows: list[Invoice]
    next_cursor: str | None
    prev_cursor: str | None
    count: int
    count_is_bounded: bool  # True: "more than COUNT_LIMIT"


def invoice_page(
    qs: QuerySet[Invoice], *, after: str = "", before: str = "", size: int = PAGE_SIZE
) -> InvoicePage:
    """One page of a (-created_at, -id) ordered queryset, by keyset rather than OFFSET."""
    base = qs
    after_key = decode_cursor(after) if after else None
    before_key = decode_cursor(before) if before and not after_key else None
    if after_key:
        stamp, pk = after_key
        qs = qs.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, id__lt=pk))
    elif before_key:
        stamp, pk = before_key
        qs = qs.filter(Q(created_at__gt=stamp) | Q(created_at=stamp, id__gt=pk)).order_by(
            "created_at", "id"
        )
    qs = qs.select_related("customer", "company").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))
    )
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if before_key:
        rows.reverse()
        has_next, has_prev = True, more
    else:
        has_next, has_prev = more, bool(after_key)
    count = base.order_by()[: COUNT_LIMIT + 1].count()
    return InvoicePage(
        rows=rows,
        next_cursor=encode_cursor(rows[-1]) if rows and has_next else None,
        prev_cursor=encode_cursor(rows[0]) if rows and has_prev else None,
        count=min(count, COUNT_LIMIT),
        count_is_bounded=count > COUNT_LIMIT,
    )


def invoice_totals(invoice: Invoice) -> Totals:
    """Totals of a saved invoice, from invoicing.totals (the PDF and XML use the same)."""
    return compute_totals(invoice.lines.all(), already_paid=invoice.already_paid)
