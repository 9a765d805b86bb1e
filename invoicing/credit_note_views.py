"""« Créer un avoir »: a credit note for a final invoice, in full or for chosen lines."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from invoicing import services
from invoicing.models import Invoice
from invoicing.templatetags.chorale import plain_decimal
from invoicing.totals import compute_totals
from invoicing.workspace import workspace_required


def _credited_quantities(request: HttpRequest, invoice: Invoice) -> dict[int, Decimal] | None:
    """The lines and quantities of a partial credit note (None: the whole invoice)."""
    if "partial" not in request.POST:
        return None
    quantities = {}
    for line in invoice.lines.all():
        if f"take-{line.pk}" not in request.POST:
            continue
        raw = request.POST.get(f"qty-{line.pk}", "").strip().replace(",", ".")
        try:
            quantities[line.pk] = Decimal(raw)
        except ArithmeticError:
            quantities[line.pk] = Decimal(0)  # refused below, with the line's number
    return quantities


@workspace_required
def credit_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: choose the lines and quantities to credit; POST: create the credit note (the
    whole invoice when no line is chosen: the « Créer un avoir » button)."""
    invoice = get_object_or_404(Invoice, pk=pk, dossier=request.workspace.dossier)
    if not invoice.is_final or invoice.is_credit_note:
        messages.error(request, _("Un avoir ne peut corriger qu'une facture définitive."))
        return redirect("invoice_detail", pk=invoice.pk)
    errors: list[str] = []
    if request.method == "POST":
        try:
            note = services.credit_note_create(
                invoice=invoice, quantities=_credited_quantities(request, invoice)
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(
                request,
                _(
                    "Avoir provisoire créé pour la facture %(number)s : vérifiez-le puis "
                    "enregistrez-le."
                )
                % {"number": invoice.number},
            )
            return redirect("invoice_detail", pk=note.pk)
    lines = list(invoice.lines.all())
    posted = request.POST if request.method == "POST" else None
    rows = [
        {
            "line": line,
            "position": position,
            "net": net,
            "take": posted is None or f"take-{line.pk}" in posted,
            "quantity": posted.get(f"qty-{line.pk}", "")
            if posted
            else plain_decimal(line.quantity),
        }
        for position, (line, net) in enumerate(
            zip(lines, compute_totals(lines).line_nets, strict=True), start=1
        )
    ]
    return render(
        request,
        "invoicing/credit_note_form.html",
        {"invoice": invoice, "rows": rows, "errors": errors},
        status=400 if errors else 200,
    )
