"""python manage.py import_invoices FILE.json [--finalise]  (format: docs/import-format.md)

All or nothing: every invoice of the file is validated first; one error anywhere and
nothing is imported. Each message says which invoice, which field, and why.
"""

import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from invoicing import services
from invoicing.models import Company, Customer, Invoice, Unit, VatCategory
from invoicing.services import LineInput
from invoicing.validators import validate_vat

KINDS = {"invoice": Invoice.Kind.INVOICE, "credit_note": Invoice.Kind.CREDIT_NOTE}
INVOICE_FIELDS = {
    "ref", "kind", "customer_siret", "issue_date", "due_date", "delivery_date",
    "buyer_reference", "order_reference", "payment_terms", "note", "credited_invoice", "lines",
}  # fmt: skip
LINE_FIELDS = {"label", "quantity", "unit_price", "unit", "vat_category", "vat_rate",
               "exemption_reason"}  # fmt: skip


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
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"{file} : lecture impossible ({exc.strerror}).") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file} : JSON invalide ({exc}).") from exc
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


def _where(index: int, raw: dict) -> str:
    ref = raw.get("ref") if isinstance(raw, dict) else None
    return f"Facture n°{index}" + (f" (ref {ref})" if ref else "")


def _decimal(value, path: str, errors: list[str], *, places: int) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(f'{path} : nombre attendu (par exemple "12.50"), reçu {value!r}.')
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.append(f"{path} : « {value} » n'est pas un nombre (séparateur décimal : point).")
        return None
    if not number.is_finite():
        errors.append(f"{path} : « {value} » n'est pas un nombre.")
        return None
    if number != number.quantize(Decimal(1).scaleb(-places)):
        errors.append(f"{path} : {value} a plus de {places} décimales.")
        return None
    return number


def _date(value, path: str, errors: list[str]) -> datetime.date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        errors.append(f"{path} : « {value} » n'est pas une date AAAA-MM-JJ.")
        return None


def _text(raw: dict, key: str, path: str, errors: list[str], max_length: int) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(f"{path}.{key} : texte attendu, reçu {value!r}.")
        return ""
    if len(value) > max_length:
        errors.append(f"{path}.{key} : {len(value)} caractères, {max_length} au plus.")
    return value


def plan(data, errors: list[str], *, finalise: bool):
    if not isinstance(data, dict):
        errors.append(
            'Le fichier doit contenir un objet JSON {"company_siret": …, "invoices": […]}.'
        )
        return None, []
    siret = data.get("company_siret")
    companies = Company.objects.filter(siret=siret) if isinstance(siret, str) else []
    if data.get("dossier") is not None:
        companies = companies.filter(dossier_id=data["dossier"]) if companies else companies
    companies = list(companies)
    if not siret:
        errors.append("company_siret : le SIRET de l'entreprise émettrice est obligatoire.")
        return None, []
    if not companies:
        errors.append(f"company_siret : aucune entreprise avec le SIRET {siret}.")
        return None, []
    if len(companies) > 1:
        errors.append(
            f"company_siret : plusieurs entreprises ont le SIRET {siret} ; "
            'précisez "dossier" (identifiant du dossier).'
        )
        return None, []
    company = companies[0]
    invoices = data.get("invoices")
    if not isinstance(invoices, list) or not invoices:
        errors.append("invoices : liste de factures attendue (au moins une).")
        return company, []
    customers: dict[str, list[Customer]] = {}
    for customer in Customer.objects.filter(dossier=company.dossier).exclude(siret=""):
        customers.setdefault(customer.siret, []).append(customer)
    refs: dict[str, str] = {}
    planned = []
    units = set(Unit.values)
    categories = set(VatCategory.values)
    for index, raw in enumerate(invoices, 1):
        where = _where(index, raw)
        if not isinstance(raw, dict):
            errors.append(f"{where} : objet attendu.")
            continue
        for unknown in sorted(set(raw) - INVOICE_FIELDS):
            errors.append(f"{where}, {unknown} : champ inconnu (voir docs/import-format.md).")
        ref = raw.get("ref") or ""
        if ref:
            if ref in refs:
                errors.append(f"{where}, ref : « {ref} » est déjà utilisée par {refs[ref]}.")
            refs[ref] = where
        kind = raw.get("kind", "invoice")
        if kind not in KINDS:
            errors.append(f"{where}, kind : « {kind} » inconnu (invoice ou credit_note).")
            continue
        customer_siret = raw.get("customer_siret")
        matches = customers.get(customer_siret or "", [])
        customer = None
        if not customer_siret:
            errors.append(f"{where}, customer_siret : obligatoire (SIRET du client).")
        elif not matches:
            errors.append(
                f"{where}, customer_siret : aucun client du dossier avec le SIRET {customer_siret}."
            )
        elif len(matches) > 1:
            codes = ", ".join(c.code for c in matches)
            errors.append(
                f"{where}, customer_siret : plusieurs clients ont le SIRET {customer_siret} "
                f"({codes})."
            )
        else:
            customer = matches[0]
        fields = {
            "buyer_reference": _text(raw, "buyer_reference", where, errors, 100),
            "order_reference": _text(raw, "order_reference", where, errors, 50),
            "payment_terms": _text(raw, "payment_terms", where, errors, 300),
            "note": _text(raw, "note", where, errors, 10_000),
            "due_date": _date(raw.get("due_date"), f"{where}, due_date", errors),
            "delivery_date": _date(raw.get("delivery_date"), f"{where}, delivery_date", errors),
        }
        issue_date = _date(raw.get("issue_date"), f"{where}, issue_date", errors)
        lines = []
        raw_lines = raw.get("lines")
        if not isinstance(raw_lines, list) or not raw_lines:
            errors.append(f"{where}, lines : au moins une ligne est obligatoire.")
            raw_lines = []
        for number, raw_line in enumerate(raw_lines, 1):
            path = f"{where}, ligne {number}"
            if not isinstance(raw_line, dict):
                errors.append(f"{path} : objet attendu.")
                continue
            for unknown in sorted(set(raw_line) - LINE_FIELDS):
                errors.append(f"{path}, {unknown} : champ inconnu.")
            label = _text(raw_line, "label", path, errors, 500)
            if not label.strip():
                errors.append(f"{path}, label : le libellé est obligatoire.")
            quantity = _decimal(raw_line.get("quantity"), f"{path}, quantity", errors, places=4)
            if quantity is not None and quantity == 0:
                errors.append(f"{path}, quantity : la quantité ne peut pas être nulle.")
            price = _decimal(raw_line.get("unit_price"), f"{path}, unit_price", errors, places=4)
            if price is not None and price < 0:
                errors.append(f"{path}, unit_price : le prix unitaire ne peut pas être négatif.")
            unit = raw_line.get("unit", Unit.PIECE)
            if unit not in units:
                errors.append(f"{path}, unit : « {unit} » inconnu ({', '.join(sorted(units))}).")
            category = raw_line.get("vat_category", VatCategory.STANDARD)
            if category not in categories:
                errors.append(
                    f"{path}, vat_category : « {category} » inconnue "
                    f"({', '.join(sorted(categories))})."
                )
            default_rate = "20.00" if category == VatCategory.STANDARD else "0"
            rate = _decimal(raw_line.get("vat_rate", default_rate), f"{path}, vat_rate", errors,
                            places=2)  # fmt: skip
            reason = _text(raw_line, "exemption_reason", path, errors, 200)
            if rate is not None and category in categories:
                try:
                    validate_vat(category, rate, reason)
                except ValidationError as exc:
                    errors.append(f"{path} : {' '.join(exc.messages)}")
            if None not in (quantity, price, rate):
                lines.append(
                    LineInput(label=label, quantity=quantity, unit_price=price, unit=unit,
                              vat_category=category, vat_rate=rate, exemption_reason=reason)
                )  # fmt: skip
        credited_ref, credited_invoice = "", None
        if kind == "credit_note":
            target = raw.get("credited_invoice")
            if not target:
                errors.append(
                    f"{where}, credited_invoice : un avoir doit indiquer la facture corrigée "
                    "(ref d'une facture du fichier ou numéro d'une facture définitive)."
                )
            elif target in refs and target != ref:
                if not finalise:
                    errors.append(
                        f"{where}, credited_invoice : la facture {target} du fichier ne sera "
                        "définitive qu'avec --finalise ; un avoir ne corrige qu'une facture "
                        "définitive."
                    )
                credited_ref = target
            else:
                credited_invoice = (
                    Invoice.objects.final()
                    .filter(company=company, number=target, kind=Invoice.Kind.INVOICE)
                    .first()
                )
                if credited_invoice is None:
                    errors.append(
                        f"{where}, credited_invoice : « {target} » n'est ni la ref d'une facture "
                        "placée plus haut dans le fichier, ni une facture définitive de "
                        "l'entreprise."
                    )
        elif raw.get("credited_invoice"):
            errors.append(f"{where}, credited_invoice : seul un avoir corrige une facture.")
        if customer is not None:
            planned.append(
                Planned(ref=ref, kind=KINDS[kind], customer=customer, lines=lines, fields=fields,
                        issue_date=issue_date, credited_ref=credited_ref,
                        credited_invoice=credited_invoice)
            )  # fmt: skip
    return company, planned


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
        if item.ref:
            by_ref[item.ref] = invoice
        created.append(invoice)
    return created
