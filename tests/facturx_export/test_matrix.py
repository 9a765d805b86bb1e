"""Every invoice shape gives a Factur-X the independent validator accepts."""

import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from pypdf import PdfReader

from tests.facturx_export.shapes import SHAPES

# The session-scoped matrix needs the test database, which pytest-django only creates
# for a session that holds at least one django_db test.
pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_SHAPES = [
    "one_line",
    "three_vat_rates",
    "credit_note",
    "franchise_seller_without_vat_number",
    "reverse_charge",
    "four_decimal_quantities",
    "basic_profile",
]
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def _errors(result: dict) -> list[str]:
    return [
        f"[{f['source']} {f['rule']}] {f['message']}"
        for f in result["findings"]
        if f["severity"] == "error"
    ]


def test_the_matrix_has_at_least_fifteen_shapes():
    assert len(SHAPES) >= 15


@pytest.mark.parametrize("shape", list(SHAPES))
def test_factur_x_passes_the_validator_with_zero_errors(shape, validation):
    result = validation[shape]
    assert _errors(result) == []


@pytest.mark.parametrize("shape", list(SHAPES))
def test_french_ctc_variant_passes_the_2026_french_rules(shape, validation_fr_ctc):
    result = validation_fr_ctc[shape]
    assert _errors(result) == []


@pytest.mark.parametrize("shape", GOLDEN_SHAPES)
def test_xml_matches_its_golden_file(shape, matrix):
    golden = GOLDEN / f"{shape}.xml"
    if os.environ.get("UPDATE_GOLDEN") or not golden.exists():
        golden.write_bytes(matrix[shape].xml)
    assert matrix[shape].xml.decode() == golden.read_text(encoding="utf-8")


def _xml_amount(xml: bytes, name: str) -> Decimal:
    root = etree.fromstring(xml)
    path = f"//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:{name}"
    return Decimal(root.xpath(path, namespaces=NS)[0].text)


def _pdf_amount(text: str, label: str) -> Decimal:
    """The amount printed on the same line as `label` (text laid out by position: the
    labels and the amounts of the summary are separate cells)."""
    match = re.search(re.escape(label) + r"[ \u00a0]*(-?[\d \u00a0\u202f]+,\d{2})[ \u00a0]*€", text)
    assert match, f"{label!r} not found on the PDF"
    return Decimal(re.sub(r"[\s\u00a0\u202f]", "", match.group(1)).replace(",", "."))


@pytest.mark.parametrize(
    "shape", ["one_line", "three_vat_rates", "150_lines_several_pages", "amounts_in_millions",
              "credit_note", "franchise_seller_without_vat_number"]
)  # fmt: skip
def test_pdf_visible_totals_equal_the_xml_totals(shape, matrix):
    item = matrix[shape]
    text = PdfReader(item.pdf).pages[-1].extract_text(extraction_mode="layout")
    assert _pdf_amount(text, "Total HT") == _xml_amount(item.xml, "TaxBasisTotalAmount")
    assert _pdf_amount(text, "Total TVA") == _xml_amount(item.xml, "TaxTotalAmount")
    assert _pdf_amount(text, "Total TTC") == _xml_amount(item.xml, "GrandTotalAmount")
    label = "Montant de l'avoir" if item.snapshot.is_credit_note else "Net à payer"
    assert _pdf_amount(text, label) == _xml_amount(item.xml, "DuePayableAmount")


def test_long_invoice_runs_over_pages_with_repeated_header_and_page_numbers(matrix):
    pages = PdfReader(matrix["150_lines_several_pages"].pdf).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, 1):
        text = page.extract_text()
        assert "Désignation" in text
        assert f"Page {number} / {len(pages)}" in text


def test_embedded_xml_is_the_built_xml_and_the_file_holds_one_pdf(matrix):
    item = matrix["ten_lines"]
    data = item.pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.count(b"%PDF-") == 1
    assert data.rstrip().endswith(b"%%EOF") and data.count(b"%%EOF") == 1
    with pikepdf.open(io.BytesIO(data)) as pdf:
        attached = pdf.attachments["factur-x.xml"].get_file().read_bytes()
        assert attached == item.xml
        assert str(pdf.docinfo["/Producer"]) == str(pdf.open_metadata()["pdf:Producer"])


def test_chorus_data_is_where_chorus_pro_reads_it(matrix):
    root = etree.fromstring(matrix["one_line"].xml)
    agreement = "//ram:ApplicableHeaderTradeAgreement"
    buyer_id = root.xpath(f"{agreement}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID",
                          namespaces=NS)[0]  # fmt: skip
    assert (buyer_id.text, buyer_id.get("schemeID")) == ("11000601200014", "0009")
    assert root.xpath(f"string({agreement}/ram:BuyerReference)", namespaces=NS) == "SERV-TECH-01"
    order = f"string({agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID)"
    assert root.xpath(order, namespaces=NS) == "EJ-2026-000123"
    means = "string(//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode)"
    assert root.xpath(means, namespaces=NS) == "58"
    assert root.xpath("string(//ram:IBANID)", namespaces=NS) == "FR7630006000011234567890189"


def test_credit_note_is_type_381_with_positive_amounts_and_the_corrected_invoice(matrix):
    root = etree.fromstring(matrix["credit_note"].xml)
    assert root.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS) == "381"
    assert _xml_amount(matrix["credit_note"].xml, "GrandTotalAmount") > 0
    preceding = "string(//ram:InvoiceReferencedDocument/ram:IssuerAssignedID)"
    assert root.xpath(preceding, namespaces=NS).startswith("FA2026-")


def test_pdf_shows_the_french_mandatory_mentions(matrix):
    text = " ".join(
        page.extract_text()
        for page in PdfReader(matrix["franchise_seller_without_vat_number"].pdf).pages
    )
    text = re.sub(r"\s+", " ", text)
    for mention in (
        "SIREN 732829320",
        "SIRET 73282932000074",
        "TVA non applicable, art. 293 B du CGI",
        "taux annuel de 12,15 %",
        "indemnité forfaitaire pour frais de recouvrement de 40 €",
        "IBAN FR76 3000 6000 0112 3456 7890 189",
        "Échéance",
    ):
        assert mention in text
