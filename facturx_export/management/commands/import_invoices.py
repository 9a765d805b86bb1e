"""python manage.py import_invoices FILE.json [--finalise]  (format: docs/import-format.md)

All or nothing: every invoice of the file is validated first; one error anywhere and
nothing is imported. Each message says which invoice, which field, and why. Whatever the
file holds, the command ends with such a message (CommandError), never a traceback.
"""

import datetime
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing import services
from invoicing.models import Company, Customer, Invoice, Unit, VatCategory
from invoicing.services import LineInput
from invoicing.text import not_xml_characters
from invoicing.validators import validate_vat

KINDS = {"invoice": Invoice.Kind.INVOICE, "credit_note": Invoice.Kind.CREDIT_NOTE}
TOP_FIELDS = {"company_siret", "dossier", "invoices"}
INVOICE_FIELDS = {
    "ref", "kind", "customer_siret", "issue_date", "due_date", "delivery_date",
    "buyer_reference", "order_reference", "payment_terms", "note", "credited_invoice", "lines",
}  # fmt: skip
LINE_FIELDS = {"label", "quantity", "unit_price", "unit", "vat_category", "vat_rate",
               "exemption_reason"}  # fmt: skip
REF_MAX_LENGTH = 100
MAX_ID = 2**63 - 1  # BigAutoField
DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Digits before the decimal point that the lines' columns hold (DecimalField max_digits -
# decimal_places): quantity and unit price 15 - 4, VAT rate 5 - 2.
INTEGER_DIGITS = {4: 11, 2: 3}


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
        company, planned = plan(data, errors, finalise=finalise)
        if errors:
            raise CommandError(
                "Rien n'a été importé :\n" + "\n".join(f"- {error}" for error in errors)
            )
        try:
            with transaction.atomic():
                created = create(company, planned, finalise=finalise)
        except ImportError_ as exc:
            raise CommandError(f"Rien n'a été importé :\n- {exc}") from exc
        for invoice in created:
            self.stdout.write(f"{invoice} ({invoice.customer.name})")
        state = "définitive(s)" if finalise else "provisoire(s)"
        self.stdout.write(f"{len(created)} facture(s) importée(s), {state}.")


def _parse_int(text: str) -> int | Decimal:
    # int() refuses more than 4,300 digits (sys.int_info); such a number is refused later,
    # with its field, as too large.
    return int(text) if len(text) <= 100 else Decimal(text)


def _refuse_constant(name: str):
    raise ValueError(f"« {name} » n'est pas une valeur JSON")


def load(file: Path):
    """The file's JSON (floats as Decimal), or a CommandError saying why not."""
    try:
        text = file.read_text(encoding="utf-8-sig")  # a byte order mark is tolerated
    except UnicodeDecodeError as exc:
        raise CommandError(f"{file} : le fichier n'est pas en UTF-8 (octet {exc.start}).") from exc
    except OSError as exc:
        raise CommandError(f"{file} : lecture impossible ({exc.strerror or exc}).") from exc
    try:
        return json.loads(
            text, parse_float=Decimal, parse_int=_parse_int, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{file} : JSON invalide, ligne {exc.lineno}, colonne {exc.colno} ({exc.msg})."
        ) from exc
    except RecursionError as exc:
        raise CommandError(f"{file} : JSON invalide, imbrication trop profonde.") from exc
    except ValueError as exc:
        raise CommandError(f"{file} : JSON invalide ({exc}).") from exc


def _key(name: str) -> str:
    return f"{name[:40]}…" if len(name) > 40 else name


def _shown(value) -> str:
    """A JSON value as a message names it: short, and never the whole of a big one."""
    if isinstance(value, list):
        return "une liste"
    if isinstance(value, dict):
        return "un objet"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = str(value)
    return f"« {text[:40]}… »" if len(text) > 40 else f"« {text} »"


def _string(value, path: str, errors: list[str], *, max_length: int) -> str | None:
    """`value` if it is a string fit for the database and the XML; else an error and None."""
    if not isinstance(value, str):
        errors.append(f"{path} : texte attendu, reçu {_shown(value)}.")
        return None
    # Checked before any query: PostgreSQL refuses NUL, and a lone surrogate has no UTF-8.
    bad = not_xml_characters(value)
    if bad:
        errors.append(f"{path} : caractère de contrôle interdit (U+{ord(bad[0]):04X}).")
        return None
    if len(value) > max_length:
        errors.append(f"{path} : {len(value)} caractères, {max_length} au plus.")
        return None
    return value


def _text(raw: dict, key: str, path: str, errors: list[str], max_length: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    return _string(value, f"{path}, {key}", errors, max_length=max_length) or ""


def _code(raw: dict, key: str, path: str, errors: list[str], default: str) -> str | None:
    """A code field (kind, unit, vat_category): absent or null means its default."""
    value = raw.get(key)
    if value is None:
        return default
    return _string(value, f"{path}, {key}", errors, max_length=REF_MAX_LENGTH)


def _decimal(value, path: str, errors: list[str], *, places: int) -> Decimal | None:
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        number = Decimal(value)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        errors.append(f"{path} : {_shown(value)} n'est pas un nombre (séparateur décimal : point).")
        return None
    else:
        errors.append(f'{path} : nombre attendu (par exemple "12.50"), reçu {_shown(value)}.')
        return None
    # Checked before rounding: quantize() raises past 28 digits (1e308, 30-digit numbers).
    if number and number.adjusted() >= INTEGER_DIGITS[places]:
        errors.append(
            f"{path} : {_shown(value)} est trop grand "
            f"({INTEGER_DIGITS[places]} chiffres avant la virgule au plus)."
        )
        return None
    try:
        rounded = number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        rounded = None
    if rounded != number:
        errors.append(f"{path} : {_shown(value)} a plus de {places} décimales.")
        return None
    return number


def _date(value, path: str, errors: list[str]) -> datetime.date | None:
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str) or not DATE.fullmatch(value):
            raise ValueError(value)
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors.append(f"{path} : {_shown(value)} n'est pas une date AAAA-MM-JJ.")
        return None


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
    if not isinstance(data, dict):
        errors.append(
            'Le fichier doit contenir un objet JSON {"company_siret": …, "invoices": […]}.'
        )
        return None, []
    company = _company(data, errors)
    if company is None:
        return None, []
    invoices = data.get("invoices")
    if not isinstance(invoices, list) or not invoices:
        errors.append("invoices : liste de factures attendue (au moins une).")
        return company, []
    customers: dict[str, list[Customer]] = {}
    for customer in Customer.objects.filter(dossier=company.dossier).exclude(siret=""):
        customers.setdefault(customer.siret, []).append(customer)
    refs: dict[str, str] = {}
    planned = []
    today = timezone.localdate()
    for index, raw in enumerate(invoices, 1):
        item = _plan_invoice(index, raw, company, customers, refs, errors, finalise, today)
        if item is not None:
            planned.append(item)
    return company, planned


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
    if rate is not None and category in categories:
        try:
            validate_vat(category, rate, reason)
        except ValidationError as exc:
            errors.append(f"{path} : {' '.join(exc.messages)}")
    if None in (quantity, price, rate, unit, category):
        return None
    return LineInput(label=label, quantity=quantity, unit_price=price, unit=unit,
                     vat_category=category, vat_rate=rate, exemption_reason=reason)  # fmt: skip


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
