"""Every invoice shape gives a Factur-X the independent validator accepts, French 2026 rules
(BR-FR) included, and the legacy Chorus Pro layout stays what it was."""

import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from pypdf import PdfReader

from tests.facturx_export.conftest import LEGACY_BUILDS
from tests.facturx_export.shapes import LEGACY_SHAPES, SHAPES

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
    "delivery_address",
    "vat_on_debits",
    "vatex_intra_eu_supply",
    "already_paid_mixed",
    "public_buyer_b2g",
    "individual_abroad",
    "legacy_chorus_layout",
]
# Legacy-layout XML of shapes whose data predates the 2026 fields: today's output, byte
# for byte (golden/legacy/ holds the files of the code before the French 2026 layout).
LEGACY_GOLDEN_SHAPES = [
    "one_line",
    "credit_note",
    "franchise_seller_without_vat_number",
    "reverse_charge",
    "basic_profile",
]
# What the legacy layout breaks by design: the SIRET under 0002 (BR-FR-09/10/32), no BT-23.
LEGACY_BR_FR_ERRORS = {"BR-FR-08", "BR-FR-09", "BR-FR-10", "BR-FR-32"}
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


def _french_rules_ran(result: dict) -> bool:
    return any(check.startswith("fr-ctc:") for check in result["checks"])


def _rule(finding: dict) -> str:
    return re.match(r"BR-FR-(?:[A-Z]{2,3}-)?\d{2}|\S+", finding["rule"]).group(0)


def test_the_matrix_has_at_least_twenty_five_shapes():
    assert len(SHAPES) >= 25


@pytest.mark.parametrize("shape", [name for name in SHAPES if name not in LEGACY_SHAPES])
def test_default_file_passes_the_validator_and_the_french_rules_with_zero_errors(shape, validation):
    assert _french_rules_ran(validation[shape])
    assert _errors(validation[shape]) == []


@pytest.mark.parametrize("shape", sorted(LEGACY_SHAPES))
def test_legacy_layout_breaks_only_the_french_identifier_rules(shape, validation):
    findings = [f for f in validation[shape]["findings"] if f["severity"] == "error"]
    assert {f["source"] for f in findings} == {"fr-ctc"}
    assert {_rule(f) for f in findings} == LEGACY_BR_FR_ERRORS


@pytest.mark.parametrize("shape", LEGACY_BUILDS)
def test_legacy_layout_passes_the_validator_with_zero_errors(shape, validation_legacy):
    assert _errors(validation_legacy[shape]) == []


@pytest.mark.parametrize("shape", GOLDEN_SHAPES)
def test_xml_matches_its_golden_file(shape, matrix):
    golden = GOLDEN / f"{shape}.xml"
    if os.environ.get("UPDATE_GOLDEN") or not golden.exists():
        golden.write_bytes(matrix[shape].xml)
    assert matrix[shape].xml.decode() == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("shape", LEGACY_GOLDEN_SHAPES)
def test_legacy_layout_is_the_former_output(shape, matrix):
    golden = GOLDEN / "legacy" / f"{shape}.xml"
    assert matrix[shape].legacy_xml.decode() == golden.read_text(encoding="utf-8")


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
    """The 2026 layout Chorus Pro reads through a platform (fr-2026-data.md §2): SIRETs under
    GlobalID 0009, SIRENs under 0002, the service code in BT-10, the engagement in BT-13,
    the ADN « B2G » note and no BAR note."""
    root = etree.fromstring(matrix["one_line"].xml)

    def text(path):
        return root.xpath(f"string({path})", namespaces=NS)

    agreement = "//ram:ApplicableHeaderTradeAgreement"
    for party, siret, siren in (
        ("SellerTradeParty", "73282932000074", "732829320"),
        ("BuyerTradeParty", "11000601200014", "110006012"),
    ):
        assert text(f"{agreement}/ram:{party}/ram:GlobalID[@schemeID='0009']") == siret
        legal = f"{agreement}/ram:{party}/ram:SpecifiedLegalOrganization/ram:ID"
        assert (text(legal), text(f"{legal}/@schemeID")) == (siren, "0002")
    buyer_address = f"{agreement}/ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID"
    assert text(buyer_address) == "110006012_11000601200014"
    assert text(f"{buyer_address}/@schemeID") == "0225"
    assert text(f"{agreement}/ram:BuyerReference") == "SERV-TECH-01"
    assert text(f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == (
        "EJ-2026-000123"
    )
    assert text("//ram:IncludedNote[ram:SubjectCode='ADN']/ram:Content") == "B2G"
    assert not root.xpath("//ram:IncludedNote[ram:SubjectCode='BAR']", namespaces=NS)
    assert text("//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == "S1"
    assert text("//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    assert text("//ram:IBANID") == "FR7630006000011234567890189"


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
