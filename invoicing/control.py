"""The « Contrôle » panel of the entry screen: the pre-flight's problems, each pointing at
what to fix (a line, a field of the invoice, the company's or the customer's record)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from invoicing import services
from invoicing.models import Invoice

# Fields of the entry screen's header (services.INVOICE_EDITABLE_FIELDS: references, dates,
# already paid, the delivery address...): a link to the field, unfolding its section.
HEADER_FIELDS = services.INVOICE_EDITABLE_FIELDS
# Names a check may use for what the records call otherwise.
ALIASES = {
    "customer.legal_siren": "customer.siren",
    "customer.delivery_address": "customer.delivery_address_line1",
    "delivery_address": "delivery_address_line1",
}


@dataclass(frozen=True)
class Item:
    message: str
    where: str  # « Ligne 2 », « Fiche de l'entreprise »...
    href: str = ""  # where to fix it
    needs_admin: bool = False  # the company's record, which only an administrator edits


def _item(problem, invoice: Invoice, *, is_admin: bool) -> Item:
    field = getattr(problem, "field", "") or ""
    field = ALIASES.get(field, field)
    line = getattr(problem, "line", None)
    owner, dot, name = field.partition(".")
    if line:
        return Item(problem.message, _("Ligne %(n)s") % {"n": line}, f"#id_lines-{line - 1}-label")
    if dot and owner == "company":
        if not is_admin:
            return Item(problem.message, _("Fiche de l'entreprise"), needs_admin=True)
        href = reverse("settings_company_edit", args=[invoice.company_id]) + f"#id_{name}"
        return Item(problem.message, _("Fiche de l'entreprise"), href)
    if dot and owner == "customer":
        href = reverse("customer_edit", args=[invoice.customer_id]) + f"#id_{name}"
        return Item(problem.message, _("Fiche du client"), href)
    if field in HEADER_FIELDS:
        return Item(problem.message, _("En-tête de la facture"), f"#id_{field}")
    if field == "lines":
        return Item(problem.message, _("Lignes"), "#lines-grid")
    if field == "credited_invoice" and invoice.credited_invoice_id:
        href = reverse("invoice_detail", args=[invoice.credited_invoice_id])
        return Item(problem.message, _("Facture corrigée"), href)
    return Item(problem.message, _("Facture"))


def invoice_control(invoice: Invoice, *, is_admin: bool) -> list[Item]:
    """The problems of the saved provisional `invoice`, as the panel shows them."""
    problems, _fingerprint = services.invoice_check(invoice)
    return [_item(problem, invoice, is_admin=is_admin) for problem in problems]
