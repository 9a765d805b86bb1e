"""python manage.py import_invoices FILE.json [--finalise]  (format: docs/import-format.md)

All or nothing: every invoice of the file is validated first; one error anywhere and
nothing is imported. Each message says which invoice, which field, and why. Whatever the
file holds, the command ends with such a message (CommandError), never a traceback.
"""

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from facturx_export.management.commands._import_values import (
    REF_MAX_LENGTH,
    _code,
    _date,
    _decimal,
    _key,
    _shown,
    _string,
    _text,
    load,
)
from invoicing import fr_ctc, services
from invoicing.models import Company, Customer, Invoice, Unit, VatCategory
from invoicing.services import LineInput
from invoicing.text import not_xml_characters
from invoicing.validators import validate_vat

KINDS = {"invoice": Invoice.Kind.INVOICE, "credit_note": Invoice.Kind.CREDIT_NOTE}
TOP_FIELDS = {"company_siret", "dossier", "customers", "invoices"}
CUSTOMER_FIELDS = {"siret", "siren", "electronic_address", "delivery_address"}
INVOICE_FIELDS = {
    "ref", "kind", "customer_siret", "issue_date", "due_date", "delivery_date",
    "buyer_reference", "order_reference", "payment_terms", "note", "credited_invoice", "lines",
    "already_paid", "delivery_address",
}  # fmt: skip
LINE_FIELDS = {"label", "quantity", "unit_price", "unit", "vat_category", "vat_rate",
               "exemption_reason", "exemption_code", "nature"}  # fmt: skip
# delivery_address key: (DeliveryAddress field, max length)
DELIVERY_KEYS = {
    "name": ("delivery_name", 200), "line1": ("delivery_address_line1", 200),
    "line2": ("delivery_address_line2", 200), "postcode": ("delivery_postcode", 20),
    "city": ("delivery_city", 100), "country_code": ("delivery_country_code", 2),
}  # fmt: skip
DELIVERY_NAMES = {field: f"delivery_address, {key}" for key, (field, _n) in DELIVERY_KEYS.items()}
NATURES = set(fr_ctc.Nature.values)
EXEMPTION_CODES = set(fr_ctc.ExemptionCode.values)
MAX_ID = 2**63 - 1  # BigAutoField


class ImportError_(Exception):
    pass


@dataclass
class Planned:
    ref: str
    kind: str
    customer: Customer
    lines: list[LineInput]
    fields: dict = field(default_factory=dict)
    issue_date: datetime.date | None = None
    credited_ref: str = ""
    credited_invoice: Invoice | None = None


class Command(BaseCommand):
    help = "Import invoices and credit notes from a JSON file (docs/import-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, metavar="FILE.json")
        parser.add_argument(
            "--finalise", action="store_true", help="number and freeze the imported invoices"
        )

    def handle(self, *args, file: Path, finalise: bool, **options):
        data = load(file)
        errors: list[str] = []
        company, customers, planned = plan(data, errors, finalise=finalise)
        if errors:
            raise CommandError(
                "Rien n'a été importé :\n" + "\n".join(f"- {error}" for error in errors)
            )
        try:
            with transaction.atomic():
                for customer in customers:
                    customer.save(update_fields=CUSTOMER_UPDATED)
                created = create(company, planned, finalise=finalise)
        except ImportError_ as exc:
            raise CommandError(f"Rien n'a été importé :\n- {exc}") from exc
        for invoice in created:
            self.stdout.write(f"{invoice} ({invoice.customer.name})")
        state = "définitive(s)" if finalise else "provisoire(s)"
        self.stdout.write(f"{len(created)} facture(s) importée(s), {state}.")


def _where(index: int, raw) -> str:
    ref = raw.get("ref") if isinstance(raw, dict) else None
    if isinstance(ref, str) and ref and len(ref) <= REF_MAX_LENGTH and not not_xml_characters(ref):
        return f"Facture n°{index} (ref {ref})"
    return f"Facture n°{index}"


def _company(data: dict, errors: list[str]) -> Company | None:
    for unknown in sorted(set(data) - TOP_FIELDS):
        errors.append(f"{_key(unknown)} : champ inconnu (voir docs/import-format.md).")
    siret = data.get("company_siret")
    if not siret:
        errors.append("company_siret : le SIRET de l'entreprise émettrice est obligatoire.")
        return None
    if _string(siret, "company_siret", errors, max_length=REF_MAX_LENGTH) is None:
        return None
    companies = Company.objects.filter(siret=siret)
    dossier = data.get("dossier")
    if dossier is not None:
        if isinstance(dossier, bool) or not isinstance(dossier, int) or not 0 < dossier <= MAX_ID:
            errors.append(
                f"dossier : identifiant de dossier attendu (nombre entier), reçu {_shown(dossier)}."
            )
            return None
        companies = companies.filter(dossier_id=dossier)
    companies = list(companies[:2])
    if not companies:
        errors.append(f"company_siret : aucune entreprise avec le SIRET {siret}.")
        return None
    if len(companies) > 1:
        errors.append(
            f"company_siret : plusieurs entreprises ont le SIRET {siret} ; "
            'précisez "dossier" (identifiant du dossier).'
        )
        return None
    return companies[0]


def plan(data, errors: list[str], *, finalise: bool):
    """(company, customers to update, invoices to create), every error in `errors`."""
    if not isinstance(data, dict):
        errors.append(
            'Le fichier doit contenir un objet JSON {"company_siret": …, "invoices": […]}.'
        )
        return None, [], []
    company = _company(data, errors)
    if company is None:
        return None, [], []
    invoices = data.get("invoices")
    if not isinstance(invoices, list) or not invoices:
        errors.append("invoices : liste de factures attendue (au moins une).")
        return company, [], []
    customers: dict[str, list[Customer]] = {}
    for customer in Customer.objects.filter(dossier=company.dossier).exclude(siret=""):
        customers.setdefault(customer.siret, []).append(customer)
    # Before the invoices: an invoice's default delivery address is its customer's, updated.
    updated = _plan_customers(data.get("customers"), customers, errors)
    refs: dict[str, str] = {}
    planned = []
    today = timezone.localdate()
    for index, raw in enumerate(invoices, 1):
        item = _plan_invoice(index, raw, company, customers, refs, errors, finalise, today)
        if item is not None:
            planned.append(item)
    return company, updated, planned


def _plan_invoice(
    index: int,
    raw,
    company: Company,
    customers: dict[str, list[Customer]],
    refs: dict[str, str],
    errors: list[str],
    finalise: bool,
    today: datetime.date,
) -> Planned | None:
    where = _where(index, raw)
    if not isinstance(raw, dict):
        errors.append(f"{where} : objet attendu, reçu {_shown(raw)}.")
        return None
    for unknown in sorted(set(raw) - INVOICE_FIELDS):
        errors.append(f"{where}, {_key(unknown)} : champ inconnu (voir docs/import-format.md).")
    ref = _text(raw, "ref", where, errors, REF_MAX_LENGTH)
    if ref:
        if ref in refs:
            errors.append(f"{where}, ref : « {ref} » est déjà utilisée par {refs[ref]}.")
        refs[ref] = where
    kind = _code(raw, "kind", where, errors, "invoice")
    if kind is None:
        return None
    if kind not in KINDS:
        errors.append(f"{where}, kind : {_shown(kind)} inconnu (invoice ou credit_note).")
        return None
    customer = _customer(raw, where, customers, errors)
    fields = {
        "buyer_reference": _text(raw, "buyer_reference", where, errors, 100),
        "order_reference": _text(raw, "order_reference", where, errors, 50),
        "payment_terms": _text(raw, "payment_terms", where, errors, 300),
        "note": _text(raw, "note", where, errors, 10_000),
        "due_date": _date(raw.get("due_date"), f"{where}, due_date", errors),
        "delivery_date": _date(raw.get("delivery_date"), f"{where}, delivery_date", errors),
    }
    fields.update(_fr_2026_fields(raw, where, kind, customer, errors))
    issue_date = _date(raw.get("issue_date"), f"{where}, issue_date", errors)
    if issue_date is not None and issue_date > today:
        # Numbering is chronological: one future date would block every later invoice.
        errors.append(
            f"{where}, issue_date : le {issue_date:%d/%m/%Y} est dans le futur (aujourd'hui : "
            f"{today:%d/%m/%Y}) ; une facture ne peut pas être datée d'un jour à venir."
        )
    lines = []
    raw_lines = raw.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        errors.append(f"{where}, lines : au moins une ligne est obligatoire.")
        raw_lines = []
    for number, raw_line in enumerate(raw_lines, 1):
        line = _plan_line(f"{where}, ligne {number}", raw_line, errors)
        if line is not None:
            lines.append(line)
    credited_ref, credited_invoice = "", None
    target = raw.get("credited_invoice")
    if kind == "credit_note":
        credited_ref, credited_invoice = _credited(target, where, ref, refs, company, errors,
                                                   finalise=finalise)  # fmt: skip
    elif target:
        errors.append(f"{where}, credited_invoice : seul un avoir corrige une facture.")
    if customer is None:
        return None
    return Planned(ref=ref, kind=KINDS[kind], customer=customer, lines=lines, fields=fields,
                   issue_date=issue_date, credited_ref=credited_ref,
                   credited_invoice=credited_invoice)  # fmt: skip


def _credited(
    target,
    where: str,
    ref: str,
    refs: dict[str, str],
    company: Company,
    errors: list[str],
    *,
    finalise: bool,
) -> tuple[str, Invoice | None]:
    """The invoice a credit note corrects: the ref of one earlier in the file, or the number
    of a final invoice of the company."""
    path = f"{where}, credited_invoice"
    if not target:
        errors.append(
            f"{path} : un avoir doit indiquer la facture corrigée "
            "(ref d'une facture du fichier ou numéro d'une facture définitive)."
        )
        return "", None
    if _string(target, path, errors, max_length=REF_MAX_LENGTH) is None:
        return "", None
    if target in refs and target != ref:
        if not finalise:
            errors.append(
                f"{path} : la facture {target} du fichier ne sera définitive qu'avec "
                "--finalise ; un avoir ne corrige qu'une facture définitive."
            )
        return target, None
    credited = (
        Invoice.objects.final()
        .filter(company=company, number=target, kind=Invoice.Kind.INVOICE)
        .first()
    )
    if credited is None:
        errors.append(
            f"{path} : « {target} » n'est ni la ref d'une facture placée plus haut dans le "
            "fichier, ni une facture définitive de l'entreprise."
        )
    return "", credited


def _customer(
    raw: dict, where: str, customers: dict[str, list[Customer]], errors: list[str]
) -> Customer | None:
    siret = raw.get("customer_siret")
    if not siret:
        errors.append(f"{where}, customer_siret : obligatoire (SIRET du client).")
        return None
    if _string(siret, f"{where}, customer_siret", errors, max_length=REF_MAX_LENGTH) is None:
        return None
    matches = customers.get(siret, [])
    if not matches:
        errors.append(f"{where}, customer_siret : aucun client du dossier avec le SIRET {siret}.")
        return None
    if len(matches) > 1:
        codes = ", ".join(c.code for c in matches)
        errors.append(
            f"{where}, customer_siret : plusieurs clients ont le SIRET {siret} ({codes})."
        )
        return None
    return matches[0]


def _plan_line(path: str, raw_line, errors: list[str]) -> LineInput | None:
    if not isinstance(raw_line, dict):
        errors.append(f"{path} : objet attendu, reçu {_shown(raw_line)}.")
        return None
    for unknown in sorted(set(raw_line) - LINE_FIELDS):
        errors.append(f"{path}, {_key(unknown)} : champ inconnu.")
    label = _text(raw_line, "label", path, errors, 500)
    raw_label = raw_line.get("label")
    if raw_label is None or isinstance(raw_label, str) and not raw_label.strip():
        errors.append(f"{path}, label : le libellé est obligatoire.")
    quantity = _decimal(raw_line.get("quantity"), f"{path}, quantity", errors, places=4)
    if quantity is not None and quantity == 0:
        errors.append(f"{path}, quantity : la quantité ne peut pas être nulle.")
    price = _decimal(raw_line.get("unit_price"), f"{path}, unit_price", errors, places=4)
    if price is not None and price < 0:
        errors.append(f"{path}, unit_price : le prix unitaire ne peut pas être négatif.")
    units = set(Unit.values)
    unit = _code(raw_line, "unit", path, errors, Unit.PIECE)
    if unit is not None and unit not in units:
        errors.append(f"{path}, unit : {_shown(unit)} inconnu ({', '.join(sorted(units))}).")
    categories = set(VatCategory.values)
    category = _code(raw_line, "vat_category", path, errors, VatCategory.STANDARD)
    if category is not None and category not in categories:
        errors.append(
            f"{path}, vat_category : {_shown(category)} inconnue ({', '.join(sorted(categories))})."
        )
    default_rate = "20.00" if category == VatCategory.STANDARD else "0"
    rate = raw_line.get("vat_rate")
    rate = _decimal(default_rate if rate is None else rate, f"{path}, vat_rate", errors, places=2)
    reason = _text(raw_line, "exemption_reason", path, errors, 200)
    nature = _code(raw_line, "nature", path, errors, fr_ctc.Nature.SERVICES)
    if nature is not None and nature not in NATURES:
        errors.append(f"{path}, nature : {_shown(nature)} inconnue (goods ou services).")
    code = _code(raw_line, "exemption_code", path, errors, "")
    if code and code not in EXEMPTION_CODES:
        known = ", ".join(sorted(EXEMPTION_CODES))
        errors.append(f"{path}, exemption_code : {_shown(code)} inconnu ({known}).")
        code = None
    if code == "":  # the category's usual code (BT-121), as on the entry screen
        code = fr_ctc.DEFAULT_CODES.get(category, "")
    if rate is not None and category in categories and code is not None:
        try:
            reason = validate_vat(category, rate, reason, code)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                named = ", exemption_code" if name == "exemption_code" else ""
                errors.append(f"{path}{named} : {' '.join(messages)}")
    if None in (quantity, price, rate, unit, category, nature, code):
        return None
    return LineInput(label=label, quantity=quantity, unit_price=price, unit=unit,
                     vat_category=category, vat_rate=rate, exemption_reason=reason,
                     exemption_code=code, nature=nature)  # fmt: skip


# --- The French 2026 data: customers' identifiers, delivery addresses, already paid ----------

CUSTOMER_UPDATED = ["siren", "electronic_address", *Customer.DELIVERY_FIELDS]


def _plan_customers(raw, customers: dict[str, list[Customer]], errors: list[str]) -> list[Customer]:
    """The top-level "customers": SIREN, directory address and default delivery address of
    existing customers, matched by SIRET. The Customer objects are changed, not saved."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(f"customers : liste de clients attendue, reçu {_shown(raw)}.")
        return []
    seen: dict[str, str] = {}
    updated = []
    for index, item in enumerate(raw, 1):
        path = f"Client n°{index}"
        if not isinstance(item, dict):
            errors.append(f"{path} : objet attendu, reçu {_shown(item)}.")
            continue
        siret = item.get("siret")
        if isinstance(siret, str) and siret.isdigit() and len(siret) == 14:
            path = f"Client n°{index} (SIRET {siret})"
        for unknown in sorted(set(item) - CUSTOMER_FIELDS):
            errors.append(f"{path}, {_key(unknown)} : champ inconnu (voir docs/import-format.md).")
        if not siret:
            errors.append(f"{path}, siret : obligatoire (SIRET du client à compléter).")
            continue
        if _string(siret, f"{path}, siret", errors, max_length=REF_MAX_LENGTH) is None:
            continue
        matches = customers.get(siret, [])
        if len(matches) != 1:
            errors.append(
                f"{path}, siret : plusieurs clients ont le SIRET {siret} "
                f"({', '.join(c.code for c in matches)})."
                if matches
                else f"{path}, siret : aucun client du dossier avec le SIRET {siret}."
            )
            continue
        if siret in seen:
            errors.append(f"{path}, siret : ce client est déjà complété par {seen[siret]}.")
            continue
        seen[siret] = path
        if _update_customer(matches[0], item, path, errors):
            updated.append(matches[0])
    return updated


def _update_customer(customer: Customer, item: dict, path: str, errors: list[str]) -> bool:
    before = len(errors)
    siren = _text(item, "siren", path, errors, REF_MAX_LENGTH)
    if siren and not re.fullmatch(r"\d{9}", siren):
        errors.append(
            f"{path}, siren : « {siren[:40]} » n'est pas un SIREN (9 chiffres, sans espace)."
        )
    address = _text(item, "electronic_address", path, errors, 125)
    delivery = item.get("delivery_address")
    if delivery is not None:
        fields = _delivery(delivery, f"{path}, delivery_address", errors, customer.country_code)
        for name, value in (fields or {}).items():
            setattr(customer, name, value)
    if item.get("siren") is not None:
        customer.siren = siren
    if item.get("electronic_address") is not None:
        customer.electronic_address = address
    if len(errors) > before:
        return False
    try:
        customer.full_clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            # The SIRET is the key here: a SIREN it does not start with is the SIREN's fault.
            name = "siren" if name == "siret" else DELIVERY_NAMES.get(name, name)
            named = "" if name == "__all__" else f", {name}"
            errors.append(f"{path}{named} : {' '.join(messages)}")
        return False
    return True


def _delivery(value, path: str, errors: list[str], country: str) -> dict | None:
    """A delivery_address object as DeliveryAddress fields ({} : none); None if malformed."""
    if not isinstance(value, dict):
        errors.append(
            f"{path} : objet attendu (name, line1, line2, postcode, city, country_code), "
            f"reçu {_shown(value)}."
        )
        return None
    for unknown in sorted(set(value) - set(DELIVERY_KEYS)):
        errors.append(f"{path}, {_key(unknown)} : champ inconnu.")
    fields = {
        field: _text(value, key, path, errors, max_length)
        for key, (field, max_length) in DELIVERY_KEYS.items()
    }
    if not any(fields.values()):
        return fields
    missing = [key for key in ("line1", "postcode", "city") if not value.get(key)]
    if missing:
        errors.append(
            f"{path} : adresse incomplète, {', '.join(missing)} manquant "
            "(line1, postcode et city sont obligatoires)."
        )
    code = fields["delivery_country_code"]
    if code and not re.fullmatch(r"[A-Z]{2}", code):
        errors.append(
            f"{path}, country_code : « {code} » n'est pas un code pays ISO "
            "(deux lettres majuscules : FR, BE…)."
        )
    fields["delivery_country_code"] = code or country or "FR"
    return fields


def _fr_2026_fields(raw: dict, where: str, kind: str, customer, errors: list[str]) -> dict:
    """already_paid and delivery_address of an invoice, as services.invoice_create takes them."""
    fields = {}
    paid = raw.get("already_paid")
    if paid is not None and not isinstance(paid, bool):
        errors.append(f"{where}, already_paid : true ou false attendu, reçu {_shown(paid)}.")
    elif paid and kind == "credit_note":
        errors.append(f"{where}, already_paid : un avoir ne peut pas être marqué comme déjà payé.")
    else:
        fields["already_paid"] = bool(paid)
    if raw.get("delivery_address") is not None:
        country = customer.country_code if customer else ""
        path = f"{where}, delivery_address"
        delivery = _delivery(raw["delivery_address"], path, errors, country)
        if delivery is not None:
            fields["delivery_address"] = delivery
    return fields


def create(company: Company, planned: list[Planned], *, finalise: bool) -> list[Invoice]:
    by_ref: dict[str, Invoice] = {}
    created = []
    for index, item in enumerate(planned, 1):
        where = f"Facture n°{index}" + (f" (ref {item.ref})" if item.ref else "")
        credited = item.credited_invoice or by_ref.get(item.credited_ref)
        try:
            invoice = services.invoice_create(
                company=company,
                customer=item.customer,
                lines=item.lines,
                kind=item.kind,
                credited_invoice=credited,
                **item.fields,
            )
            if finalise:
                invoice = services.invoice_finalise(
                    invoice_id=invoice.pk, issue_date=item.issue_date
                )
        except ValidationError as exc:
            raise ImportError_(f"{where} : {' '.join(exc.messages)}") from exc
        except IntegrityError as exc:
            # Only the unique number per company can fail here: the company's invoice and
            # credit note patterns can give the same number (set before Company.clean checked).
            raise ImportError_(
                f"{where} : le numéro attribué existe déjà dans l'entreprise ; ses modèles de "
                "numéro de facture et d'avoir ne doivent pas pouvoir donner le même numéro."
            ) from exc
        if item.ref:
            by_ref[item.ref] = invoice
        created.append(invoice)
    return created
