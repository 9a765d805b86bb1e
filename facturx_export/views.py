"""Download of the Factur-X of a final invoice (thin: selects, builds, answers)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from facturx_export.checks import FacturxCheckError
from facturx_export.services import facturx_build, facturx_filename
from invoicing.models import Invoice


@login_required
def download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    # Another dossier's invoice is a 404, never a 403: its existence is not disclosed.
    invoice = get_object_or_404(
        Invoice.objects.select_related("company", "customer", "credited_invoice").filter(
            dossier__memberships__user=request.user
        ),
        pk=invoice_id,
    )
    if not invoice.is_final:
        raise Http404("Seule une facture définitive peut être téléchargée en Factur-X.")
    try:
        data = facturx_build(invoice)
    except FacturxCheckError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{facturx_filename(invoice)}"'
    return response
