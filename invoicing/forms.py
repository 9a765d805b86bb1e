import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from invoicing import fr_ctc, validators
from invoicing.models import EXEMPT_CATEGORIES, Article, Company, Customer, Dossier, VatCategory


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

# The identification zone of businesses (the model's CheckConstraint): never for individuals.
CHORUS_ZONE_FIELDS = (
    "chorus_enabled",
    "siret",
    "siren",
    "electronic_address",
    "default_service_code",
    "default_engagement_number",
)


def _exemption_code_choices() -> list:
    """The VATEX codes (BT-121), grouped under the VAT category each goes with."""
    groups: dict[str, list] = {}
    for code, (category, _text) in fr_ctc.EXEMPTIONS.items():
        label = format_lazy("{} ({})", code.label, code.value)
        groups.setdefault(category, []).append((code.value, label))
    return [("", _("— Aucun code —"))] + [
        (VatCategory(category).label, options) for category, options in groups.items()
    ]


EXEMPTION_CODE_CHOICES = _exemption_code_choices()


def exemption_data() -> dict:
    """What the screens' scripts need to pre-fill a code and its usual text (json_script)."""
    return {
        "codes": {code.value: list(entry) for code, entry in fr_ctc.EXEMPTIONS.items()},
        "defaults": {category: code.value for category, code in fr_ctc.DEFAULT_CODES.items()},
        "exempt": sorted(EXEMPT_CATEGORIES),
    }


def exemption_code_field(**kwargs) -> forms.ChoiceField:
    kwargs.setdefault("label", _("code d'exonération"))
    return forms.ChoiceField(choices=EXEMPTION_CODE_CHOICES, required=False, **kwargs)


def derive_placeholder(field: forms.Field, value: str, *sources: str, public: str = "") -> None:
    """A blank identifier takes a value derived from others (SIREN from the SIRET, the
    directory address from the SIREN): show it, and let chorale.js follow what is typed."""
    field.widget.attrs["placeholder"] = value
    field.widget.attrs["data-derive-from"] = " ".join(f"id_{name}" for name in sources)
    if public:
        field.widget.attrs["data-derive-public"] = f"id_{public}"


def default_delivery_country(cleaned: dict, country: str) -> None:
    """A delivery address needs its country (BT-80, BR-57): the buyer's when left blank."""
    filled = any(cleaned.get(name) for name in Customer.DELIVERY_FIELDS)
    if filled and not cleaned.get("delivery_country_code"):
        cleaned["delivery_country_code"] = (country or "FR").upper()


def country_code(value: str) -> str:
    value = (value or "").strip().upper()
    if value and not re.fullmatch(r"[A-Z]{2}", value):
        raise ValidationError(_("Code pays ISO à deux lettres attendu (par exemple FR, BE)."))
    return value


def _digits_only(value: str) -> str:
    """SIRET and SIREN are often typed in groups ("732 829 320 00074")."""
    return re.sub(r"[\s.\-]", "", value or "")


class DeliveryAddressMixin:
    """On a ModelForm of a DeliveryAddress model (customer, invoice): the country code in
    capitals, "FR" as its hint, and the folded fieldset open when it holds something."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delivery_country_code"].widget.attrs["placeholder"] = "FR"

    def clean_delivery_country_code(self) -> str:
        return country_code(self.cleaned_data.get("delivery_country_code", ""))

    @property
    def delivery_open(self) -> bool:
        """The folded delivery address opens when it holds something or an error."""
        return any(
            self[name].value() or self[name].errors for name in self._meta.model.DELIVERY_FIELDS
        )


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


class CustomerForm(DeliveryAddressMixin, DossierScopedForm):
    unique_code_message = _("Ce code client est déjà utilisé dans le dossier.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _allow_grouped_digits(self, "siret", "siren")
        customer = self.instance
        derive_placeholder(self.fields["siren"], customer.legal_siren, "siret")
        derive_placeholder(
            self.fields["electronic_address"],
            fr_ctc.default_electronic_address(
                customer.legal_siren, customer.siret, public=customer.chorus_enabled
            ),
            "siren",
            "siret",
            public="chorus_enabled",
        )

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
            *Customer.DELIVERY_FIELDS,
        ]

    def clean_siret(self) -> str:
        siret = _digits_only(self.cleaned_data.get("siret", ""))
        if siret:
            validators.validate_siret(siret)
        return siret

    def clean_siren(self) -> str:
        siren = _digits_only(self.cleaned_data.get("siren", ""))
        if siren:
            validators.validate_siren(siren)
        return siren

    def clean_electronic_address(self) -> str:
        return (self.cleaned_data.get("electronic_address") or "").strip()

    def clean_country_code(self) -> str:
        return (self.cleaned_data.get("country_code") or "").upper()

    def clean(self):
        cleaned = super().clean()
        default_delivery_country(cleaned, cleaned.get("country_code", ""))
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

    exemption_code = exemption_code_field(
        help_text=_("Code VATEX de la facture électronique (BT-121). Motif laissé vide : le texte "
                    "usuel du code."),
    )  # fmt: skip

    class Meta:
        model = Article
        fields = [
            "code",
            "label",
            "unit",
            "unit_price",
            "nature",
            "vat_category",
            "vat_rate",
            "exemption_code",
            "exemption_reason",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exemption_code"].widget.attrs["data-exemption-code"] = "id_exemption_reason"
        self.fields["nature"].help_text = _(
            "Catégorie de l'opération, mention obligatoire depuis le 1er septembre 2026."
        )

    def exemption_data(self) -> dict:
        return exemption_data()

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("exemption_code")
        if code and not (cleaned.get("exemption_reason") or "").strip():
            # The model's clean does the same; here the form shows it if it comes back.
            cleaned["exemption_reason"] = fr_ctc.exemption_text(code)
            self.data = self.data.copy()
            self.data[self.add_prefix("exemption_reason")] = cleaned["exemption_reason"]
        return cleaned


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
            "electronic_address",
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
            "vat_on_debits",
            "invoice_number_pattern",
            "credit_note_number_pattern",
            "facturx_profile",
            "chorus_legacy_layout",
            "chorus_login",
            "chorus_password",
            "chorus_environment",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _allow_grouped_digits(self, "siren", "siret")
        derive_placeholder(
            self.fields["electronic_address"],
            fr_ctc.default_electronic_address(self.instance.siren),
            "siren",
        )

    def clean_electronic_address(self) -> str:
        return (self.cleaned_data.get("electronic_address") or "").strip()

    def clean_siren(self) -> str:
        return _digits_only(self.cleaned_data.get("siren", ""))

    def clean_siret(self) -> str:
        return _digits_only(self.cleaned_data.get("siret", ""))

    def clean_iban(self) -> str:
        return _digits_only(self.cleaned_data.get("iban", "")).upper()

    def clean_vat_number(self) -> str:
        return _digits_only(self.cleaned_data.get("vat_number", "")).upper()
