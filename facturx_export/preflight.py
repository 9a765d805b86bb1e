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
    "electronic_address": "adresse électronique de facturation",
}
DELIVERY_LABELS = {  # DeliveryAddress field: (label, the invoice's field)
    "name": ("nom du lieu", "delivery_name"),
    "address_line1": ("adresse", "delivery_address_line1"),
    "address_line2": ("complément d'adresse", "delivery_address_line2"),
    "postcode": ("code postal", "delivery_postcode"),
    "city": ("ville", "delivery_city"),
    "country_code": ("pays", "delivery_country_code"),
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
    "BR-FR-10": "company.siren",
    "BR-FR-11": "customer.siren",
    "BR-FR-13": "company.electronic_address",
    "BR-FR-16": "lines",
    "BR-FR-CO-05": "credited_invoice",
}
# BR-FR rules on a field of the seller or of the buyer, which the location tells apart.
PARTY_RULE_FIELDS = {
    "BR-FR-09": "siret",
    "BR-FR-23": "electronic_address",
    "BR-FR-25": "electronic_address",
    "BR-FR-32": "siren",
}
NUMBER_RULES = {"BR-FR-01", "BR-FR-02"}  # BT-1, or BT-25 (the corrected invoice)
TEXT_RULE = "CHORALE-10"


def _texts(snapshot: InvoiceSnapshot):
    """(where, field, line, value) of every text of the snapshot that reaches the file."""
    for role, party in (("company", snapshot.seller), ("customer", snapshot.buyer)):
        owner = "Entreprise" if role == "company" else "Client"
        for item in dataclasses.fields(Party):
            value = getattr(party, item.name)
            if isinstance(value, str) and item.name != "kind":
                label = PARTY_LABELS.get(item.name, item.name)
                yield f"{owner}, {label}", f"{role}.{item.name}", None, value
    for name, (label, field) in INVOICE_LABELS.items():
        yield label.capitalize(), field, None, getattr(snapshot, name)
    if snapshot.delivery_address:
        for name, (label, field) in DELIVERY_LABELS.items():
            value = getattr(snapshot.delivery_address, name)
            yield f"Adresse de livraison, {label}", field, None, value
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
        problems += [_with_field(problem, snapshot) for problem in exc.problems]
    return problems


def rule_field(problem: Problem, snapshot: InvoiceSnapshot) -> str:
    """Where to fix a broken rule: a field name of invoicing.control, or ""."""
    rule = problem.rule
    if rule in RULE_FIELDS:
        return RULE_FIELDS[rule]
    if rule in PARTY_RULE_FIELDS:
        if "SellerTradeParty" in problem.location:
            return f"company.{PARTY_RULE_FIELDS[rule]}"
        if "BuyerTradeParty" in problem.location:
            return f"customer.{PARTY_RULE_FIELDS[rule]}"
        return ""
    buyer = snapshot.buyer
    if rule == "BR-FR-12":  # no BT-49: a SIREN for a French business, else an e-mail
        abroad = (buyer.country_code or "FR") != "FR"
        return "customer.email" if buyer.is_individual or abroad else "customer.siren"
    if rule == "BR-FR-21":  # BT-49 is not the buyer's SIREN-based address
        return "customer.electronic_address" if buyer.siren else "customer.siren"
    if rule in NUMBER_RULES:
        if "InvoiceReferencedDocument" in problem.location:
            return "credited_invoice"
        if snapshot.is_credit_note:
            return "company.credit_note_number_pattern"
        return "company.invoice_number_pattern"
    return ""


def _with_field(problem: Problem, snapshot: InvoiceSnapshot) -> Problem:
    if problem.field:
        return problem
    field = rule_field(problem, snapshot)
    return dataclasses.replace(problem, field=field) if field else problem


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
