"""Downloads of a final invoice: its Factur-X, or the same as a plain PDF (thin views)."""

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from facturx_export.checks import FacturxCheckError
from facturx_export.services import facturx_build, facturx_filename, facturx_plain_pdf
from invoicing.models import Invoice

logger = logging.getLogger(__name__)


def _final_invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    # Another dossier's invoice is a 404, never a 403: its existence is not disclosed.
    invoice = get_object_or_404(
        Invoice.objects.select_related("company", "customer", "credited_invoice").filter(
            dossier__memberships__user=request.user
        ),
        pk=invoice_id,
    )
    if not invoice.is_final:
        raise Http404("Seule une facture définitive peut être téléchargée.")
    return invoice


def _answer(request: HttpRequest, invoice: Invoice, build, suffix: str = "") -> HttpResponse:
    try:
        data = build(invoice)
    except Exception as exc:  # a final invoice that cannot be built: say so, never a 500
        logger.exception("invoice %s: its file could not be built", invoice.pk)
        problems = exc.problems if isinstance(exc, FacturxCheckError) else []
        return render(
            request,
            "facturx_export/build_failed.html",
            {"invoice": invoice, "problems": problems},
            status=409,
        )
    response = HttpResponse(data, content_type="application/pdf")
    filename = facturx_filename(invoice, suffix=suffix)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return _answer(request, _final_invoice(request, invoice_id), facturx_build)


@login_required
def download_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return _answer(request, _final_invoice(request, invoice_id), facturx_plain_pdf, "_pdf")
