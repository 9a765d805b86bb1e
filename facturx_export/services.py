"""Public entry points: build and check the Factur-X of an invoice.

    pdf_bytes = facturx_build(invoice)           # raises FacturxCheckError if a rule fails
    name = facturx_filename(invoice)

The build is pure (`facturx_build_snapshot`: a snapshot in, bytes out); `facturx_build`
only reads the invoice once through `snapshot_from_invoice`.
"""

from __future__ import annotations

import logging
import re

from facturx_export.checks import (
    FacturxCheckError,
    Problem,
    check_xml,
    start_rules,
    start_rules_for,
)
from facturx_export.embed import embed_xml, without_xml
from facturx_export.letterhead import letterhead_for
from facturx_export.pdf import render_pdf
from facturx_export.snapshot import Flavour, InvoiceSnapshot, Profile, snapshot_from_invoice
from facturx_export.xml import build_xml

logger = logging.getLogger(__name__)

__all__ = [
    "FacturxCheckError",
    "Flavour",
    "Profile",
    "facturx_build",
    "facturx_build_snapshot",
    "facturx_filename",
    "facturx_plain_pdf",
    "facturx_xml",
]


def facturx_build_snapshot(snapshot: InvoiceSnapshot, *, french_rules: bool = True) -> bytes:
    """XML, checks and PDF/A-3 of a snapshot, joined. Raises `FacturxCheckError`.

    The XSD and the Schematron (and the BR-FR rules for the French 2026 layout) run in a
    child process while WeasyPrint renders (see checks.py); nothing is embedded, nor
    returned, unless every check passed.
    """
    xml_bytes = build_xml(snapshot)
    # XSD + Schematron, beside the render
    if french_rules:
        rules = start_rules_for(xml_bytes, snapshot)
    else:
        rules = start_rules(xml_bytes, snapshot.profile)
    letterhead = letterhead_for(snapshot)  # rendered once per seller and process
    pdf_bytes = render_pdf(snapshot, letterhead)
    check_xml(xml_bytes, snapshot, rules)  # raises on any broken rule
    return embed_xml(pdf_bytes, xml_bytes, snapshot, underlay=letterhead)


def facturx_build(
    invoice, *, profile: Profile | str | None = None, flavour: Flavour | str | None = None
) -> bytes:
    """Build and check the Factur-X (PDF/A-3 + factur-x.xml) of a FINAL invoice.

    `profile` defaults to the company's (Company.facturx_profile); the layout is the
    French 2026 one (Flavour.FR_CTC, checked against the BR-FR rules too), unless the
    company opted for the legacy Chorus Pro layout; `flavour` overrides it (tests).
    Raises `FacturxCheckError` (every broken rule, explained).
    """
    if not invoice.is_final:
        raise FacturxCheckError(
            [Problem("CHORALE-00", "Seule une facture définitive a un Factur-X.")],
            invoice.number or "",
        )
    snapshot = snapshot_from_invoice(invoice, profile=profile, flavour=flavour)
    try:
        return facturx_build_snapshot(snapshot)
    except FacturxCheckError as exc:
        if not all(problem.rule.startswith("BR-FR") for problem in exc.problems):
            raise
        # Only the French 2026 rules fail: an invoice numbered before they were checked
        # (the pre-flight refuses such an invoice now). Its number is given and it can no
        # longer change, so it keeps a file that passes every other rule.
        logger.warning(
            "Invoice %s fails the French CTC rules (%s): built without them",
            invoice.pk,
            ", ".join(sorted({problem.rule for problem in exc.problems})),
        )
        return facturx_build_snapshot(snapshot, french_rules=False)


def facturx_plain_pdf(invoice) -> bytes:
    """The invoice as a plain PDF (the Factur-X without its XML), checked the same way."""
    return without_xml(facturx_build(invoice))


def facturx_xml(invoice, *, flavour: Flavour | str | None = None) -> bytes:
    """The factur-x.xml alone (not checked)."""
    return build_xml(snapshot_from_invoice(invoice, flavour=flavour))


def facturx_filename(invoice, *, suffix: str = "") -> str:
    """e.g. "Facture_FA2026-00001.pdf" / "Avoir_AV2026-00003.pdf" (safe on every OS);
    `suffix` tells another form of the same invoice apart ("_pdf")."""
    kind = "Avoir" if invoice.is_credit_note else "Facture"
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number or f"provisoire-{invoice.pk}")
    return f"{kind}_{number}{suffix}.pdf"
