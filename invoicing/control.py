"""The « Contrôle » panel of the entry screen: the pre-flight's problems, each pointing at
what to fix (a line, a field of the invoice, the company's or the customer's record)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from invoicing import services
from invoicing.models import Invoice

HEADER_FIELDS = {"buyer_reference", "order_reference", "due_date", "payment_terms", "note"}


@dataclass(frozen=True)
class Item:
    message: str
    where: str  # « Ligne 2 », « Fiche de l'entreprise »...
    href: str = ""  # where to fix it
    needs_admin: bool = False  # the company's record, which only an administrator edits


def _item(problem, invoice: Invoice, *, is_admin: bool) -> Item:
    field = getattr(problem, "field", "") or ""
    line = getattr(problem, "line", None)
    owner, _dot, name = field.partition(".")
    if line:
        return Item(problem.message, _("Ligne %(n)s") % {"n": line}, f"#id_lines-{line - 1}-label")
    if owner == "company":
        if not is_admin:
            return Item(problem.message, _("Fiche de l'entreprise"), needs_admin=True)
        href = reverse("settings_company_edit", args=[invoice.company_id]) + f"#id_{name}"
        return Item(problem.message, _("Fiche de l'entreprise"), href)
    if owner == "customer":
        href = reverse("customer_edit", args=[invoice.customer_id]) + f"#id_{name}"
        return Item(problem.message, _("Fiche du client"), href)
    if field in HEADER_FIELDS:
        return Item(problem.message, _("En-tête de la facture"), f"#id_{field}")
    if field == "lines":
        return Item(problem.message, _("Lignes"), "#lines-grid")
    return Item(problem.message, _("Facture"))


def invoice_control(invoice: Invoice, *, is_admin: bool) -> list[Item]:
    """The problems of the saved provisional `invoice`, as the panel shows them."""
    problems, _fingerprint = services.invoice_check(invoice)
    return [_item(problem, invoice, is_admin=is_admin) for problem in problems]
