"""Field validators with French messages (identifiers through python-stdnum)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva as stdnum_tva


def validate_siren(value: str) -> None:
    try:
        stdnum_siren.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un SIREN valide (9 chiffres, clé de contrôle correcte)."),
            params={"value": value},
            code="invalid_siren",
        ) from exc


def validate_siret(value: str) -> None:
    # python-stdnum knows the La Poste exception (SIREN 356000000: digit sum multiple of 5).
    try:
        stdnum_siret.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un SIRET valide (14 chiffres, clé de contrôle correcte)."),
            params={"value": value},
            code="invalid_siret",
        ) from exc


def validate_fr_vat(value: str) -> None:
    try:
        stdnum_tva.validate(value)
        # Stored as printed and sent (BT-31 needs the country prefix, BR-CO-9): "FR" then
        # the 11 characters, no spaces; python-stdnum alone also accepts "44 732829320".
        if value != "FR" + stdnum_tva.compact(value):
            raise StdnumError()
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un numéro de TVA français valide (FR + clé + SIREN)."),
            params={"value": value},
            code="invalid_vat",
        ) from exc


def validate_iban(value: str) -> None:
    try:
        stdnum_iban.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un IBAN valide."),
            params={"value": value},
            code="invalid_iban",
        ) from exc


def validate_non_negative(value: Decimal) -> None:
    if value is not None and value < 0:
        raise ValidationError(_("Le montant ne peut pas être négatif."), code="negative")


def validate_number_pattern(value: str) -> None:
    if "{number" not in value:
        raise ValidationError(
            _("Le modèle doit contenir {number}, par exemple FA{year}-{number:05d}."),
            code="pattern_without_number",
        )
    try:
        value.format(year=2026, number=1)
    except (KeyError, ValueError, IndexError) as exc:
        raise ValidationError(
            _("Modèle invalide : seules les variables {year} et {number} sont permises."),
            code="invalid_pattern",
        ) from exc


def validate_vat(category: str, rate: Decimal | None, exemption_reason: str) -> None:
    """EN 16931 rules on a line's VAT: S has a positive rate, exemptions a 0 rate and a reason."""
    from invoicing.models import EXEMPT_CATEGORIES, VatCategory

    if rate is None:
        return
    if rate < 0 or rate >= 100:
        raise ValidationError({"vat_rate": _("Le taux de TVA doit être compris entre 0 et 100 %.")})
    if category == VatCategory.STANDARD and rate == 0:
        raise ValidationError(
            {"vat_rate": _("Un taux normal ou réduit doit être supérieur à 0 %.")}
        )
    if category != VatCategory.STANDARD and rate != 0:
        raise ValidationError({"vat_rate": _("Cette catégorie de TVA impose un taux de 0 %.")})
    if category in EXEMPT_CATEGORIES and not exemption_reason.strip():
        raise ValidationError(
            {
                "exemption_reason": _(
                    "Indiquez le motif d'exonération (par exemple « TVA non applicable, "
                    "art. 293 B du CGI » ou « Autoliquidation »)."
                )
            }
        )
