"""Browser screens of the Chorus Pro sending: the dialog, the live report, the list.

Every object is looked up through `request.workspace.dossier`: another dossier's invoice or
submission answers 404 on every URL.
"""

import csv

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from chorus import selectors
from chorus.errors import ChorusError
from chorus.forms import SendForm, SubmissionFilterForm
from chorus.models import Submission
from chorus.services import plan
from chorus.services.connection import client_for
from chorus.services.sending import (
    SUCCESS_MESSAGE,
    SendRefused,
    final_invoice_message,
    submission_request,
)
from chorus.services.sending import submission_retry as retry_service
from invoicing import links
from invoicing.models import Company, Invoice
from invoicing.workspace import admin_required, workspace_required

POLL_INTERVAL_MS = 1000


def _invoice_of(request: HttpRequest, pk: int) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("company", "customer"),
        pk=pk,
        dossier=request.workspace.dossier,
    )


def _submission_of(request: HttpRequest, pk: int) -> Submission:
    submission = selectors.submission_with_report(request.workspace.dossier, pk)
    if submission is None:
        raise Http404
    return submission


def _initial(invoice: Invoice) -> dict:
    customer = invoice.customer
    return {
        "siret": customer.siret,
        "service_code": invoice.buyer_reference or customer.default_service_code,
        "engagement_number": invoice.order_reference or customer.default_engagement_number,
    }


def _dialog(request, invoice, form, *, refusal="", check=None, status=200) -> HttpResponse:
    # What is known to fail is said at once, not after the click (seed §5), and the send
    # button is then off.
    blocked = invoice.is_final or plan.plan_requestable(request.workspace.dossier) <= 0
    if invoice.is_final and not refusal:
        refusal = final_invoice_message()
    elif blocked and not refusal:
        refusal = plan.exhausted_message(request.workspace.dossier.chorus_yearly_allowance)
    return render(
        request,
        "chorus/send.html",
        {
            "invoice": invoice,
            "form": form,
            "refusal": refusal,
            "blocked": blocked,
            "check": check,
            "plan_warning": plan.plan_warning(request.workspace.dossier),
            "check_url": reverse("chorus:siret_check", args=(invoice.pk,)),
            "download_url": links.facturx_download_url(invoice),
            "pdf_url": links.pdf_download_url(invoice),
        },
        status=status,
    )


@workspace_required
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """The dialog "Saisie des informations nécessaires pour l'envoi à Chorus Pro"."""
    invoice = _invoice_of(request, pk)
    if request.method != "POST":
        return _dialog(request, invoice, SendForm(initial=_initial(invoice)))
    form = SendForm(request.POST)
    if "check" in request.POST:  # "Vérifier le SIRET" without JavaScript
        check = selectors.siret_check(invoice.company, request.POST.get("siret", ""))
        return _dialog(request, invoice, form, check=check)
    if not form.is_valid():
        return _dialog(request, invoice, form)
    try:
        submission = submission_request(
            invoice_ids=[invoice.pk],
            dossier=request.workspace.dossier,
            user=request.user,
            siret=form.cleaned_data["siret"],
            service_code=form.cleaned_data["service_code"],
            engagement_number=form.cleaned_data["engagement_number"],
        )
    except SendRefused as exc:
        return _dialog(request, invoice, form, refusal=exc.message)
    return redirect("chorus:submission", pk=submission.pk)


@require_POST
@workspace_required
def send_selection(request: HttpRequest) -> HttpResponse:
    """The invoice list's bulk action: one invoice opens the dialog, several are refused."""
    dossier = request.workspace.dossier
    try:
        ids = sorted({int(v) for v in request.POST.getlist("invoice")})
    except ValueError:
        raise Http404 from None
    invoices = list(Invoice.objects.filter(dossier=dossier, pk__in=ids).order_by("pk"))
    if len(invoices) != len(ids):
        raise Http404
    if len(invoices) == 1:
        return redirect("chorus:send", pk=invoices[0].pk)
    if not invoices:
        message = _("Sélectionnez la facture à envoyer vers Chorus Pro.")
    else:
        try:
            submission_request(invoice_ids=ids, dossier=dossier, user=request.user, siret="")
        except SendRefused as exc:
            message = exc.message
        else:  # pragma: no cover - the service refuses several invoices
            message = ""
    return render(
        request,
        "chorus/refused.html",
        {"message": message, "invoices": invoices},
    )


@require_GET
@workspace_required
def siret_check(request: HttpRequest, pk: int) -> JsonResponse:
    """What the buyer's structure requires, as JSON (called by the dialog's script)."""
    invoice = _invoice_of(request, pk)
    check = selectors.siret_check(invoice.company, request.GET.get("siret", ""))
    return JsonResponse(check.as_dict())


def _invoice_label(invoice: Invoice) -> str:
    if invoice.number:
        return _("Facture n° %(number)s") % {"number": invoice.number}
    return _("Facture provisoire #%(pk)s") % {"pk": invoice.pk}


def _report_context(request: HttpRequest, submission: Submission) -> dict:
    return {
        "submission": submission,
        "invoice_label": _invoice_label(submission.invoice),
        "success_message": SUCCESS_MESSAGE,
        "invoice_url": reverse("invoice_detail", args=(submission.invoice_id,)),
        "finished": submission.is_finished,
    }


@workspace_required
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission_of(request, pk)
    context = _report_context(request, submission)
    context["status_url"] = reverse("chorus:submission_status", args=(submission.pk,))
    context["poll_interval"] = POLL_INTERVAL_MS
    return render(request, "chorus/submission.html", context)


@require_GET
@workspace_required
def submission_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The report as it stands, for the page's polling script: data and the HTML fragment."""
    submission = _submission_of(request, pk)
    context = _report_context(request, submission)
    return JsonResponse(
        {
            "id": submission.pk,
            "status": submission.status,
            "status_label": submission.get_status_display(),
            "finished": submission.is_finished,
            "retryable": submission.status == Submission.Status.FAILED and submission.retryable,
            "error_message": submission.error_message,
            "flow_number": submission.flow_number,
            "invoice_label": context["invoice_label"],
            "chorus_status": submission.chorus_status,
            "steps": [
                {
                    "step": e.step,
                    "label": e.get_step_display(),
                    "outcome": e.outcome,
                    "outcome_label": e.get_outcome_display(),
                    "message": e.message,
                    "at": timezone.localtime(e.at).isoformat(),
                }
                for e in submission.report.all()
            ],
            "html": render_to_string("chorus/_report.html", context, request=request),
        }
    )


@require_POST
@workspace_required
def submission_retry(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission_of(request, pk)
    try:
        retry_service(submission=submission)
    except SendRefused as exc:
        messages.error(request, exc.message)
    return redirect("chorus:submission", pk=submission.pk)


CSV_HEADER = [
    "Facture",
    "Client",
    "Société",
    "Demandé le",
    "Déposé le",
    "Statut",
    "Statut Chorus Pro",
    "Numéro de flux",
    "Message d'erreur",
]


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"):
# a customer named `=HYPERLINK(...)` would become a live link. Every cell of this export is
# text (names, numbers, statuses, messages from Chorus Pro), so each gets the quote prefix;
# an amount, if one is ever exported, is a number we write and must not go through this.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet shows as typed, never evaluates."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else ""


@workspace_required
def submission_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    form = SubmissionFilterForm(request.GET or None, companies=workspace.companies)
    qs = selectors.submission_search(workspace.dossier, form.filters())
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="envois-chorus-pro.csv"'
        response.write("\ufeff")  # Excel reads UTF-8 with a BOM
        writer = csv.writer(response, delimiter=";")
        writer.writerow(CSV_HEADER)
        for s in qs.iterator(chunk_size=500):
            cells = [
                s.invoice.number or _("(provisoire)"),
                s.invoice.customer.name,
                s.company.name,
                _when(s.created_at),
                _when(s.deposited_at),
                s.get_status_display(),
                s.chorus_status,
                s.flow_number,
                s.error_message,
            ]
            writer.writerow([csv_text(str(cell)) for cell in cells])
        return response
    rows = list(qs[:200])
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "chorus/submission_list.html",
        {"form": form, "rows": rows, "csv_query": query.urlencode(), "truncated": len(rows) == 200},
    )


@require_POST
@admin_required
def company_test(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Tester la connexion" on the company settings page: the saved technical account
    against Chorus Pro, reported in plain French (never a secret)."""
    company = get_object_or_404(Company, pk=pk, dossier=request.workspace.dossier)
    if not company.has_chorus_credentials:
        messages.error(
            request,
            _(
                "Le compte technique Chorus Pro de l'entreprise %(company)s n'est pas complet : "
                "saisissez son login et son mot de passe ci-dessous, enregistrez, puis testez "
                "la connexion."
            )
            % {"company": company.name},
        )
        return redirect("settings_company_edit", pk=company.pk)
    try:
        structures = client_for(company).check_connection()
    except ChorusError as exc:
        messages.error(
            request,
            _("La connexion à Chorus Pro a échoué : %(message)s") % {"message": exc.message_fr},
        )
    else:
        count = len(structures)
        messages.success(
            request,
            ngettext(
                "Connexion à Chorus Pro réussie : le compte technique est rattaché à "
                "%(count)d structure.",
                "Connexion à Chorus Pro réussie : le compte technique est rattaché à "
                "%(count)d structures.",
                count,
            )
            % {"count": count},
        )
    return redirect("settings_company_edit", pk=company.pk)
