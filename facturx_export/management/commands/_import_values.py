"""The JSON values of import_invoices: reading the file, and each kind of value (text, code,
decimal, date) checked with a French message naming where it is; `None` when refused."""

import datetime
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import CommandError

from invoicing.text import not_xml_characters

REF_MAX_LENGTH = 100
DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Digits before the decimal point that the lines' columns hold (DecimalField max_digits -
# decimal_places): quantity and unit price 15 - 4, VAT rate 5 - 2.
INTEGER_DIGITS = {4: 11, 2: 3}


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
