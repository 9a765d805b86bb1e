"""import_invoices on hostile files: a precise French message, nothing imported, no traceback."""

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from invoicing.models import Invoice
from tests.factories import BUYER_SIRET, SELLER_SIRET

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _invoice(**fields) -> dict:
    invoice = {
        "ref": "EXT-1",
        "customer_siret": BUYER_SIRET,
        "lines": [{"label": "Conseil", "quantity": "2", "unit_price": "450.00"}],
    }
    invoice.update(fields)
    return invoice


def _file(tmp_path, data) -> str:
    path = tmp_path / "import.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def _refused(tmp_path, data, *args) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("import_invoices", _file(tmp_path, data), *args)
    assert Invoice.objects.count() == 0
    return str(caught.value)


def _one(*invoices, **top) -> dict:
    return {"company_siret": SELLER_SIRET, "invoices": list(invoices), **top}


# Numbers.


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1e308", "quantity : « 1E+308 » est trop grand (11 chiffres avant la virgule au plus)."),
        ("-1e308", "quantity : « -1E+308 » est trop grand"),
        (
            "123456789012345678901234567890",
            "quantity : « 123456789012345678901234567890 » est trop grand",
        ),
        (
            '"123456789012345678901234567890"',
            "quantity : « 123456789012345678901234567890 » est trop grand",
        ),
        ("1" * 5000, f"quantity : « {'1' * 40}… » est trop grand"),
        ("1e-30", "quantity : « 1E-30 » a plus de 4 décimales."),
        ('"0.' + "0" * 60 + '1"', f"quantity : « 0.{'0' * 38}… » a plus de 4 décimales."),
        ('"1_000"', "quantity : « 1_000 » n'est pas un nombre (séparateur décimal : point)."),
        ('"1e3"', "quantity : « 1e3 » n'est pas un nombre"),
        ('"NaN"', "quantity : « NaN » n'est pas un nombre"),
        ("true", 'quantity : nombre attendu (par exemple "12.50"), reçu true.'),
        ("[1]", 'quantity : nombre attendu (par exemple "12.50"), reçu une liste.'),
    ],
)
def test_an_out_of_range_or_malformed_quantity_is_named(company, customer, tmp_path, raw, message):
    text = json.dumps(_one(_invoice())).replace('"quantity": "2"', f'"quantity": {raw}')

    assert f"Facture n°1 (ref EXT-1), ligne 1, {message}" in _refused(tmp_path, text)


def test_a_huge_vat_rate_is_too_large_not_a_crash(company, customer, tmp_path):
    line = {"label": "Conseil", "quantity": "1", "unit_price": "1", "vat_rate": 1e300}

    message = _refused(tmp_path, _one(_invoice(lines=[line])))

    assert "ligne 1, vat_rate : « 1E+300 » est trop grand (3 chiffres avant la virgule" in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_numbers_are_refused(company, customer, tmp_path, constant):
    text = json.dumps(_one(_invoice())).replace('"2"', constant)

    assert f"« {constant} » n'est pas une valeur JSON" in _refused(tmp_path, text)


# Shapes and types.


def test_deeply_nested_json_is_refused_before_anything_else(db, tmp_path):
    assert "JSON invalide, imbrication trop profonde." in _refused(tmp_path, "[" * 200_000)


def test_a_top_level_list_is_refused(db, tmp_path):
    message = _refused(tmp_path, [_one(_invoice())])

    assert 'Le fichier doit contenir un objet JSON {"company_siret": …' in message


def test_a_syntax_error_gives_line_and_column_in_french(db, tmp_path):
    message = _refused(tmp_path, '{\n  "company_siret": "x",\n  oops\n}')

    assert "JSON invalide, ligne 3, colonne 3" in message


def test_a_file_that_is_not_utf8_is_refused(db, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"company_siret": "é"}'.encode("latin-1"))

    with pytest.raises(CommandError, match="n'est pas en UTF-8 \\(octet 19\\)"):
        call_command("import_invoices", str(path))


def test_a_byte_order_mark_is_tolerated(company, customer, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(json.dumps(_one(_invoice())).encode("utf-8-sig"))

    call_command("import_invoices", str(path))

    assert Invoice.objects.count() == 1


INVOICE_STRINGS = ["ref", "kind", "customer_siret", "buyer_reference", "order_reference",
                   "payment_terms", "note"]  # fmt: skip


@pytest.mark.parametrize("key", INVOICE_STRINGS)
@pytest.mark.parametrize(("value", "shown"), [(["A"], "une liste"), ({"a": 1}, "un objet")])
def test_a_list_or_object_where_an_invoice_string_is_expected_is_named(
    company, customer, tmp_path, key, value, shown
):
    message = _refused(tmp_path, _one(_invoice(**{key: value})))

    where = "Facture n°1" if key == "ref" else "Facture n°1 (ref EXT-1)"
    assert f"{where}, {key} : texte attendu, reçu {shown}." in message


@pytest.mark.parametrize(
    "key", ["label", "unit", "vat_category", "exemption_reason", "exemption_code", "nature"]
)
@pytest.mark.parametrize(("value", "shown"), [(["S"], "une liste"), ({"S": 1}, "un objet")])
def test_a_list_or_object_where_a_line_string_is_expected_is_named(
    company, customer, tmp_path, key, value, shown
):
    line = {"label": "Conseil", "quantity": "1", "unit_price": "1", key: value}

    message = _refused(tmp_path, _one(_invoice(lines=[line])))

    assert f"Facture n°1 (ref EXT-1), ligne 1, {key} : texte attendu, reçu {shown}." in message


@pytest.mark.parametrize("value", [["EXT-0"], {"ref": "EXT-0"}, 12])
def test_a_credited_invoice_that_is_not_a_string_is_named(company, customer, tmp_path, value):
    credit = _invoice(ref="AV-1", kind="credit_note", credited_invoice=value)

    message = _refused(tmp_path, _one(credit), "--finalise")

    assert "Facture n°1 (ref AV-1), credited_invoice : texte attendu, reçu" in message


@pytest.mark.parametrize("key", ["issue_date", "due_date", "delivery_date"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [(["2026-01-01"], "une liste"), (20260101, "« 20260101 »"), ("20260101", "« 20260101 »"),
     ("2026-W01-1", "« 2026-W01-1 »"), ("2026-02-30", "« 2026-02-30 »")],
)  # fmt: skip
def test_a_date_that_is_not_yyyy_mm_dd_is_named(company, customer, tmp_path, key, value, shown):
    message = _refused(tmp_path, _one(_invoice(**{key: value})))

    assert f"Facture n°1 (ref EXT-1), {key} : {shown} n'est pas une date AAAA-MM-JJ." in message


@pytest.mark.parametrize("siret", [["73282932000074"], {"siret": 1}])
def test_a_company_siret_that_is_not_a_string_is_named(db, tmp_path, siret):
    message = _refused(tmp_path, {"company_siret": siret, "invoices": [_invoice()]})

    assert "company_siret : texte attendu, reçu" in message


@pytest.mark.parametrize(
    ("value", "shown"),
    [("abc", "« abc »"), ("1", "« 1 »"), (1.5, "« 1.5 »"), (True, "true"), ([1], "une liste"),
     (0, "« 0 »"), (-3, "« -3 »"), (10**30, "« 1000000000000000000000000000000 »")],
)  # fmt: skip
def test_a_dossier_that_is_not_an_id_is_named(company, customer, tmp_path, value, shown):
    message = _refused(tmp_path, _one(_invoice(), dossier=value))

    assert f"dossier : identifiant de dossier attendu (nombre entier), reçu {shown}." in message


def test_an_unknown_top_level_field_is_an_error(company, customer, tmp_path):
    message = _refused(tmp_path, _one(_invoice(), dosier=1))

    assert "dosier : champ inconnu (voir docs/import-format.md)." in message


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [("label", "Conseil\x00", "U+0000"), ("note", "bip\x07", "U+0007"),
     ("customer_siret", "\ud800", "U+D800"), ("credited_invoice", "FA\x00", "U+0000"),
     ("ref", "EXT\x1b", "U+001B")],
)  # fmt: skip
def test_control_characters_are_refused_before_the_database(
    company, customer, tmp_path, key, value, code
):
    if key == "label":
        invoice = _invoice(lines=[{"label": value, "quantity": "1", "unit_price": "1"}])
    elif key == "credited_invoice":
        invoice = _invoice(kind="credit_note", credited_invoice=value)
    else:
        invoice = _invoice(**{key: value})

    message = _refused(tmp_path, _one(invoice), "--finalise")

    assert f"{key} : caractère de contrôle interdit ({code})." in message


def test_an_overlong_ref_is_refused_and_not_repeated_in_every_message(company, customer, tmp_path):
    message = _refused(tmp_path, _one(_invoice(ref="R" * 5000, kind="bogus")))

    assert "Facture n°1, ref : 5000 caractères, 100 au plus." in message
    assert "Facture n°1, kind : « bogus » inconnu" in message
    assert len(message) < 500


# Dates.


def test_an_issue_date_in_the_future_is_refused(company, customer, tmp_path):
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)

    message = _refused(tmp_path, _one(_invoice(issue_date=tomorrow.isoformat())), "--finalise")

    assert (
        f"Facture n°1 (ref EXT-1), issue_date : le {tomorrow:%d/%m/%Y} est dans le futur "
        f"(aujourd'hui : {today:%d/%m/%Y}) ; une facture ne peut pas être datée d'un jour à venir."
    ) in message


def test_a_far_future_issue_date_with_finalise_is_refused_not_a_crash(company, customer, tmp_path):
    data = _one(_invoice(issue_date="9999-12-31"), _invoice(ref="EXT-2"))

    message = _refused(tmp_path, data, "--finalise")

    assert "Facture n°1 (ref EXT-1), issue_date : le 31/12/9999 est dans le futur" in message


def test_an_issue_date_of_today_is_accepted(company, customer, tmp_path):
    today = timezone.localdate()

    call_command(
        "import_invoices", _file(tmp_path, _one(_invoice(issue_date=today.isoformat()))),
        "--finalise",
    )  # fmt: skip

    assert Invoice.objects.get().issue_date == today


# Numbering.


def test_patterns_that_give_the_same_number_fail_cleanly(company, customer, tmp_path):
    # Saved before Company.clean refused such a pair: the unique number is the backstop.
    company.credit_note_number_pattern = company.invoice_number_pattern
    company.save()
    credit = _invoice(ref="AV-1", kind="credit_note", credited_invoice="EXT-1")

    message = _refused(tmp_path, _one(_invoice(issue_date="2026-01-15"), credit), "--finalise")

    assert "Facture n°2 (ref AV-1) : le numéro attribué existe déjà dans l'entreprise" in message


# The real command: exit code 1 and a message, never a traceback.


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 200_000, "JSON invalide, imbrication trop profonde."),
        ("[1, 2]", "Le fichier doit contenir un objet JSON"),
        ('{"company_siret": ' + "9" * 5000 + "}", "company_siret : texte attendu"),
        ('{"company_siret": NaN}', "« NaN » n'est pas une valeur JSON"),
    ],
)
def test_the_command_line_ends_with_a_message_not_a_traceback(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")

    completed = subprocess.run(
        [sys.executable, "manage.py", "import_invoices", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert message in completed.stderr
