"""export_facturx and import_invoices from the command line."""

import json

import pytest
from django.core.management import CommandError, call_command

from invoicing.models import Invoice, NumberingCounter
from tests.factories import BUYER_SIRET, SELLER_SIRET

pytestmark = pytest.mark.django_db


def test_export_of_one_invoice_writes_its_factur_x(final_invoice, tmp_path):
    call_command("export_facturx", "--invoice", final_invoice.number, "--out", str(tmp_path))
    written = tmp_path / f"Facture_{final_invoice.number}.pdf"
    assert written.read_bytes().startswith(b"%PDF-")


def test_export_all_writes_one_file_per_final_invoice(final_invoice, make_invoice, tmp_path):
    make_invoice()  # provisional: not exported
    call_command("export_facturx", "--all", "--out", str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == [f"Facture_{final_invoice.number}.pdf"]


def test_export_of_an_unknown_number_fails_clearly(db, tmp_path):
    with pytest.raises(CommandError, match="FA1999-00001"):
        call_command("export_facturx", "--invoice", "FA1999-00001", "--out", str(tmp_path))


def _write(tmp_path, data):
    path = tmp_path / "import.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


GOOD = {
    "company_siret": SELLER_SIRET,
    "invoices": [
        {
            "ref": "EXT-1",
            "customer_siret": BUYER_SIRET,
            "issue_date": "2026-01-15",
            "buyer_reference": "SERV-01",
            "order_reference": "EJ-42",
            "lines": [
                {"label": "Conseil", "quantity": "2", "unit_price": "450.00"},
                {"label": "Livres", "quantity": 3, "unit_price": "12.5", "vat_rate": "5.50"},
            ],
        },
        {
            "ref": "EXT-2",
            "kind": "credit_note",
            "customer_siret": BUYER_SIRET,
            "credited_invoice": "EXT-1",
            "lines": [{"label": "Conseil (annulé)", "quantity": "1", "unit_price": "450"}],
        },
    ],
}


def test_import_creates_final_invoices_and_credit_notes(company, customer, tmp_path):
    call_command("import_invoices", _write(tmp_path, GOOD), "--finalise")
    invoice = Invoice.objects.get(kind=Invoice.Kind.INVOICE)
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert invoice.is_final and invoice.issue_date.isoformat() == "2026-01-15"
    assert invoice.order_reference == "EJ-42" and invoice.lines.count() == 2
    assert credit.is_final and credit.credited_invoice == invoice


def test_import_without_finalise_leaves_invoices_provisional(company, customer, tmp_path):
    data = {**GOOD, "invoices": GOOD["invoices"][:1]}
    call_command("import_invoices", _write(tmp_path, data))
    assert Invoice.objects.get().state == Invoice.State.PROVISIONAL


def test_bad_input_names_invoice_field_and_reason_and_imports_nothing(company, customer, tmp_path):
    bad = json.loads(json.dumps(GOOD))
    bad["invoices"][1]["lines"][0]["quantity"] = "1,5"
    bad["invoices"].append({"ref": "EXT-3", "customer_siret": "12345678901234", "lines": []})
    with pytest.raises(CommandError) as caught:
        call_command("import_invoices", _write(tmp_path, bad), "--finalise")
    message = str(caught.value)
    assert "Rien n'a été importé" in message
    assert "Facture n°2 (ref EXT-2), ligne 1, quantity : « 1,5 » n'est pas un nombre" in message
    assert "Facture n°3 (ref EXT-3), customer_siret : aucun client du dossier" in message
    assert "Facture n°3 (ref EXT-3), lines : au moins une ligne" in message
    assert Invoice.objects.count() == 0


def test_exempt_line_without_reason_is_refused(company, customer, tmp_path):
    bad = json.loads(json.dumps(GOOD))
    bad["invoices"][0]["lines"][0].update(vat_category="E", vat_rate="0")
    with pytest.raises(CommandError, match=r"Facture n°1 \(ref EXT-1\), ligne 1 : .*motif"):
        call_command("import_invoices", _write(tmp_path, bad))
    assert Invoice.objects.count() == 0


def test_credit_note_of_an_invoice_in_the_file_needs_finalise(company, customer, tmp_path):
    with pytest.raises(CommandError, match="credited_invoice : .*--finalise"):
        call_command("import_invoices", _write(tmp_path, GOOD))
    assert Invoice.objects.count() == 0


def test_import_finalise_refuses_an_invoice_that_fails_the_preflight(company, customer, tmp_path):
    type(company).objects.filter(pk=company.pk).update(iban="")
    with pytest.raises(CommandError) as refused:
        call_command("import_invoices", _write(tmp_path, GOOD), "--finalise")
    assert "IBAN" in str(refused.value) and "Rien n'a été importé" in str(refused.value)
    assert not Invoice.objects.exists()
    assert not NumberingCounter.objects.filter(last_number__gt=0).exists()


def test_export_of_a_final_invoice_whose_text_the_xml_cannot_carry_says_so(
    final_invoice, tmp_path, capsys
):
    from django.db import connection

    # Stored before entry refused such characters; the ORM guards final rows, so the test
    # writes it as an older version's data would be.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoicing_invoiceline SET label = %s WHERE invoice_id = %s",
            ["Conseil\x01", final_invoice.pk],
        )
    with pytest.raises(CommandError, match="refusée"):
        call_command("export_facturx", "--invoice", final_invoice.number, "--out", str(tmp_path))
    assert "corrigez-la par un avoir" in capsys.readouterr().err
