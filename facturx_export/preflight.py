"""The pre-flight: every check of the outgoing file, run on an invoice before it is numbered.

`snapshot_problems` runs on a snapshot of the invoice as finalisation is about to freeze it
(number and date included): the text of every field against what XML 1.0 carries and what
the invoice's fonts draw, then the XML itself against the XSD, the EN 16931 and Factur-X
Schematron and our own rules (checks.py). The PDF is not rendered: its only way to fail,
a character no font draws, is checked on the text. Each problem says where to fix it.

`FacturxPreflight` is what this app registers with `invoicing.preflight`, so that
finalisation, « Valider », the sending request and the import all run it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib

from facturx_export.checks import FacturxCheckError, Problem, check_xml
from facturx_export.snapshot import InvoiceSnapshot, Party, snapshot_from_invoice
from facturx_export.xml import build_xml
from invoicing import text

PARTY_LABELS = {
    "name": "raison sociale",
    "trade_name": "nom commercial",
    "legal_form": "forme juridique",
    "share_capital": "capital",
    "rcs": "RCS",
    "email": "e-mail",
    "phone": "téléphone",
    "address_line1": "adresse",
    "address_line2": "complément d'adresse",
    "postcode": "code postal",
    "city": "ville",
    "country_code": "pays",
    "siret": "SIRET",
    "siren": "SIREN",
    "vat_number": "n° de TVA",
    "tax_registration_id": "identifiant fiscal",
}
INVOICE_LABELS = {
    "number": ("numéro de facture", "company.invoice_number_pattern"),
    "buyer_reference": ("référence acheteur (service exécutant)", "buyer_reference"),
    "order_reference": ("numéro de commande (engagement juridique)", "order_reference"),
    "payment_terms": ("conditions de paiement", "payment_terms"),
    "note": ("note", "note"),
    "preceding_number": ("facture corrigée", "credited_invoice"),
}
# Rules a user breaks through one field (the Schematron's own location is an XPath).
RULE_FIELDS = {
    "BR-06": "company.name",
    "BR-07": "customer.name",
    "BR-S-02": "company.vat_number",
    "BR-E-02": "company.tax_registration_id",
    "BR-AE-02": "customer.vat_number",
    "BR-CO-25": "due_date",
}
TEXT_RULE = "CHORALE-10"


def _texts(snapshot: InvoiceSnapshot):
    """(where, field, line, value) of every text of the snapshot that reaches the file."""
    for role, party in (("company", snapshot.seller), ("customer", snapshot.buyer)):
        owner = "Entreprise" if role == "company" else "Client"
        for item in dataclasses.fields(Party):
            label = PARTY_LABELS.get(item.name, item.name)
            yield f"{owner}, {label}", f"{role}.{item.name}", None, getattr(party, item.name)
    for name, (label, field) in INVOICE_LABELS.items():
        yield label.capitalize(), field, None, getattr(snapshot, name)
    for line in snapshot.lines:
        yield f"Ligne {line.position}, libellé", "lines", line.position, line.label
    for entry in snapshot.totals.vat_breakdown:
        yield "Motif d'exonération de TVA", "lines", None, entry.exemption_reason or ""


def text_problems(snapshot: InvoiceSnapshot) -> list[Problem]:
    problems = []
    for where, field, line, value in _texts(snapshot):
        for why in text.text_problems(value or ""):
            problems.append(Problem(TEXT_RULE, f"{where} : {why}.", field=field, line=line))
    return problems


def snapshot_problems(snapshot: InvoiceSnapshot) -> list[Problem]:
    """Every problem of the Factur-X that `snapshot` would make (empty: it can be built)."""
    problems = text_problems(snapshot)
    if any(text.not_xml_characters(value or "") for *_, value in _texts(snapshot)):
        return problems  # the XML cannot even be written; the text problems say why
    try:
        check_xml(build_xml(snapshot), snapshot)
    except FacturxCheckError as exc:
        problems += [_with_field(problem) for problem in exc.problems]
    return problems


def _with_field(problem: Problem) -> Problem:
    field = RULE_FIELDS.get(problem.rule)
    return dataclasses.replace(problem, field=field) if field and not problem.field else problem


def fingerprint(snapshot: InvoiceSnapshot) -> str:
    """A digest of what the checks read, but the number and the dates finalisation sets."""
    content = dataclasses.replace(
        snapshot,
        number="",
        issue_date=datetime.date.min,
        due_date=None,
        created_at=None,
    )
    return hashlib.sha256(repr(content).encode()).hexdigest()


class FacturxPreflight:
    """The Factur-X checks, as `invoicing.preflight` calls them."""

    def problems(self, invoice) -> list[Problem]:
        return snapshot_problems(snapshot_from_invoice(invoice))

    def fingerprint(self, invoice) -> str:
        return fingerprint(snapshot_from_invoice(invoice))
