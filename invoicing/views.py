"""The browser application: thin views over selectors (reads) and services (writes).

Every object is fetched through `request.workspace.dossier`, so a user never reaches
another dossier's data: its URLs answer 404.
"""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from invoicing import control, fr_ctc, links, selectors, services
from invoicing.entry_forms import InvoiceHeaderForm, line_formset
from invoicing.forms import ArticleForm, CompanySettingsForm, CustomerForm, ModuleForm
from invoicing.models import Article, Company, Customer, FinalInvoiceError, Invoice
from invoicing.preflight import PreflightError
from invoicing.templatetags.chorale import plain_decimal
from invoicing.totals import compute_totals
from invoicing.workspace import admin_required, select_workspace, workspace_required

LIST_PAGE_SIZE = 50
ARTICLES_EMBEDDED = 1000  # the entry screen carries the catalogue; beyond, it asks the server
BLANK_ROWS_NEW_INVOICE = 3
PLAN_WARNING_THRESHOLD = 10


# --- Home and workspace ----------------------------------------------------------------------


@workspace_required
def home(request: HttpRequest) -> HttpResponse:
    dossier = request.workspace.dossier
    year = timezone.localdate().year
    return render(
        request,
        "invoicing/home.html",
        {
            "plan": _plan_gauge(dossier, year),
            "submissions": selectors.latest_submissions(dossier),
            "recent_invoices": selectors.invoice_search(
                dossier, selectors.InvoiceFilters()
            ).select_related("customer")[:8],
            "provisional_count": Invoice.objects.filter(
                dossier=dossier, state=Invoice.State.PROVISIONAL
            ).count(),
        },
    )


def _plan_gauge(dossier, year: int) -> dict:
    used, allowance = selectors.plan_usage(dossier, year)
    remaining = max(allowance - used, 0)
    return {
        "year": year,
        "used": used,
        "allowance": allowance,
        "remaining": remaining,
        "percent": min(100, round(used * 100 / allowance)) if allowance else 100,
        "warning": remaining <= PLAN_WARNING_THRESHOLD,
        "exhausted": remaining == 0,
    }


@require_POST
@workspace_required
def workspace_switch(request: HttpRequest) -> HttpResponse:
    try:
        dossier_id = int(request.POST.get("dossier", ""))
        company_id = int(request.POST.get("company") or 0) or None
    except ValueError as exc:
        raise Http404 from exc
    if dossier_id != request.workspace.dossier.pk:
        company_id = None  # the company list shown belonged to the previous dossier
    if not select_workspace(request, dossier_id=dossier_id, company_id=company_id):
        raise Http404
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("home")
    return redirect(target)


# --- Customers and articles ------------------------------------------------------------------


def _posted(request: HttpRequest):
    """The POST data, or None on GET (an empty POST, e.g. an unticked switch, is still a POST)."""
    return request.POST if request.method == "POST" else None


def _paginate(request: HttpRequest, qs):
    return Paginator(qs, LIST_PAGE_SIZE).get_page(request.GET.get("page"))


@workspace_required
def customer_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    page = _paginate(request, selectors.customer_search(request.workspace.dossier, q))
    return render(request, "invoicing/customer_list.html", {"page": page, "q": q})


@workspace_required
def customer_create(request: HttpRequest) -> HttpResponse:
    return _customer_form(request, Customer(kind=Customer.Kind.COMPANY))


@workspace_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk, dossier=request.workspace.dossier)
    return _customer_form(request, customer)


def _customer_form(request: HttpRequest, customer: Customer) -> HttpResponse:
    dossier = request.workspace.dossier
    form = CustomerForm(_posted(request), instance=customer, dossier=dossier)
    if request.method == "POST" and form.is_valid():
        created = customer.pk is None
        customer = form.save()
        messages.success(
            request,
            (_("Client « %(name)s » créé.") if created else _("Client « %(name)s » enregistré."))
            % {"name": customer.name},
        )
        return redirect("customer_list")
    return render(request, "invoicing/customer_form.html", {"form": form, "customer": customer})


@workspace_required
def article_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    page = _paginate(request, selectors.article_search(request.workspace.dossier, q))
    return render(request, "invoicing/article_list.html", {"page": page, "q": q})


@workspace_required
def article_create(request: HttpRequest) -> HttpResponse:
    return _article_form(request, Article())


@workspace_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk, dossier=request.workspace.dossier)
    return _article_form(request, article)


def _article_form(request: HttpRequest, article: Article) -> HttpResponse:
    form = ArticleForm(_posted(request), instance=article, dossier=request.workspace.dossier)
    if request.method == "POST" and form.is_valid():
        created = article.pk is None
        article = form.save()
        messages.success(
            request,
            (_("Article « %(code)s » créé.") if created else _("Article « %(code)s » enregistré."))
            % {"code": article.code},
        )
        return redirect("article_list")
    return render(request, "invoicing/article_form.html", {"form": form, "article": article})


def _article_json(article: Article) -> dict:
    return {
        "code": article.code,
        "label": article.label,
        "unit": article.unit,
        "unit_price": str(article.unit_price),
        "vat_category": article.vat_category,
        "vat_rate": str(article.vat_rate),
        "exemption_reason": article.exemption_reason,
        "exemption_code": article.exemption_code,
        "nature": article.nature,
    }


@require_GET
@workspace_required
def article_lookup(request: HttpRequest) -> JsonResponse:
    """One article by code, for catalogues too large to embed in the entry screen."""
    code = request.GET.get("code", "").strip()
    article = Article.objects.filter(dossier=request.workspace.dossier, code__iexact=code).first()
    if article is None:
        return JsonResponse({"error": _("Article inconnu.")}, status=404)
    return JsonResponse(_article_json(article))


# --- Invoices --------------------------------------------------------------------------------


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Numéro ou client"), required=False)
    etat = forms.ChoiceField(
        label=gettext_lazy("État"),
        required=False,
        choices=[("", gettext_lazy("Tous")), *Invoice.State.choices],
    )
    type = forms.ChoiceField(
        label=gettext_lazy("Type"),
        required=False,
        choices=[("", gettext_lazy("Tous")), *Invoice.Kind.choices],
    )
    client = forms.ModelChoiceField(
        label=gettext_lazy("Client"),
        required=False,
        queryset=Customer.objects.none(),
        empty_label=gettext_lazy("Tous"),
    )
    du = forms.DateField(
        label=gettext_lazy("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    au = forms.DateField(
        label=gettext_lazy("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, dossier, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Customer.objects.filter(dossier=dossier).order_by(
            "name", "id"
        )

    def filters(self) -> selectors.InvoiceFilters:
        data = self.cleaned_data if self.is_valid() else {}
        customer = data.get("client")
        return selectors.InvoiceFilters(
            state=data.get("etat", ""),
            kind=data.get("type", ""),
            customer_id=customer.pk if customer else None,
            date_from=data.get("du"),
            date_to=data.get("au"),
            q=data.get("q", ""),
        )


@workspace_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    dossier = request.workspace.dossier
    filter_form = InvoiceFilterForm(request.GET, dossier=dossier)
    qs = selectors.invoice_search(dossier, filter_form.filters())
    page = selectors.invoice_page(
        qs, after=request.GET.get("apres", ""), before=request.GET.get("avant", "")
    )
    rows = [(invoice, compute_totals(invoice.lines.all())) for invoice in page.rows]
    return render(
        request,
        "invoicing/invoice_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "rows": rows,
            "send_selection_url": links.chorus_send_selection_url()
            if dossier.facturx_module_enabled
            else "",
        },
    )


def _articles_for_screen(dossier) -> list[dict]:
    return [
        _article_json(a)
        for a in Article.objects.filter(dossier=dossier).order_by("code")[:ARTICLES_EMBEDDED]
    ]


def _line_initial(invoice: Invoice) -> list[dict]:
    return [
        {
            "article": line.article.code if line.article else "",
            "label": line.label,
            "unit": line.unit,
            "quantity": plain_decimal(line.quantity),
            "unit_price": _trim(line.unit_price),
            "vat_rate": _trim(line.vat_rate),
            "vat_category": line.vat_category,
            "exemption_reason": line.exemption_reason,
            "exemption_code": line.exemption_code,
            "nature": line.nature,
        }
        for line in invoice.lines.select_related("article")
    ]


def _trim(value: Decimal) -> Decimal:
    """12.5000 -> 12.50, 10.0000 -> 10.00: cents at least, more only when typed."""
    trimmed = value.normalize()
    return trimmed if -trimmed.as_tuple().exponent > 2 else value.quantize(Decimal("0.01"))


def _entry_screen(request, *, invoice: Invoice | None, header_form, formset, status=200):
    dossier = request.workspace.dossier
    saved_totals = selectors.invoice_totals(invoice) if invoice and invoice.pk else None
    amounts = list(saved_totals.line_nets) if saved_totals and not formset.is_bound else []
    rows = [(form, amounts[i] if i < len(amounts) else None) for i, form in enumerate(formset)]
    send_url = ""
    if invoice and invoice.pk and dossier.facturx_module_enabled:
        send_url = links.chorus_send_url(invoice)
    checked = invoice is not None and invoice.pk is not None
    problems = (
        control.invoice_control(invoice, is_admin=request.workspace.is_admin) if checked else []
    )
    return render(
        request,
        "invoicing/invoice_entry.html",
        {
            "invoice": invoice,
            "header_form": header_form,
            "formset": formset,
            "rows": rows,
            "totals": saved_totals or compute_totals([]),
            "articles": _articles_for_screen(dossier),
            "send_url": send_url,
            "checked": checked,
            "problems": problems,
            "module_enabled": dossier.facturx_module_enabled,
            "chorus_submissions": selectors.invoice_submissions(invoice)
            if invoice and invoice.pk
            else [],
        },
        status=status,
    )


@workspace_required
def invoice_create(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    dossier = workspace.dossier
    if not workspace.companies:
        messages.error(request, _("Créez d'abord une entreprise dans les paramètres du dossier."))
        return redirect("home")
    if request.method == "POST":
        header_form = InvoiceHeaderForm(request.POST, dossier=dossier)
        formset = line_formset(dossier=dossier, data=request.POST)
        if header_form.is_valid() and formset.is_valid():
            try:
                invoice = services.invoice_create(
                    lines=formset.line_inputs(), **header_form.create_fields()
                )
            except ValidationError as exc:
                _attach_errors(header_form, exc)
            else:
                return _saved(request, invoice)
        return _entry_screen(request, invoice=None, header_form=header_form, formset=formset)
    initial = {"company": workspace.company}
    customer_id = request.GET.get("client", "")
    if customer_id.isdigit():
        customer = Customer.objects.filter(dossier=dossier, pk=customer_id).first()
        if customer is not None:  # the new invoice shows the customer's delivery address
            initial.update(customer=customer, **customer.delivery_address())
    header_form = InvoiceHeaderForm(initial=initial, dossier=dossier)
    formset = line_formset(dossier=dossier, blank_rows=BLANK_ROWS_NEW_INVOICE)
    return _entry_screen(request, invoice=None, header_form=header_form, formset=formset)


def _saved(request: HttpRequest, invoice: Invoice) -> HttpResponse:
    """After a save: « Valider la facture » (the same button saved first) checks, numbers
    and freezes it; « Enregistrer » just says it is saved."""
    if request.POST.get("action") != "validate":
        messages.success(request, _("Facture provisoire enregistrée."))
        return redirect("invoice_detail", pk=invoice.pk)
    try:
        final = services.invoice_finalise(invoice_id=invoice.pk, already_final_ok=False)
    except FinalInvoiceError:
        messages.error(request, _("Cette facture est déjà définitive."))
    except PreflightError:
        messages.error(
            request,
            _(
                "Facture enregistrée mais non validée : elle ne passe pas le contrôle (voir le "
                "panneau « Contrôle »). Elle reste provisoire, sans numéro."
            ),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(kind)s validée : n° %(number)s.")
            % {"kind": final.get_kind_display(), "number": final.number},
        )
    return redirect("invoice_detail", pk=invoice.pk)


def _attach_errors(form, exc: ValidationError) -> None:
    """Service errors go next to their fields when they name one, else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@workspace_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dossier = request.workspace.dossier
    invoice = get_object_or_404(
        Invoice.objects.select_related("company", "customer", "credited_invoice"),
        pk=pk,
        dossier=dossier,
    )
    if invoice.is_final:
        if request.method == "POST":
            messages.error(request, str(FinalInvoiceError().message))
        return _final_invoice(request, invoice)
    if request.method == "POST":
        header_form = InvoiceHeaderForm(request.POST, instance=invoice, dossier=dossier)
        formset = line_formset(dossier=dossier, data=request.POST)
        if header_form.is_valid() and formset.is_valid():
            try:
                services.invoice_update(
                    invoice=Invoice.objects.get(pk=invoice.pk),
                    lines=formset.line_inputs(),
                    **header_form.update_fields(),
                )
            except FinalInvoiceError:
                messages.error(request, _("Cette facture est devenue définitive entre-temps."))
                return redirect("invoice_detail", pk=invoice.pk)
            except ValidationError as exc:
                _attach_errors(header_form, exc)
            else:
                return _saved(request, invoice)
        return _entry_screen(request, invoice=invoice, header_form=header_form, formset=formset)
    header_form = InvoiceHeaderForm(instance=invoice, dossier=dossier)
    formset = line_formset(dossier=dossier, initial=_line_initial(invoice), blank_rows=1)
    return _entry_screen(request, invoice=invoice, header_form=header_form, formset=formset)


def _final_invoice(request: HttpRequest, invoice: Invoice) -> HttpResponse:
    lines = list(invoice.lines.all())
    totals = compute_totals(lines, already_paid=invoice.already_paid)
    category = fr_ctc.operation_category(line.nature for line in lines)
    return render(
        request,
        "invoicing/invoice_final.html",
        {
            "invoice": invoice,
            "lines": list(zip(lines, totals.line_nets, strict=True)),
            "totals": totals,
            "category": fr_ctc.CATEGORY_LABELS[category],
            "seller": invoice.seller_identity(),
            "buyer": invoice.buyer_identity(),
            "download_url": links.facturx_download_url(invoice),
            "pdf_url": links.pdf_download_url(invoice),
            "credit_notes": invoice.credit_notes.order_by("created_at"),
            "chorus_submissions": selectors.invoice_submissions(invoice),
        },
    )


# --- Settings (dossier administrators) -------------------------------------------------------


@admin_required
def settings_module(request: HttpRequest) -> HttpResponse:
    dossier = request.workspace.dossier
    form = ModuleForm(
        _posted(request), initial={"facturx_module_enabled": dossier.facturx_module_enabled}
    )
    if request.method == "POST" and form.is_valid():
        enabled = form.cleaned_data["facturx_module_enabled"]
        services.dossier_set_module(dossier=dossier, enabled=enabled)
        messages.success(
            request,
            _("Module « Émission Factur-X » activé.")
            if enabled
            else _("Module « Émission Factur-X » désactivé."),
        )
        return redirect("settings_module")
    return render(request, "invoicing/settings/module.html", {"form": form})


@admin_required
def settings_companies(request: HttpRequest) -> HttpResponse:
    return render(
        request, "invoicing/settings/companies.html", {"companies": request.workspace.companies}
    )


@sensitive_post_parameters("chorus_password", "piste_client_secret")
@admin_required
def settings_company_create(request: HttpRequest) -> HttpResponse:
    return _company_form(request, Company(dossier=request.workspace.dossier))


@sensitive_post_parameters("chorus_password", "piste_client_secret")
@admin_required
def settings_company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk, dossier=request.workspace.dossier)
    return _company_form(request, company)


def _company_form(request: HttpRequest, company: Company) -> HttpResponse:
    form = CompanySettingsForm(_posted(request), instance=company)
    if request.method == "POST" and form.is_valid():
        company = form.save()
        messages.success(request, _("Entreprise « %(name)s » enregistrée.") % {"name": company})
        return redirect("settings_company_edit", pk=company.pk)
    return render(
        request, "invoicing/settings/company_form.html", {"form": form, "company": company}
    )


@admin_required
def settings_plan(request: HttpRequest) -> HttpResponse:
    dossier = request.workspace.dossier
    this_year = timezone.localdate().year
    years = [_plan_gauge(dossier, year) for year in range(this_year, this_year - 3, -1)]
    return render(request, "invoicing/settings/plan.html", {"years": years})
