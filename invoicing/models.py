"""Dossiers, companies, customers, articles, invoices and their lines.

A final invoice is frozen forever: the guards below refuse every write path that reaches a
final invoice or its lines (instance save/delete, queryset update/delete, bulk writes).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoicing import fr_ctc, validators
from invoicing.crypto import EncryptedTextField
from invoicing.text import validate_invoice_text


class FinalInvoiceError(ValidationError):
    """Raised on any attempt to change or delete a final invoice or its lines."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _("Cette facture est définitive : elle ne peut plus être modifiée ni supprimée.")
        )


class Dossier(models.Model):
    """The tenant: users, one or more companies, and one Chorus Pro sending plan for all."""

    name = models.CharField(_("nom"), max_length=200)
    facturx_module_enabled = models.BooleanField(
        _("module « Émission Factur-X »"),
        default=False,
        help_text=_("Option de licence : active l'envoi des factures vers Chorus Pro."),
    )
    chorus_yearly_allowance = models.PositiveIntegerField(
        _("forfait annuel d'envois Chorus Pro"),
        default=0,
        help_text=_("Nombre de factures que le dossier peut déposer par année civile."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrateur du dossier")
        MEMBER = "member", _("Utilisateur")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        constraints = [
            models.UniqueConstraint(fields=["user", "dossier"], name="one_membership_per_dossier")
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.dossier} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Address(models.Model):
    """Postal address fields shared by companies and customers (EN 16931 BG-5 / BG-8)."""

    address_line1 = models.CharField(
        _("adresse"), max_length=200, validators=[validate_invoice_text]
    )
    address_line2 = models.CharField(
        _("complément d'adresse"), max_length=200, blank=True, validators=[validate_invoice_text]
    )
    postcode = models.CharField(_("code postal"), max_length=20, validators=[validate_invoice_text])
    city = models.CharField(_("ville"), max_length=100, validators=[validate_invoice_text])
    country_code = models.CharField(_("pays (code ISO)"), max_length=2, default="FR")

    class Meta:
        abstract = True


class DeliveryAddress(models.Model):
    """Where the goods go or the service is done (BG-13 / BG-15), when not the buyer's address.

    Empty: the buyer's own address. A mandatory mention since 1 Sept 2026 when it differs.
    """

    delivery_name = models.CharField(
        _("livraison : nom du lieu"), max_length=200, blank=True, validators=[validate_invoice_text]
    )
    delivery_address_line1 = models.CharField(
        _("livraison : adresse"), max_length=200, blank=True, validators=[validate_invoice_text]
    )
    delivery_address_line2 = models.CharField(
        _("livraison : complément d'adresse"),
        max_length=200,
        blank=True,
        validators=[validate_invoice_text],
    )
    delivery_postcode = models.CharField(
        _("livraison : code postal"), max_length=20, blank=True, validators=[validate_invoice_text]
    )
    delivery_city = models.CharField(
        _("livraison : ville"), max_length=100, blank=True, validators=[validate_invoice_text]
    )
    delivery_country_code = models.CharField(
        _("livraison : pays (code ISO)"), max_length=2, blank=True
    )

    DELIVERY_FIELDS = (
        "delivery_name",
        "delivery_address_line1",
        "delivery_address_line2",
        "delivery_postcode",
        "delivery_city",
        "delivery_country_code",
    )

    class Meta:
        abstract = True

    @property
    def has_delivery_address(self) -> bool:
        return bool(self.delivery_address_line1 or self.delivery_city or self.delivery_postcode)

    def delivery_address(self) -> dict:
        return {name: getattr(self, name) for name in self.DELIVERY_FIELDS}

    def clean_delivery_address(self) -> dict:
        """Errors of a delivery address given in part (it needs address, postcode, city)."""
        if not (self.has_delivery_address or self.delivery_name):
            return {}
        message = _("Complétez l'adresse de livraison (adresse, code postal et ville).")
        return {
            name: message
            for name in ("delivery_address_line1", "delivery_postcode", "delivery_city")
            if not getattr(self, name)
        }


class Company(Address):
    """A selling company of a dossier: legal identity, bank details, Chorus Pro account."""

    class VatRegime(models.TextChoices):
        NORMAL = "normal", _("Assujetti à la TVA")
        FRANCHISE = "franchise", _("Franchise en base (art. 293 B du CGI)")

    class ChorusEnvironment(models.TextChoices):
        QUALIFICATION = "qualification", _("Qualification (essais)")
        PRODUCTION = "production", _("Production")

    class FacturxProfile(models.TextChoices):
        BASIC = "BASIC", "BASIC"
        EN16931 = "EN 16931", "EN 16931"
        EXTENDED = "EXTENDED", "EXTENDED"

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="companies")
    name = models.CharField(_("raison sociale"), max_length=200, validators=[validate_invoice_text])
    trade_name = models.CharField(
        _("nom commercial"), max_length=200, blank=True, validators=[validate_invoice_text]
    )
    legal_form = models.CharField(
        _("forme juridique"), max_length=50, blank=True, validators=[validate_invoice_text]
    )
    share_capital = models.DecimalField(
        _("capital social (EUR)"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    siren = models.CharField(_("SIREN"), max_length=9, validators=[validators.validate_siren])
    siret = models.CharField(_("SIRET"), max_length=14, validators=[validators.validate_siret])
    vat_number = models.CharField(
        _("n° de TVA intracommunautaire"),
        max_length=13,
        blank=True,
        validators=[validators.validate_fr_vat],
    )
    vat_regime = models.CharField(
        _("régime de TVA"), max_length=10, choices=VatRegime.choices, default=VatRegime.NORMAL
    )
    # BT-32: needed when the seller has no VAT number (franchise, art. 293 B CGI) and
    # invoices VAT-exempt lines (EN 16931 BR-E-02, BR-S-02).
    tax_registration_id = models.CharField(
        _("identifiant fiscal (sans n° de TVA)"),
        max_length=50,
        blank=True,
        help_text=_("Pour une entreprise sans numéro de TVA : numéro fiscal du vendeur (BT-32)."),
    )
    vat_on_debits = models.BooleanField(
        _("option pour le paiement de la TVA d'après les débits"),
        default=False,
        help_text=_(
            "Mention obligatoire depuis le 1er septembre 2026 pour les entreprises qui ont "
            "opté pour les débits (prestations de services)."
        ),
    )
    electronic_address = models.CharField(
        _("adresse électronique de facturation"),
        max_length=125,
        blank=True,
        validators=[fr_ctc.validate_electronic_address],
        help_text=_("Adresse de l'annuaire (BT-34). Vide : le SIREN de l'entreprise."),
    )
    chorus_legacy_layout = models.BooleanField(
        _("Factur-X au format historique Chorus Pro"),
        default=False,
        help_text=_(
            "Déconseillé : SIRET au lieu du SIREN dans l'identifiant légal et pas de cadre de "
            "facturation ; le fichier ne respecte pas les règles françaises de 2026 (BR-FR)."
        ),
    )
    rcs = models.CharField(
        _("RCS (ville d'immatriculation)"),
        max_length=100,
        blank=True,
        validators=[validate_invoice_text],
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(
        _("téléphone"), max_length=30, blank=True, validators=[validate_invoice_text]
    )
    iban = models.CharField(
        _("IBAN"), max_length=34, blank=True, validators=[validators.validate_iban]
    )
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("délai de paiement (jours)"), default=30
    )
    late_penalty_rate = models.DecimalField(
        _("taux des pénalités de retard (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("12.15"),
        help_text=_("Taux annuel appliqué en cas de retard de paiement."),
    )
    invoice_number_pattern = models.CharField(
        _("modèle de numéro de facture"),
        max_length=50,
        default="FA{year}-{number:05d}",
        validators=[validators.validate_number_pattern],
    )
    credit_note_number_pattern = models.CharField(
        _("modèle de numéro d'avoir"),
        max_length=50,
        default="AV{year}-{number:05d}",
        validators=[validators.validate_number_pattern],
    )
    facturx_profile = models.CharField(
        _("profil Factur-X"),
        max_length=10,
        choices=FacturxProfile.choices,
        default=FacturxProfile.EN16931,
    )
    chorus_login = models.CharField(
        _("login du compte technique Chorus Pro"),
        max_length=200,
        blank=True,
        help_text=_("L'e-mail du compte technique, par exemple TECH_…@cpp2017.fr."),
    )
    chorus_password = EncryptedTextField(_("mot de passe du compte technique"), blank=True)
    chorus_environment = models.CharField(
        _("environnement Chorus Pro"),
        max_length=15,
        choices=ChorusEnvironment.choices,
        default=ChorusEnvironment.QUALIFICATION,
    )
    piste_client_id = models.CharField(
        _("client id PISTE (facultatif)"),
        max_length=200,
        blank=True,
        help_text=_("Laisser vide pour utiliser l'application PISTE du serveur."),
    )
    piste_client_secret = EncryptedTextField(_("client secret PISTE (facultatif)"), blank=True)

    class Meta:
        verbose_name = _("entreprise")
        verbose_name_plural = _("entreprises")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.siren and self.siret and not self.siret.startswith(self.siren):
            errors["siret"] = _("Le SIRET doit commencer par le SIREN de l'entreprise.")
        if self.electronic_address and not self.electronic_address.startswith(self.siren):
            errors["electronic_address"] = _(
                "L'adresse électronique de facturation doit commencer par le SIREN de l'entreprise."
            )
        if self.vat_regime == self.VatRegime.NORMAL and not self.vat_number:
            errors["vat_number"] = _(
                "Un numéro de TVA est obligatoire pour une entreprise assujettie à la TVA."
            )
        try:
            clash = validators.number_patterns_overlap(
                self.invoice_number_pattern, self.credit_note_number_pattern
            )
        except ValidationError:  # an invalid pattern: its field validator says why
            clash = None
        if clash:
            # Invoices and credit notes share the company's numbers (unique constraint).
            errors["credit_note_number_pattern"] = _(
                "Ce modèle peut donner le même numéro qu'une facture (par exemple "
                "« %(number)s ») : factures et avoirs partagent la numérotation de l'entreprise ; "
                "choisissez un autre préfixe, par exemple AV{year}-{number:05d}."
            ) % {"number": clash}
        if errors:
            raise ValidationError(errors)

    @property
    def has_chorus_credentials(self) -> bool:
        return bool(self.chorus_login and self.chorus_password)

    @property
    def secrets_to_reenter(self) -> list[str]:
        """Labels of the stored secrets no configured key decrypts (« à ressaisir »)."""
        return [
            str(self._meta.get_field(name).verbose_name)
            for name in ("chorus_password", "piste_client_secret")
            if getattr(self, name).unreadable
        ]

    def identity(self) -> dict:
        """The seller's identity as printed on an invoice (frozen at finalisation)."""
        return {
            "name": self.name,
            "trade_name": self.trade_name,
            "legal_form": self.legal_form,
            "share_capital": str(self.share_capital) if self.share_capital is not None else "",
            "siren": self.siren,
            "siret": self.siret,
            "vat_number": self.vat_number,
            "vat_regime": self.vat_regime,
            "tax_registration_id": self.tax_registration_id,
            "rcs": self.rcs,
            "email": self.email,
            "phone": self.phone,
            "electronic_address": self.electronic_address
            or fr_ctc.default_electronic_address(self.siren),
            "vat_on_debits": self.vat_on_debits,
            "chorus_legacy_layout": self.chorus_legacy_layout,
            "iban": self.iban,
            "bic": self.bic,
            "late_penalty_rate": str(self.late_penalty_rate),
            "address_line1": self.address_line1,
            "address_line2": self.address_line2,
            "postcode": self.postcode,
            "city": self.city,
            "country_code": self.country_code,
        }


class Customer(Address, DeliveryAddress):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Particulier")
        COMPANY = "company", _("Société")
        SOLE_PROPRIETORSHIP = "sole_proprietorship", _("Entreprise individuelle")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="customers")
    code = models.CharField(_("code client"), max_length=30)
    kind = models.CharField(_("type de client"), max_length=20, choices=Kind.choices)
    name = models.CharField(
        _("nom ou raison sociale"), max_length=200, validators=[validate_invoice_text]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    vat_number = models.CharField(_("n° de TVA intracommunautaire"), max_length=20, blank=True)
    siren = models.CharField(
        _("SIREN"),
        max_length=9,
        blank=True,
        validators=[validators.validate_siren],
        help_text=_("Mention obligatoire depuis le 1er septembre 2026. Vide : tiré du SIRET."),
    )
    electronic_address = models.CharField(
        _("adresse électronique de facturation"),
        max_length=125,
        blank=True,
        validators=[fr_ctc.validate_electronic_address],
        help_text=_("Adresse de l'annuaire (BT-49). Vide : tirée du SIREN."),
    )
    # The Chorus Pro zone: only for companies and sole proprietorships (seed §2.3).
    chorus_enabled = models.BooleanField(_("envoi vers Chorus Pro"), default=False)
    siret = models.CharField(
        _("SIRET"), max_length=14, blank=True, validators=[validators.validate_siret]
    )
    default_service_code = models.CharField(
        _("référence acheteur (service exécutant)"),
        max_length=100,
        blank=True,
        validators=[validate_invoice_text],
    )
    default_engagement_number = models.CharField(
        _("numéro de commande (engagement juridique)"),
        max_length=50,
        blank=True,
        validators=[validate_invoice_text],
    )

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "code"], name="unique_customer_code"),
            models.CheckConstraint(
                condition=~Q(kind="individual")
                | (
                    Q(chorus_enabled=False)
                    & Q(siret="")
                    & Q(siren="")
                    & Q(electronic_address="")
                    & Q(default_service_code="")
                    & Q(default_engagement_number="")
                ),
                name="chorus_zone_only_for_businesses",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    @property
    def has_chorus_zone(self) -> bool:
        return self.kind != self.Kind.INDIVIDUAL

    @property
    def legal_siren(self) -> str:
        """BT-47: the SIREN entered, else the one the SIRET starts with."""
        return self.siren or fr_ctc.siren_of(self.siret)

    def clean(self) -> None:
        if not self.has_chorus_zone and (
            self.chorus_enabled
            or self.siret
            or self.siren
            or self.electronic_address
            or self.default_service_code
            or self.default_engagement_number
        ):
            raise ValidationError(
                _(
                    "La zone Chorus Pro n'existe que pour les clients de type « Société » "
                    "ou « Entreprise individuelle »."
                )
            )
        errors = self.clean_delivery_address()
        if self.siren and self.siret and not self.siret.startswith(self.siren):
            errors["siret"] = _("Le SIRET doit commencer par le SIREN du client.")
        if self.electronic_address and not self.electronic_address.startswith(
            self.legal_siren or "-"
        ):
            errors["electronic_address"] = _(
                "L'adresse électronique de facturation doit commencer par le SIREN du client."
            )
        if errors:
            raise ValidationError(errors)

    def identity(self) -> dict:
        """The buyer's identity as printed on an invoice (frozen at finalisation)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "public": self.chorus_enabled,
            "siret": self.siret,
            "siren": self.legal_siren,
            "electronic_address": self.electronic_address
            or fr_ctc.default_electronic_address(
                self.legal_siren, self.siret, public=self.chorus_enabled
            ),
            "vat_number": self.vat_number,
            "email": self.email,
            "address_line1": self.address_line1,
            "address_line2": self.address_line2,
            "postcode": self.postcode,
            "city": self.city,
            "country_code": self.country_code,
        }


class Unit(models.TextChoices):
    """UN/ECE Recommendation 20 unit codes (BT-130)."""

    PIECE = "C62", _("unité")
    HOUR = "HUR", _("heure")
    DAY = "DAY", _("jour")
    MONTH = "MON", _("mois")
    KILOGRAM = "KGM", _("kilogramme")
    LITRE = "LTR", _("litre")
    METRE = "MTR", _("mètre")
    SQUARE_METRE = "MTK", _("mètre carré")
    FLAT_RATE = "LS", _("forfait")


class VatCategory(models.TextChoices):
    """EN 16931 VAT category codes (BT-151, UNTDID 5305)."""

    STANDARD = "S", _("Taux normal ou réduit")
    ZERO = "Z", _("Taux zéro")
    EXEMPT = "E", _("Exonéré")
    REVERSE_CHARGE = "AE", _("Autoliquidation")
    INTRA_COMMUNITY = "K", _("Livraison intracommunautaire")
    EXPORT = "G", _("Exportation hors UE")
    NOT_SUBJECT = "O", _("Hors champ de la TVA")


# Categories whose rate is 0 and that need an exemption reason (BR-E-10, BR-AE-10, ...).
EXEMPT_CATEGORIES = {
    VatCategory.EXEMPT,
    VatCategory.REVERSE_CHARGE,
    VatCategory.INTRA_COMMUNITY,
    VatCategory.EXPORT,
    VatCategory.NOT_SUBJECT,
}


class Article(models.Model):
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="articles")
    code = models.CharField(_("code article"), max_length=30)
    label = models.CharField(_("libellé court"), max_length=200, validators=[validate_invoice_text])
    unit = models.CharField(_("unité"), max_length=3, choices=Unit.choices, default=Unit.PIECE)
    unit_price = models.DecimalField(
        _("prix unitaire HT"),
        max_digits=15,
        decimal_places=4,
        validators=[validators.validate_non_negative],
    )
    vat_category = models.CharField(
        _("catégorie de TVA"),
        max_length=2,
        choices=VatCategory.choices,
        default=VatCategory.STANDARD,
    )
    vat_rate = models.DecimalField(
        _("taux de TVA (%)"), max_digits=5, decimal_places=2, default=Decimal("20.00")
    )
    exemption_reason = models.CharField(
        _("motif d'exonération"), max_length=200, blank=True, validators=[validate_invoice_text]
    )
    exemption_code = models.CharField(
        _("code d'exonération"), max_length=30, blank=True, choices=fr_ctc.ExemptionCode.choices
    )
    nature = models.CharField(
        _("nature"), max_length=10, choices=fr_ctc.Nature.choices, default=fr_ctc.Nature.SERVICES
    )

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "code"], name="unique_article_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.label}"

    def clean(self) -> None:
        self.exemption_reason = validators.validate_vat(
            self.vat_category, self.vat_rate, self.exemption_reason, self.exemption_code
        )


class InvoiceQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if any(obj.state == Invoice.State.FINAL for obj in objs):
            raise FinalInvoiceError(_("Une facture ne devient définitive que par la finalisation."))
        return super().bulk_create(objs, *args, **kwargs)

    def final(self):
        return self.filter(state=Invoice.State.FINAL)

    def provisional(self):
        return self.filter(state=Invoice.State.PROVISIONAL)

    def for_dossier(self, dossier):
        return self.filter(dossier=dossier)

    def update(self, **kwargs):
        # Finalisation itself goes through save() on a provisional row, never through here.
        if self.filter(state=Invoice.State.FINAL).exists():
            raise FinalInvoiceError()
        if kwargs.get("state") == Invoice.State.FINAL:
            raise FinalInvoiceError(_("Une facture ne devient définitive que par la finalisation."))
        return super().update(**kwargs)

    def delete(self):
        if self.filter(state=Invoice.State.FINAL).exists():
            raise FinalInvoiceError()
        return super().delete()

    def bulk_update(self, objs, fields, batch_size=None):
        ids = [obj.pk for obj in objs]
        if self.model.objects.filter(pk__in=ids, state=Invoice.State.FINAL).exists():
            raise FinalInvoiceError()
        if "state" in fields:
            raise FinalInvoiceError(_("Une facture ne devient définitive que par la finalisation."))
        return super().bulk_update(objs, fields, batch_size=batch_size)


class Invoice(DeliveryAddress):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Facture")
        CREDIT_NOTE = "credit_note", _("Avoir")

    class State(models.TextChoices):
        PROVISIONAL = "provisional", _("Provisoire")
        FINAL = "final", _("Définitive")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="invoices")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    state = models.CharField(
        _("état"), max_length=12, choices=State.choices, default=State.PROVISIONAL
    )
    number = models.CharField(_("numéro"), max_length=50, null=True, blank=True)  # BT-1
    issue_date = models.DateField(_("date de facture"), null=True, blank=True)  # BT-2
    due_date = models.DateField(_("date d'échéance"), null=True, blank=True)  # BT-9
    delivery_date = models.DateField(_("date de livraison"), null=True, blank=True)  # BT-72
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("facture corrigée"),
    )  # BT-25 / BT-26
    buyer_reference = models.CharField(
        _("référence acheteur (service exécutant)"),
        max_length=100,
        blank=True,
        validators=[validate_invoice_text],
    )  # BT-10
    order_reference = models.CharField(
        _("numéro de commande (engagement juridique)"),
        max_length=50,
        blank=True,
        validators=[validate_invoice_text],
    )  # BT-13
    payment_terms = models.CharField(
        _("conditions de paiement"), max_length=300, blank=True, validators=[validate_invoice_text]
    )
    note = models.TextField(_("note"), blank=True, validators=[validate_invoice_text])
    already_paid = models.BooleanField(
        _("facture déjà payée"),
        default=False,
        help_text=_("Le client a déjà tout réglé : le net à payer est nul (cadre B2, S2, M2)."),
    )
    seller_data = models.JSONField(_("vendeur (figé)"), null=True, blank=True, editable=False)
    buyer_data = models.JSONField(_("acheteur (figé)"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalised_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                condition=Q(number__isnull=False),
                name="unique_invoice_number_per_company",
            ),
            models.CheckConstraint(
                condition=Q(state="provisional", number__isnull=True)
                | Q(state="final", number__isnull=False, issue_date__isnull=False),
                name="final_invoices_have_number_and_date",
            ),
        ]
        indexes = [
            models.Index(fields=["dossier", "-created_at"]),
            models.Index(fields=["dossier", "state", "-created_at"]),
        ]

    def __str__(self) -> str:
        label = self.get_kind_display()
        return f"{label} {self.number}" if self.number else f"{label} provisoire #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.state == self.State.FINAL

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    def seller_identity(self) -> dict:
        return self.seller_data if self.seller_data else self.company.identity()

    def buyer_identity(self) -> dict:
        return self.buyer_data if self.buyer_data else self.customer.identity()

    def _stored_state(self) -> str | None:
        if self.pk is None:
            return None
        return Invoice.objects.filter(pk=self.pk).values_list("state", flat=True).first()

    def save(self, *args, **kwargs):
        stored = self._stored_state()
        if stored == self.State.FINAL:
            raise FinalInvoiceError()
        if stored is None and self.state == self.State.FINAL:
            raise FinalInvoiceError(_("Une facture ne devient définitive que par la finalisation."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._stored_state() == self.State.FINAL:
            raise FinalInvoiceError()
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if self.company_id and self.dossier_id and self.company.dossier_id != self.dossier_id:
            errors["company"] = _("Cette entreprise n'appartient pas au dossier.")
        if self.customer_id and self.dossier_id and self.customer.dossier_id != self.dossier_id:
            errors["customer"] = _("Ce client n'appartient pas au dossier.")
        if self.kind == self.Kind.CREDIT_NOTE:
            if not self.credited_invoice_id:
                errors["credited_invoice"] = _("Un avoir doit indiquer la facture qu'il corrige.")
            elif not self.credited_invoice.is_final or self.credited_invoice.is_credit_note:
                errors["credited_invoice"] = _(
                    "Un avoir ne peut corriger qu'une facture définitive."
                )
        elif self.credited_invoice_id:
            errors["credited_invoice"] = _("Seul un avoir peut référencer une facture corrigée.")
        if self.already_paid and self.kind == self.Kind.CREDIT_NOTE:
            errors["already_paid"] = _("Un avoir ne peut pas être marqué comme déjà payé.")
        errors.update(self.clean_delivery_address())
        if errors:
            raise ValidationError(errors)


class InvoiceLineQuerySet(models.QuerySet):
    def _touches_final(self) -> bool:
        return self.filter(invoice__state=Invoice.State.FINAL).exists()

    def update(self, **kwargs):
        if self._touches_final():
            raise FinalInvoiceError()
        # Moving lines onto a final invoice is as much a change as editing its own lines.
        target = kwargs.get("invoice", kwargs.get("invoice_id"))
        if (
            target is not None
            and Invoice.objects.filter(
                pk=getattr(target, "pk", target), state=Invoice.State.FINAL
            ).exists()
        ):
            raise FinalInvoiceError()
        return super().update(**kwargs)

    def delete(self):
        if self._touches_final():
            raise FinalInvoiceError()
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        invoice_ids = {obj.invoice_id for obj in objs}
        if Invoice.objects.filter(pk__in=invoice_ids, state=Invoice.State.FINAL).exists():
            raise FinalInvoiceError()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        ids = [obj.pk for obj in objs]
        if self.model.objects.filter(pk__in=ids, invoice__state=Invoice.State.FINAL).exists():
            raise FinalInvoiceError()
        invoice_ids = {obj.invoice_id for obj in objs}
        if {"invoice", "invoice_id"} & set(fields) and Invoice.objects.filter(
            pk__in=invoice_ids, state=Invoice.State.FINAL
        ).exists():
            raise FinalInvoiceError()
        return super().bulk_update(objs, fields, batch_size=batch_size)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("ordre"), default=0)
    # PROTECT: an article used on an invoice stays, so a final line is never rewritten.
    article = models.ForeignKey(
        Article, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("article")
    )
    label = models.CharField(
        _("libellé"), max_length=500, validators=[validate_invoice_text]
    )  # BT-153
    unit = models.CharField(_("unité"), max_length=3, choices=Unit.choices, default=Unit.PIECE)
    quantity = models.DecimalField(_("quantité"), max_digits=15, decimal_places=4)  # BT-129
    unit_price = models.DecimalField(
        _("prix unitaire HT"),
        max_digits=15,
        decimal_places=4,
        validators=[validators.validate_non_negative],
    )  # BT-146
    vat_category = models.CharField(
        _("catégorie de TVA"),
        max_length=2,
        choices=VatCategory.choices,
        default=VatCategory.STANDARD,
    )  # BT-151
    vat_rate = models.DecimalField(
        _("taux de TVA (%)"), max_digits=5, decimal_places=2, default=Decimal("20.00")
    )  # BT-152
    exemption_reason = models.CharField(
        _("motif d'exonération"), max_length=200, blank=True, validators=[validate_invoice_text]
    )  # BT-120
    exemption_code = models.CharField(
        _("code d'exonération"), max_length=30, blank=True, choices=fr_ctc.ExemptionCode.choices
    )  # BT-121
    nature = models.CharField(
        _("nature"), max_length=10, choices=fr_ctc.Nature.choices, default=fr_ctc.Nature.SERVICES
    )  # goods or services: BT-23's letter

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("ligne de facture")
        verbose_name_plural = _("lignes de facture")
        ordering = ["position", "id"]
        # Related managers (invoice.lines.add) go through the guarded manager too.
        base_manager_name = "objects"

    def __str__(self) -> str:
        return self.label

    def _invoice_is_final(self) -> bool:
        return Invoice.objects.filter(pk=self.invoice_id, state=Invoice.State.FINAL).exists()

    def save(self, *args, **kwargs):
        if self._invoice_is_final():
            raise FinalInvoiceError()
        if self.pk is not None:
            moved_from = (
                InvoiceLine.objects.filter(pk=self.pk).values_list("invoice_id", flat=True).first()
            )
            if (
                moved_from
                and moved_from != self.invoice_id
                and Invoice.objects.filter(pk=moved_from, state=Invoice.State.FINAL).exists()
            ):
                raise FinalInvoiceError()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._invoice_is_final():
            raise FinalInvoiceError()
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        self.exemption_reason = validators.validate_vat(
            self.vat_category, self.vat_rate, self.exemption_reason, self.exemption_code
        )
        if self.quantity is not None and self.quantity == 0:
            raise ValidationError({"quantity": _("La quantité ne peut pas être nulle.")})


class NumberingCounter(models.Model):
    """The last number given per company, document kind and year; locked to number."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="counters")
    kind = models.CharField(max_length=12, choices=Invoice.Kind.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur de numérotation")
        verbose_name_plural = _("compteurs de numérotation")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "kind", "year"], name="one_counter_per_series"
            )
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.kind} {self.year}: {self.last_number}"
