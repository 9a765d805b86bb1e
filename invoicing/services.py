"""Writes of the invoicing domain: invoices, lines, finalisation and numbering."""

import copy
import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from invoicing import fr_ctc, preflight
from invoicing.fr_ctc import Nature
from invoicing.models import (
    Article,
    Company,
    Customer,
    Dossier,
    FinalInvoiceError,
    Invoice,
    InvoiceLine,
    NumberingCounter,
    VatCategory,
)


@dataclass
class LineInput:
    label: str
    quantity: Decimal
    unit_price: Decimal
    unit: str = "C62"
    vat_category: str = VatCategory.STANDARD
    vat_rate: Decimal = Decimal("20.00")
    exemption_reason: str = ""
    article: Article | None = None
    exemption_code: str = ""
    nature: str = Nature.SERVICES


def line_from_article(article: Article, quantity: Decimal) -> LineInput:
    return LineInput(
        label=article.label,
        quantity=quantity,
        unit_price=article.unit_price,
        unit=article.unit,
        vat_category=article.vat_category,
        vat_rate=article.vat_rate,
        exemption_reason=article.exemption_reason,
        exemption_code=article.exemption_code,
        nature=article.nature,
        article=article,
    )


def _build_lines(invoice: Invoice, lines: Iterable[LineInput]) -> list[InvoiceLine]:
    built = []
    for position, line in enumerate(lines, start=1):
        row = InvoiceLine(
            invoice=invoice,
            position=position,
            article=line.article,
            label=line.label,
            unit=line.unit,
            quantity=Decimal(line.quantity),
            unit_price=Decimal(line.unit_price),
            vat_category=line.vat_category,
            vat_rate=Decimal(line.vat_rate),
            exemption_reason=line.exemption_reason,
            exemption_code=line.exemption_code,
            nature=line.nature,
        )
        try:
            row.full_clean(exclude=["invoice"])
        except ValidationError as exc:
            raise ValidationError(
                _("Ligne %(position)s : %(errors)s")
                % {"position": position, "errors": "; ".join(exc.messages)}
            ) from exc
        built.append(row)
    return built


@transaction.atomic
def invoice_create(
    *,
    company: Company,
    customer: Customer,
    lines: Iterable[LineInput],
    kind: str = Invoice.Kind.INVOICE,
    credited_invoice: Invoice | None = None,
    buyer_reference: str = "",
    order_reference: str = "",
    due_date: datetime.date | None = None,
    delivery_date: datetime.date | None = None,
    payment_terms: str = "",
    note: str = "",
    already_paid: bool = False,
    delivery_address: dict | None = None,
) -> Invoice:
    """Create a provisional invoice (or credit note) with its lines, validated as a whole.

    `delivery_address` (DeliveryAddress fields) defaults to the customer's delivery address.
    """
    if delivery_address is None:
        delivery_address = customer.delivery_address()
    invoice = Invoice(
        dossier=company.dossier,
        company=company,
        customer=customer,
        kind=kind,
        credited_invoice=credited_invoice,
        buyer_reference=buyer_reference or customer.default_service_code,
        order_reference=order_reference or customer.default_engagement_number,
        due_date=due_date,
        delivery_date=delivery_date,
        payment_terms=payment_terms,
        note=note,
        already_paid=already_paid,
        **delivery_address,
    )
    invoice.full_clean()
    invoice.save()
    rows = _build_lines(invoice, lines)
    if not rows:
        raise ValidationError(_("Une facture doit avoir au moins une ligne."))
    InvoiceLine.objects.bulk_create(rows)
    return invoice


@transaction.atomic
def invoice_replace_lines(*, invoice: Invoice, lines: Iterable[LineInput]) -> Invoice:
    """Replace every line of a provisional invoice (the entry screen saves the whole grid)."""
    invoice = Invoice.objects.select_for_update(no_key=True).get(pk=invoice.pk)
    if invoice.is_final:
        raise FinalInvoiceError()
    rows = _build_lines(invoice, lines)
    if not rows:
        raise ValidationError(_("Une facture doit avoir au moins une ligne."))
    invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(rows)
    invoice.save(update_fields=["updated_at"])
    return invoice


def credit_note_lines(
    invoice: Invoice, quantities: dict[int, Decimal] | None = None
) -> list[LineInput]:
    """The lines of a credit note for `invoice` (positive amounts, type 381): every line in
    full, or only the lines of `quantities` (line id -> quantity to credit, more than zero
    and at most the quantity invoiced)."""
    lines = list(invoice.lines.all())
    if quantities is not None:
        errors = []
        chosen = []
        for position, line in enumerate(lines, start=1):
            if line.pk not in quantities:
                continue
            quantity = quantities[line.pk]
            if not 0 < quantity <= line.quantity:
                errors.append(
                    _("Ligne %(n)s : la quantité à créditer doit être comprise entre 0 et %(max)s.")
                    % {"n": position, "max": line.quantity.normalize()}
                )
            chosen.append((line, quantity))
        if errors:
            raise ValidationError(errors)
        if not chosen:
            raise ValidationError(_("Choisissez au moins une ligne à créditer."))
    else:
        chosen = [(line, line.quantity) for line in lines]
    return [
        LineInput(
            label=line.label,
            quantity=quantity,
            unit_price=line.unit_price,
            unit=line.unit,
            vat_category=line.vat_category,
            vat_rate=line.vat_rate,
            exemption_reason=line.exemption_reason,
            exemption_code=line.exemption_code,
            nature=line.nature,
            article=line.article,
        )
        for line, quantity in chosen
    ]


@transaction.atomic
def credit_note_create(
    *, invoice: Invoice, quantities: dict[int, Decimal] | None = None
) -> Invoice:
    """A provisional credit note for final `invoice`, in full or for some lines."""
    if not invoice.is_final or invoice.is_credit_note:
        raise ValidationError(_("Un avoir ne peut corriger qu'une facture définitive."))
    return invoice_create(
        company=invoice.company,
        customer=invoice.customer,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        lines=credit_note_lines(invoice, quantities),
        buyer_reference=invoice.buyer_reference,
        order_reference=invoice.order_reference,
        delivery_address=invoice.delivery_address(),
    )


def format_number(pattern: str, *, year: int, number: int) -> str:
    return pattern.format(year=year, number=number)


FOREIGN_KEYS = ["dossier", "company", "customer", "credited_invoice"]
# What finalisation writes.
FINALISED_FIELDS = [
    "number",
    "issue_date",
    "due_date",
    "buyer_reference",
    "order_reference",
    "seller_data",
    "buyer_data",
    "state",
    "finalised_at",
    "updated_at",
]


def _series_year(pattern: str, issue_date: datetime.date) -> int:
    # A pattern without the year numbers continuously across years: one counter (year 0).
    return issue_date.year if "{year" in pattern else 0


def _series(invoice: Invoice, today: datetime.date) -> tuple[str, dict]:
    company = invoice.company
    pattern = (
        company.credit_note_number_pattern
        if invoice.is_credit_note
        else company.invoice_number_pattern
    )
    return pattern, {"company": company, "kind": invoice.kind, "year": _series_year(pattern, today)}


def _apply_confirmed(invoice: Invoice, buyer_reference, order_reference) -> None:
    if buyer_reference is not None:
        invoice.buyer_reference = buyer_reference
    if order_reference is not None:
        invoice.order_reference = order_reference


def _freeze(invoice: Invoice, *, number: str, today: datetime.date, buyer_siret) -> None:
    """Give `invoice` (in memory) everything finalisation writes."""
    invoice.number = number
    invoice.issue_date = today
    if invoice.already_paid:  # BT-9 is then the date it was paid (BR-FR-CO-09): today at most
        invoice.due_date = min(invoice.due_date or today, today)
    elif invoice.due_date is None or invoice.due_date < today:
        invoice.due_date = today + datetime.timedelta(days=invoice.company.payment_terms_days)
    invoice.seller_data = invoice.company.identity()
    invoice.buyer_data = invoice.customer.identity()
    if buyer_siret:  # confirmed when sending (BT-46/BT-47), it wins over the customer file
        buyer = invoice.buyer_data
        buyer["siret"] = buyer_siret
        if not buyer_siret.startswith(buyer.get("siren") or "-"):
            buyer["siren"] = fr_ctc.siren_of(buyer_siret)
        if not invoice.customer.electronic_address:
            buyer["electronic_address"] = fr_ctc.default_electronic_address(
                buyer["siren"], buyer_siret, public=buyer.get("public", False)
            )
    invoice.state = Invoice.State.FINAL
    invoice.finalised_at = timezone.now()


def _check_issue_date(issue_date: datetime.date | None) -> datetime.date:
    today = timezone.localdate()
    if issue_date is None:
        return today
    if issue_date > today:
        # Numbering is chronological: one far-future date would block every later number.
        raise ValidationError(
            {
                "issue_date": _(
                    "La date de facture (%(date)s) ne peut pas être postérieure à aujourd'hui."
                )
                % {"date": issue_date.strftime("%d/%m/%Y")}
            }
        )
    return issue_date


def invoice_preview_final(
    invoice: Invoice,
    *,
    buyer_siret: str | None = None,
    buyer_reference: str | None = None,
    order_reference: str | None = None,
) -> Invoice:
    """An unsaved copy of provisional `invoice` as finalisation would freeze it today: the
    next number of its series (read, not reserved), today's date, the live identities."""
    preview = copy.copy(invoice)
    _apply_confirmed(preview, buyer_reference, order_reference)
    today = timezone.localdate()
    pattern, series = _series(preview, today)
    last = NumberingCounter.objects.filter(**series).values_list("last_number", flat=True)
    number = format_number(pattern, year=today.year, number=(last.first() or 0) + 1)
    _freeze(preview, number=number, today=today, buyer_siret=buyer_siret)
    return preview


def invoice_check(invoice: Invoice, **confirmed) -> tuple[list, str]:
    """The pre-flight of a provisional invoice (`confirmed`: the values a sending confirms,
    as for `invoice_preview_final`): (every problem, the fingerprint of what was checked)."""
    preview = invoice_preview_final(invoice, **confirmed)
    return preflight.invoice_problems(preview), preflight.invoice_fingerprint(preview)


def invoice_finalise(
    *,
    invoice_id: int,
    issue_date: datetime.date | None = None,
    buyer_siret: str | None = None,
    buyer_reference: str | None = None,
    order_reference: str | None = None,
    already_final_ok: bool = True,
    checked_fingerprint: str = "",
) -> Invoice:
    """Check, number, date and freeze a provisional invoice (« Valider la facture »). Safe to
    call again on a final one, unless `already_final_ok` is False: then a final invoice
    raises FinalInvoiceError.

    `buyer_siret`, `buyer_reference` (BT-10, service code) and `order_reference` (BT-13,
    engagement number), when given, were confirmed at sending time: the frozen invoice (and
    so the Factur-X) carries them.

    The pre-flight (`invoicing.preflight`) runs on the invoice exactly as it is about to be
    frozen, number included; any problem raises PreflightError and rolls everything back,
    the counter too: no number is used. `checked_fingerprint`, from a pre-flight that passed
    on the same content (the sending request's), spares running it again.

    The per-company counter row is locked (SELECT ... FOR UPDATE) so numbers stay
    chronological and without gaps when several users finalise at once; the unique
    constraint on (company, number) is the backstop.
    """
    today = _check_issue_date(issue_date)
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",), no_key=True)
            .select_related("company", "customer")  # a credit note loads its invoice in clean()
            .prefetch_related("lines")  # kept on the invoice returned, for its Factur-X
            .get(pk=invoice_id)
        )
        if invoice.is_final:
            if not already_final_ok:
                raise FinalInvoiceError(_("Cette facture est déjà définitive."))
            return invoice
        if not invoice.lines.all():
            raise ValidationError(_("Une facture sans ligne ne peut pas être rendue définitive."))
        _apply_confirmed(invoice, buyer_reference, order_reference)
        # Foreign keys and constraints are the database's to enforce (and the number and state
        # this sets satisfy them): checking them here would only cost queries.
        invoice.full_clean(exclude=FOREIGN_KEYS, validate_constraints=False)
        pattern, series = _series(invoice, today)
        locked = NumberingCounter.objects.select_for_update(no_key=True).filter(**series)
        counter = locked.first()
        if counter is None:  # the series' first number
            NumberingCounter.objects.get_or_create(**series)
            counter = locked.get()
        # Chronological numbering: a number never goes to a date before the last one given.
        last_date = (
            Invoice.objects.filter(
                company=invoice.company, kind=invoice.kind, state=Invoice.State.FINAL
            )
            .order_by("-issue_date")
            .values_list("issue_date", flat=True)
            .first()
        )
        if last_date and today < last_date:
            raise ValidationError(
                _(
                    "La date de facture (%(date)s) est antérieure à celle de la dernière facture "
                    "numérotée (%(last)s) : la numérotation doit rester chronologique."
                )
                % {"date": today.strftime("%d/%m/%Y"), "last": last_date.strftime("%d/%m/%Y")}
            )
        counter.last_number += 1
        number = format_number(pattern, year=today.year, number=counter.last_number)
        _freeze(invoice, number=number, today=today, buyer_siret=buyer_siret)
        preflight.ensure_sendable(invoice, checked_fingerprint=checked_fingerprint)
        counter.save(update_fields=["last_number"])
        # The row is locked and was read provisional above: Invoice.save()'s guard, which
        # reads the state again, would only repeat that.
        models.Model.save(invoice, update_fields=FINALISED_FIELDS)
        return invoice


@transaction.atomic
def dossier_set_module(*, dossier: Dossier, enabled: bool) -> Dossier:
    dossier.facturx_module_enabled = enabled
    dossier.save(update_fields=["facturx_module_enabled"])
    return dossier


# Header fields the entry screen may change on a provisional invoice.
INVOICE_EDITABLE_FIELDS = frozenset(
    {
        "company",
        "customer",
        "buyer_reference",
        "order_reference",
        "due_date",
        "delivery_date",
        "payment_terms",
        "note",
        "already_paid",
        *Invoice.DELIVERY_FIELDS,
    }
)


@transaction.atomic
def invoice_update(*, invoice: Invoice, lines: Iterable[LineInput], **fields) -> Invoice:
    """Save the entry screen of a provisional invoice: its header fields and the whole grid."""
    unknown = set(fields) - INVOICE_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable on an invoice: {sorted(unknown)}")
    locked = Invoice.objects.select_for_update(no_key=True).get(pk=invoice.pk)
    if locked.is_final:
        raise FinalInvoiceError()
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    return invoice_replace_lines(invoice=locked, lines=lines)
