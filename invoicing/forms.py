import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from invoicing import validators
from invoicing.models import Article, Company, Customer, Dossier, Invoice, Unit, VatCategory
from invoicing.services import LineInput
from invoicing.text import validate_invoice_text


class SecretField(forms.CharField):
    """A write-only secret: never rendered back; left empty, the stored value is kept."""

    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", _("Laissez vide pour conserver la valeur enregistrée (jamais affichée).")
        )
        super().__init__(**kwargs)

    def has_changed(self, initial, data) -> bool:
        return bool(data)

    def bound_data(self, data, initial):
        return data

    def prepare_value(self, value):
        return ""


class KeepSecretsMixin:
    """On a ModelForm: an empty SecretField keeps the instance's stored secret."""

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, SecretField) and not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


# --- Forms of the browser application -------------------------------------------------------

CHORUS_ZONE_FIELDS = (
    "chorus_enabled",
    "siret",
    "default_service_code",
    "default_engagement_number",
)


def _digits_only(value: str) -> str:
    """SIRET and SIREN are often typed in groups ("732 829 320 00074")."""
    return re.sub(r"[\s.\-]", "", value or "")


class DossierScopedForm(forms.ModelForm):
    """A ModelForm for an object of one dossier; unique codes are checked within it."""

    unique_code_message = ""

    def __init__(self, *args, dossier: Dossier, **kwargs):
        self.dossier = dossier
        super().__init__(*args, **kwargs)
        self.instance.dossier = dossier

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        clash = type(self.instance).objects.filter(dossier=self.dossier, code__iexact=code)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(self.unique_code_message, code="duplicate_code")
        return code


def _allow_grouped_digits(form: forms.BaseForm, *names: str) -> None:
    """Let "110 006 012 00014" be typed (or pasted) whole: spaces are removed on clean."""
    for name in names:
        field = form.fields[name]
        field.max_length = 20
        field.widget.attrs["maxlength"] = "20"
        field.widget.attrs["inputmode"] = "numeric"
        field.validators = [v for v in field.validators if not hasattr(v, "limit_value")]


class CustomerForm(DossierScopedForm):
    unique_code_message = _("Ce code client est déjà utilisé dans le dossier.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _allow_grouped_digits(self, "siret")

    class Meta:
        model = Customer
        fields = [
            "code",
            "kind",
            "name",
            "email",
            "vat_number",
            "address_line1",
            "address_line2",
            "postcode",
            "city",
            "country_code",
            *CHORUS_ZONE_FIELDS,
        ]

    def clean_siret(self) -> str:
        siret = _digits_only(self.cleaned_data.get("siret", ""))
        if siret:
            validators.validate_siret(siret)
        return siret

    def clean_country_code(self) -> str:
        return (self.cleaned_data.get("country_code") or "").upper()

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Customer.Kind.INDIVIDUAL:
            filled = [name for name in CHORUS_ZONE_FIELDS if cleaned.get(name)]
            if filled:
                message = _(
                    "La zone Chorus Pro n'existe que pour les clients de type « Société » ou "
                    "« Entreprise individuelle » : videz-la ou changez le type de client."
                )
                self.add_error("kind", message)
                for name in filled:
                    self.add_error(name, _("Sans objet pour un particulier."))
        return cleaned


class ArticleForm(DossierScopedForm):
    unique_code_message = _("Ce code article est déjà utilisé dans le dossier.")

    unit_price = forms.DecimalField(
        label=_("prix unitaire HT"), max_digits=15, decimal_places=4, localize=True
    )
    vat_rate = forms.DecimalField(
        label=_("taux de TVA (%)"),
        max_digits=5,
        decimal_places=2,
        localize=True,
        initial=Decimal("20.00"),
    )

    class Meta:
        model = Article
        fields = [
            "code",
            "label",
            "unit",
            "unit_price",
            "vat_category",
            "vat_rate",
            "exemption_reason",
        ]


class ModuleForm(forms.Form):
    facturx_module_enabled = forms.BooleanField(
        label=_("Émission Factur-X"),
        required=False,
        help_text=_(
            "Tant que ce module est désactivé, aucune action Chorus Pro n'est proposée "
            "(ni envoi, ni menu contextuel)."
        ),
    )


class CompanySettingsForm(KeepSecretsMixin, forms.ModelForm):
    chorus_password = SecretField(label=_("mot de passe du compte technique"))
    share_capital = forms.DecimalField(
        label=_("capital social (EUR)"),
        max_digits=15,
        decimal_places=2,
        required=False,
        localize=True,
    )
    late_penalty_rate = forms.DecimalField(
        label=_("taux des pénalités de retard (%)"),
        max_digits=5,
        decimal_places=2,
        localize=True,
    )

    class Meta:
        model = Company
        fields = [
            "name",
            "trade_name",
            "legal_form",
            "share_capital",
            "siren",
            "siret",
            "vat_number",
            "vat_regime",
            "tax_registration_id",
            "rcs",
            "address_line1",
            "address_line2",
            "postcode",
            "city",
            "country_code",
            "email",
            "phone",
            "iban",
            "bic",
            "payment_terms_days",
            "late_penalty_rate",
            "invoice_number_pattern",
            "credit_note_number_pattern",
            "facturx_profile",
            "chorus_login",
            "chorus_password",
            "chorus_environment",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _allow_grouped_digits(self, "siren", "siret")

    def clean_siren(self) -> str:
        return _digits_only(self.cleaned_data.get("siren", ""))

    def clean_siret(self) -> str:
        return _digits_only(self.cleaned_data.get("siret", ""))

    def clean_iban(self) -> str:
        return _digits_only(self.cleaned_data.get("iban", "")).upper()

    def clean_vat_number(self) -> str:
        return _digits_only(self.cleaned_data.get("vat_number", "")).upper()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class InvoiceHeaderForm(forms.ModelForm):
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


class InvoiceLineForm(forms.Form):
    """One row of the entry grid. A row left blank is ignored."""

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
        if rate is not None:
            try:
                validators.validate_vat(category, rate, cleaned.get("exemption_reason", ""))
            except ValidationError as exc:
                for messages in exc.message_dict.values():
                    for message in messages:
                        self.add_error("vat_rate", message)
        if cleaned.get("quantity") is not None and cleaned["quantity"] == 0:
            self.add_error("quantity", _("La quantité ne peut pas être nulle."))
        if cleaned.get("unit_price") is not None and cleaned["unit_price"] < 0:
            self.add_error("unit_price", _("Le prix ne peut pas être négatif."))
        return cleaned

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
