"""The French 2026 invoice (BR-FR) in the default file: what the XML carries for each shape,
what the PDF shows, and the files the download and `export_facturx` give."""

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from lxml import etree
from pypdf import PdfReader

from invoicing import services
from invoicing.fr_ctc import EXEMPTIONS, ExemptionCode, Nature
from tests.facturx_export.conftest import _validate
from tests.facturx_export.shapes import LEGACY_SHAPES, SHAPES, SITE, line
from tests.facturx_export.test_matrix import NS, _errors, _french_rules_ran

pytestmark = pytest.mark.django_db

REFORM_SHAPES = [name for name in SHAPES if name not in LEGACY_SHAPES]


def _xml(matrix, shape):
    return etree.fromstring(matrix[shape].xml)


def _text(root, path: str) -> str:
    return root.xpath(f"string({path})", namespaces=NS)


def _pdf_text(path) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize(
    ("shape", "frame"),
    [
        ("one_line", "S1"),
        ("goods_only_b2b", "B1"),
        ("mixed_goods_and_services", "M1"),
        ("already_paid_goods", "B2"),
        ("already_paid_services", "S2"),
        ("already_paid_mixed", "M2"),
        ("credit_note_of_goods_b2b", "B1"),
    ],
)
def test_the_billing_frame_says_what_is_sold_and_whether_it_is_paid(matrix, shape, frame):
    root = _xml(matrix, shape)
    assert _text(root, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == frame


@pytest.mark.parametrize(
    ("shape", "note"),
    [
        ("one_line", ("ADN", "B2G")),
        ("public_buyer_b2g", ("ADN", "B2G")),
        ("credit_note", ("ADN", "B2G")),
        ("goods_only_b2b", ("BAR", "B2B")),
        ("buyer_with_siren_only", ("BAR", "B2B")),
        ("credit_note_of_goods_b2b", ("BAR", "B2B")),
        ("foreign_business_buyer", ("BAR", "B2BINT")),
        ("individual_buyer_with_note_and_terms", ("BAR", "B2C")),
        ("individual_abroad", ("BAR", "B2CINT")),
    ],
)
def test_one_note_says_who_the_buyer_is(matrix, shape, note):
    root = _xml(matrix, shape)
    found = [
        (_text(n, "ram:SubjectCode"), _text(n, "ram:Content"))
        for n in root.xpath("//ram:IncludedNote", namespaces=NS)
        if _text(n, "ram:SubjectCode") in ("BAR", "ADN")
    ]
    assert found == [note]


@pytest.mark.parametrize("shape", REFORM_SHAPES)
def test_every_document_has_the_pmd_pmt_and_aab_notes_once(matrix, shape):
    root = _xml(matrix, shape)
    codes = [n.text for n in root.xpath("//ram:IncludedNote/ram:SubjectCode", namespaces=NS)]
    assert [codes.count(code) for code in ("PMD", "PMT", "AAB")] == [1, 1, 1]


def test_vat_on_debits_is_bt8_code_5_in_every_vat_breakdown(matrix):
    root = _xml(matrix, "vat_on_debits")
    taxes = root.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS
    )
    assert taxes and [_text(t, "ram:DueDateTypeCode") for t in taxes] == ["5"] * len(taxes)
    assert not root.xpath("//ram:TaxPointDate", namespaces=NS)  # BR-CO-3
    assert not _xml(matrix, "one_line").xpath("//ram:DueDateTypeCode", namespaces=NS)


VATEX_SHAPES = {
    "vatex_franchise": ExemptionCode.FRANCHISE,
    "vatex_cgi_261_4": ExemptionCode.EXEMPT_261,
    "vatex_eu_132": ExemptionCode.EXEMPT_EU,
    "vatex_fr_reverse_charge_construction": ExemptionCode.REVERSE_CHARGE_FR,
    "vatex_eu_reverse_charge_services": ExemptionCode.REVERSE_CHARGE_EU,
    "vatex_intra_eu_supply": ExemptionCode.INTRA_EU,
    "vatex_export": ExemptionCode.EXPORT,
    "vatex_out_of_scope": ExemptionCode.OUT_OF_SCOPE,
}


def test_every_exemption_code_has_its_shape():
    assert set(VATEX_SHAPES.values()) == set(EXEMPTIONS)


@pytest.mark.parametrize(("shape", "code"), VATEX_SHAPES.items())
def test_the_exemption_code_is_written_beside_its_text_and_printed(matrix, shape, code):
    category, reason = EXEMPTIONS[code]
    root = _xml(matrix, shape)
    taxes = root.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS
    )
    written = [
        (_text(tax, "ram:CategoryCode"), _text(tax, "ram:ExemptionReasonCode"),
         _text(tax, "ram:ExemptionReason"))
        for tax in taxes
    ]  # fmt: skip
    assert written == [(category, code, reason)]
    assert reason in _pdf_text(matrix[shape].pdf)


def test_a_franchise_seller_without_a_code_gets_the_franchise_code(matrix):
    root = _xml(matrix, "franchise_seller_without_vat_number")
    assert _text(root, "//ram:ExemptionReasonCode") == "VATEX-FR-FRANCHISE"


def test_the_delivery_address_is_the_ship_to_party(matrix):
    ship_to = "//ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty"
    root = _xml(matrix, "delivery_address")
    assert _text(root, f"{ship_to}/ram:Name") == SITE["delivery_name"]
    address = f"{ship_to}/ram:PostalTradeAddress"
    assert [_text(root, f"{address}/ram:{tag}") for tag in
            ("LineOne", "LineTwo", "PostcodeCode", "CityName", "CountryID")] == [
        "14 avenue Jean-Jaurès", "Portail B", "69007", "Lyon", "FR"]  # fmt: skip
    assert _text(root, "//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/*") == (
        "20260226"
    )
    intra_eu = _xml(matrix, "vatex_intra_eu_supply")
    assert _text(intra_eu, f"{address}/ram:CountryID") == "DE"  # BR-IC-12
    assert not _xml(matrix, "one_line").xpath(ship_to, namespaces=NS)


@pytest.mark.parametrize("shape", ["already_paid_goods", "already_paid_services",
                                   "already_paid_mixed"])  # fmt: skip
def test_an_already_paid_invoice_has_everything_prepaid_and_nothing_due(matrix, shape):
    root = _xml(matrix, shape)
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    grand_total = Decimal(_text(root, f"{summation}/ram:GrandTotalAmount"))
    assert grand_total > 0
    assert Decimal(_text(root, f"{summation}/ram:TotalPrepaidAmount")) == grand_total
    assert Decimal(_text(root, f"{summation}/ram:DuePayableAmount")) == 0
    assert _text(root, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime")  # CO-09
    assert "acquittée" in _pdf_text(matrix[shape].pdf)


def test_a_credit_note_names_the_invoice_and_its_date_and_a_payment_means(matrix):
    root = _xml(matrix, "credit_note_of_goods_b2b")
    reference = "//ram:InvoiceReferencedDocument"
    assert _text(root, f"{reference}/ram:IssuerAssignedID").startswith("FA2026-")  # BT-25
    assert _text(root, f"{reference}/ram:FormattedIssueDateTime/*") == "20260302"  # BT-26
    assert _text(root, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "30"


def test_a_buyer_abroad_or_an_individual_is_reached_by_e_mail(matrix):
    for shape in ("individual_abroad", "foreign_business_buyer"):
        uri = "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID"
        root = _xml(matrix, shape)
        assert _text(root, f"{uri}/@schemeID") == "EM" and "@" in _text(root, uri)
        assert not root.xpath("//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization", namespaces=NS)


def test_the_pdf_shows_every_mention_of_september_2026(matrix):
    public = _pdf_text(matrix["public_buyer_b2g"].pdf)
    assert "SIREN 110006012 – SIRET 11000601200014" in public  # the buyer's SIREN
    assert ("ADRESSE DE LIVRAISON Chantier de l'école Jules-Ferry 14 avenue Jean-Jaurès "
            "Portail B 69007 Lyon") in public  # fmt: skip
    assert "Catégorie de l'opération : Opération mixte (biens et services)" in public
    assert "Catégorie de l'opération : Livraison de biens" in _pdf_text(
        matrix["goods_only_b2b"].pdf
    )
    debits = _pdf_text(matrix["vat_on_debits"].pdf)
    assert "Catégorie de l'opération : Prestation de services" in debits
    assert "Option pour le paiement de la TVA d'après les débits" in debits
    assert "débits" not in _pdf_text(matrix["one_line"].pdf)
    assert "SIREN 443061841" in _pdf_text(matrix["buyer_with_siren_only"].pdf)
    intra_eu = _pdf_text(matrix["vatex_intra_eu_supply"].pdf)
    assert "Exonération de TVA, art. 262 ter I du CGI" in intra_eu
    assert "Lagerstraße 7 14469 Potsdam (DE)" in intra_eu
    assert "ADRESSE DE LIVRAISON" not in _pdf_text(matrix["one_line"].pdf)


# --- The files a user gets: the download and export_facturx ----------------------------


@pytest.fixture
def b2b_invoice(company, dossier):
    from tests.factories import CustomerFactory

    buyer = CustomerFactory(dossier=dossier, name="Société Cliente SARL", chorus_enabled=False,
                            vat_number="FR40303265045")  # fmt: skip
    invoice = services.invoice_create(
        company=company,
        customer=buyer,
        lines=[line("Pressoir", "1", "9800", nature=Nature.GOODS), line("Mise en service")],
        delivery_address=SITE,
    )
    return services.invoice_finalise(invoice_id=invoice.pk)


def test_export_facturx_writes_a_file_that_passes_the_french_rules(b2b_invoice, tmp_path):
    call_command("export_facturx", "--invoice", b2b_invoice.number, "--out", str(tmp_path))
    written = tmp_path / f"Facture_{b2b_invoice.number}.pdf"
    result = _validate([written], "--fr-ctc")[written.stem]
    assert _french_rules_ran(result) and _errors(result) == []


def test_the_download_passes_the_french_rules(client, b2b_invoice, admin_member, tmp_path):
    client.force_login(admin_member.user)
    response = client.get(reverse("facturx_export:download", args=[b2b_invoice.pk]))
    assert response.status_code == 200
    path = tmp_path / "download.pdf"
    path.write_bytes(response.content)
    result = _validate([path], "--fr-ctc")["download"]
    assert _french_rules_ran(result) and _errors(result) == []
