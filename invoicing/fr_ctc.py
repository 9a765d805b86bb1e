"""The data of the French 2026 e-invoicing rules (CTC, BR-FR) that invoicing owns.

What is sold (goods or services, BT-23's first letter), the VAT exemption codes (BT-121)
with their usual French texts, and the directory addresses (BT-34 / BT-49, scheme 0225)
derived from SIREN and SIRET. Sources: shared/reference/fr-2026-data.md.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Nature(models.TextChoices):
    """Goods or services: the category of the operation (mandatory since 1 Sept 2026)."""

    GOODS = "goods", _("Livraison de biens")
    SERVICES = "services", _("Prestation de services")


CATEGORY_LABELS = {
    "B": _("Livraison de biens"),
    "S": _("Prestation de services"),
    "M": _("Opération mixte (biens et services)"),
}


def operation_category(natures) -> str:
    """B, S or M (BT-23's first letter) for the natures of an invoice's lines."""
    found = set(natures)
    if found == {Nature.GOODS}:
        return "B"
    if Nature.GOODS in found and Nature.SERVICES in found:
        return "M"
    return "S"


def billing_frame(natures, *, already_paid: bool) -> str:
    """BT-23: B1/S1/M1 for a normal invoice, B2/S2/M2 for one already paid."""
    return f"{operation_category(natures)}{2 if already_paid else 1}"


class ExemptionCode(models.TextChoices):
    """VATEX codes (BT-121) a French small business uses, with the VAT category they go with."""

    FRANCHISE = "VATEX-FR-FRANCHISE", _("Franchise en base (art. 293 B du CGI)")
    EXEMPT_261 = "VATEX-FR-CGI261-4", _("Exonération, art. 261-4 du CGI (formation, santé…)")
    EXEMPT_EU = "VATEX-EU-132", _("Exonération d'intérêt général (art. 132 de la directive)")
    REVERSE_CHARGE_FR = "VATEX-FR-AE", _("Autoliquidation en France (art. 283 du CGI)")
    REVERSE_CHARGE_EU = "VATEX-EU-AE", _("Autoliquidation (client dans l'UE)")
    INTRA_EU = "VATEX-EU-IC", _("Livraison intracommunautaire")
    EXPORT = "VATEX-EU-G", _("Exportation hors de l'UE")
    OUT_OF_SCOPE = "VATEX-EU-O", _("Hors champ d'application de la TVA")


# code -> (VAT category it belongs to, the usual text of BT-120)
EXEMPTIONS = {
    ExemptionCode.FRANCHISE: ("E", "TVA non applicable, art. 293 B du CGI"),
    ExemptionCode.EXEMPT_261: ("E", "Exonération de TVA, art. 261-4 du CGI"),
    ExemptionCode.EXEMPT_EU: ("E", "Exonération de TVA, art. 132 de la directive 2006/112/CE"),
    ExemptionCode.REVERSE_CHARGE_FR: ("AE", "Autoliquidation, art. 283-2 nonies du CGI"),
    ExemptionCode.REVERSE_CHARGE_EU: ("AE", "Autoliquidation, art. 283-2 du CGI"),
    ExemptionCode.INTRA_EU: ("K", "Exonération de TVA, art. 262 ter I du CGI"),
    ExemptionCode.EXPORT: ("G", "Exonération de TVA, art. 262 I du CGI (exportation)"),
    ExemptionCode.OUT_OF_SCOPE: ("O", "Hors champ d'application de la TVA"),
}
# The code a category gets when the user chose none (E has several: none by default).
DEFAULT_CODES = {
    "AE": ExemptionCode.REVERSE_CHARGE_EU,
    "K": ExemptionCode.INTRA_EU,
    "G": ExemptionCode.EXPORT,
    "O": ExemptionCode.OUT_OF_SCOPE,
}


def exemption_text(code: str) -> str:
    return EXEMPTIONS[code][1] if code in EXEMPTIONS else ""


def validate_exemption_code(category: str, code: str) -> None:
    if code and code in EXEMPTIONS and EXEMPTIONS[code][0] != category:
        raise ValidationError(
            {
                "exemption_code": _(
                    "Ce code d'exonération (%(code)s) ne correspond pas à la catégorie de TVA "
                    "choisie."
                )
                % {"code": code}
            }
        )


# BR-FR-23: letters, digits, + - _ . ; the directory forms all start with the SIREN.
_ADDRESS = re.compile(r"^\d{9}(_[A-Za-z0-9+\-.]+){0,2}$")


def validate_electronic_address(value: str) -> None:
    if value and (len(value) > 125 or not _ADDRESS.match(value)):
        raise ValidationError(
            _(
                "Adresse électronique de facturation invalide : SIREN, SIREN_SIRET, "
                "SIREN_SIRET_CODEROUTAGE ou SIREN_SUFFIXE (lettres, chiffres, + - _ . ; "
                "125 caractères au plus)."
            )
        )


def siren_of(siret: str) -> str:
    """The SIREN a SIRET starts with ("" unless it is a 14-digit SIRET)."""
    return siret[:9] if len(siret) == 14 else ""


def default_electronic_address(siren: str, siret: str = "", *, public: bool = False) -> str:
    """BT-34 / BT-49 when none was entered: the SIREN, or SIREN_SIRET for a public buyer
    (each of its SIRETs is a Chorus Pro structure with its own address)."""
    if not siren:
        return ""
    if public and siret.startswith(siren) and len(siret) == 14:
        return f"{siren}_{siret}"
    return siren
