"""The forms of the invoice entry screen: its header and the grid of lines."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoicing import fr_ctc, services, validators
from invoicing.forms import DeliveryAddressMixin, default_delivery_country, exemption_code_field
from invoicing.forms import exemption_data as _exemption_data
from invoicing.fr_ctc import Nature
from invoicing.models import (
    EXEMPT_CATEGORIES,
    Article,
    Company,
    Customer,
    Dossier,
    Invoice,
    Unit,
    VatCategory,
)
from invoicing.services import LineInput
from invoicing.text import validate_invoice_text

# The usual texts of the codes: a reason that is one of them follows the code chosen.
USUAL_TEXTS = frozenset(text for _category, text in fr_ctc.EXEMPTIONS.values())


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class InvoiceHeaderForm(DeliveryAddressMixin, forms.ModelForm):
    class Meta:
        model = Invoice
        fields = [
            "company",
            "customer",
            "buyer_reference",
            "order_reference",
            "delivery_date",
            "due_date",
            "payment_terms",
            "note",
            "already_paid",
            *Invoice.DELIVERY_FIELDS,
        ]
        widgets = {
            "delivery_date": DateInput(),
            "due_date": DateInput(),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, dossier: Dossier, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].label = _("Société")
        self.fields["customer"].label = _("Client")
        self.fields["company"].queryset = Company.objects.filter(dossier=dossier)
        self.fields["company"].empty_label = None
        customers = self.fields["customer"]
        customers.queryset = Customer.objects.filter(dossier=dossier).order_by("name", "id")
        customers.label_from_instance = lambda c: " – ".join(
            part for part in (c.code, c.name, f"{c.postcode} {c.city}".strip()) if part
        )
        customers.empty_label = _("— Choisir un client —")
        customers.error_messages["required"] = _("Choisissez le client de la facture.")
        self.fields["already_paid"].label = _("Facture déjà payée")
        self.fields["already_paid"].help_text = _("Tout est réglé : net à payer nul.")

    def clean(self):
        cleaned = super().clean()
        customer = cleaned.get("customer")
        default_delivery_country(cleaned, customer.country_code if customer else "")
        return cleaned

    def customer_deliveries(self) -> dict:
        """The customers' default delivery addresses, for the script that pre-fills them."""
        filled = ~Q(delivery_address_line1="") | ~Q(delivery_postcode="") | ~Q(delivery_city="")
        customers = self.fields["customer"].queryset.filter(filled)
        rows = customers.values("pk", *Invoice.DELIVERY_FIELDS)
        return {str(row.pop("pk")): row for row in rows}

    def create_fields(self) -> dict:
        """services.invoice_create's arguments: a blank delivery address is the customer's."""
        fields = dict(self.cleaned_data)
        delivery = {name: fields.pop(name) for name in Invoice.DELIVERY_FIELDS}
        fields["delivery_address"] = delivery if any(delivery.values()) else None
        return fields

    def update_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in services.INVOICE_EDITABLE_FIELDS}


class InvoiceLineForm(forms.Form):
    """One row of the entry grid. A row left blank is ignored."""

    # Pre-filled (from the article, the VAT category), so they never make a row non-blank.
    PREFILLED = frozenset({"nature", "exemption_code"})

    article = forms.CharField(label=_("Article"), required=False, max_length=30)
    label = forms.CharField(
        label=_("Libellé court"), max_length=500, validators=[validate_invoice_text]
    )
    unit = forms.ChoiceField(label=_("Unité"), choices=Unit.choices, initial=Unit.PIECE)
    quantity = forms.DecimalField(
        label=_("Quantité"), max_digits=15, decimal_places=4, localize=True
    )
    unit_price = forms.DecimalField(
        label=_("Pu HT"), max_digits=15, decimal_places=4, localize=True
    )
    nature = forms.ChoiceField(
        label=_("Nature"),
        choices=[(Nature.GOODS, _("Bien")), (Nature.SERVICES, _("Service"))],
        initial=Nature.SERVICES,
        required=False,
    )
    vat_rate = forms.DecimalField(
        label=_("Taux TVA"),
        max_digits=5,
        decimal_places=2,
        localize=True,
        initial=Decimal("20.00"),
    )
    vat_category = forms.ChoiceField(
        label=_("Catégorie de TVA"),
        choices=VatCategory.choices,
        initial=VatCategory.STANDARD,
        widget=forms.HiddenInput,
    )
    exemption_code = exemption_code_field(label=_("Exonération"))
    exemption_reason = forms.CharField(
        label=_("Motif d'exonération"),
        required=False,
        max_length=200,
        widget=forms.HiddenInput,
        validators=[validate_invoice_text],
    )

    def __init__(self, *args, dossier: Dossier, **kwargs):
        self.dossier = dossier
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs.setdefault("class", f"cell cell-{name.replace('_', '-')}")
        self.fields["article"].widget.attrs["list"] = "articles-datalist"
        self.fields["article"].widget.attrs["autocomplete"] = "off"
        for name in ("quantity", "unit_price", "vat_rate"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        self.fields["label"].error_messages["required"] = _("Saisissez un libellé.")
        self.fields["quantity"].error_messages["required"] = _("Saisissez une quantité.")
        self.fields["unit_price"].error_messages["required"] = _("Saisissez un prix.")

    def has_changed(self) -> bool:
        return any(name not in self.PREFILLED for name in self.changed_data)

    @property
    def is_exempt(self) -> bool:
        """The exemption code is shown only for an exempt VAT category."""
        return self["vat_category"].value() in EXEMPT_CATEGORIES

    def clean_article(self) -> Article | None:
        code = self.cleaned_data.get("article", "").strip()
        if not code:
            return None
        article = Article.objects.filter(dossier=self.dossier, code__iexact=code).first()
        if article is None:
            raise ValidationError(
                _("Article « %(code)s » inconnu."), params={"code": code}, code="unknown_article"
            )
        return article

    def clean(self):
        cleaned = super().clean()
        rate = cleaned.get("vat_rate")
        category = cleaned.get("vat_category") or VatCategory.STANDARD
        article = cleaned.get("article")
        cleaned["nature"] = cleaned.get("nature") or (
            article.nature if article else Nature.SERVICES
        )
        code = self._exemption_code(cleaned.get("exemption_code", ""), category, article)
        reason = cleaned.get("exemption_reason", "")
        if code and reason in USUAL_TEXTS:
            reason = fr_ctc.exemption_text(code)  # the code was changed after the article's
        cleaned["exemption_code"], cleaned["exemption_reason"] = code, reason
        if rate is not None:
            try:
                cleaned["exemption_reason"] = validators.validate_vat(category, rate, reason, code)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        self.add_error(
                            "exemption_code" if field == "exemption_code" else "vat_rate", message
                        )
        if cleaned.get("quantity") is not None and cleaned["quantity"] == 0:
            self.add_error("quantity", _("La quantité ne peut pas être nulle."))
        if cleaned.get("unit_price") is not None and cleaned["unit_price"] < 0:
            self.add_error("unit_price", _("Le prix ne peut pas être négatif."))
        return cleaned

    @staticmethod
    def _exemption_code(code: str, category: str, article: Article | None) -> str:
        """The code chosen, else the article's, else the category's usual one."""
        if category not in EXEMPT_CATEGORIES:
            return ""  # its select is hidden: a code left from an earlier article is moot
        if not code and article is not None and article.vat_category == category:
            code = article.exemption_code
        return code or fr_ctc.DEFAULT_CODES.get(category, "")

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            label=data["label"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            unit=data["unit"],
            vat_category=data.get("vat_category") or VatCategory.STANDARD,
            vat_rate=data["vat_rate"],
            exemption_reason=data.get("exemption_reason", ""),
            exemption_code=data.get("exemption_code", ""),
            nature=data.get("nature") or Nature.SERVICES,
            article=data.get("article"),
        )


class BaseLineFormSet(forms.BaseFormSet):
    def initial_form_count(self) -> int:
        # Every row may be left blank (and is then ignored); the grid replaces all lines.
        return 0

    def line_inputs(self) -> list[LineInput]:
        return [form.line_input() for form in self.forms if form.has_changed()]

    def clean(self):
        if any(self.errors):
            return
        if not any(form.has_changed() for form in self.forms):
            raise ValidationError(_("Une facture doit avoir au moins une ligne."), code="no_line")

    def category_label(self) -> str:
        """The category of the operation (goods, services, mixed) of the rows filled in."""
        natures = [
            form["nature"].value() or Nature.SERVICES
            for form in self.forms
            if (form.has_changed() if self.is_bound else form.initial)
        ]
        return fr_ctc.CATEGORY_LABELS[fr_ctc.operation_category(natures)] if natures else ""

    def category_labels(self) -> dict:
        return fr_ctc.CATEGORY_LABELS

    def exemption_data(self) -> dict:
        return _exemption_data()


def line_formset(*, dossier: Dossier, data=None, initial=None, blank_rows: int = 0):
    initial = initial or []
    formset_class = forms.formset_factory(
        InvoiceLineForm,
        formset=BaseLineFormSet,
        extra=len(initial) + blank_rows,
        max_num=500,
        validate_max=True,
    )
    return formset_class(
        data=data, initial=initial or None, prefix="lines", form_kwargs={"dossier": dossier}
    )
