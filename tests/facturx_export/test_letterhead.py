"""The per-seller letterhead: cached, measured, laid under every page without overlap."""

import dataclasses
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from pypdf import PdfReader

from facturx_export import letterhead as letterhead_module
from facturx_export import pdf as invoice_pdf
from facturx_export.embed import embed_xml
from facturx_export.letterhead import letterhead_for
from facturx_export.pdf import render_pdf
from facturx_export.snapshot import InvoiceSnapshot, Line, Party
from facturx_export.xml import build_xml
from invoicing.totals import compute_totals

MM = 72 / 25.4  # PDF points per millimetre
SELLER = Party(
    name="Vignobles Démo SAS",
    siret="73282932000074",
    siren="732829320",
    vat_number="FR44732829320",
    legal_form="SAS",
    share_capital="10000.00",
    rcs="Reims",
    address_line1="12 rue des Vignes",
    postcode="51100",
    city="Reims",
)
TALL_SELLER = dataclasses.replace(
    SELLER,
    name="Vignobles et Domaines Démonstration Associés de la Montagne de Reims SAS",
    trade_name="Les Caves du Domaine Démo",
    address_line2="Bâtiment B, zone artisanale des Coteaux",
    tax_registration_id="1234567890123",
    phone="03 26 00 00 00",
    email="factures@vignobles-et-domaines-demo.fr",
    country_code="BE",
)
BUYER = Party(
    name="Mairie de Démoville",
    siret="11000601200014",
    siren="110006012",
    address_line1="1 place de la Mairie",
    postcode="75001",
    city="Paris",
)


@dataclass
class _Raw:
    quantity: Decimal
    unit_price: Decimal
    vat_category: str = "S"
    vat_rate: Decimal = Decimal("20.00")
    exemption_reason: str = ""


def make_snapshot(n_lines=3, seller=SELLER, number="FA2026-00001", **extra) -> InvoiceSnapshot:
    raw = [_Raw(Decimal(1 + i % 3), Decimal(f"{10 + i}.50")) for i in range(n_lines)]
    totals = compute_totals(raw)
    lines = tuple(
        Line(
            i,
            f"Article {i} – fourniture",
            "C62",
            "unité",
            r.quantity,
            r.unit_price,
            "S",
            r.vat_rate,
            net,
        )  # fmt: skip
        for i, (r, net) in enumerate(zip(raw, totals.line_nets, strict=True), 1)
    )
    values = dict(
        number=number, is_credit_note=False, issue_date=datetime.date(2026, 3, 2),
        due_date=datetime.date(2026, 4, 1), seller=seller, buyer=BUYER, lines=lines,
        totals=totals, iban="FR7630006000011234567890189", bic="AGRIFRPP",
        late_penalty_rate=Decimal("12.15"),
    )  # fmt: skip
    values.update(extra)
    return InvoiceSnapshot(**values)


def _text_boxes(pdf: bytes, page_index: int) -> list[tuple[str, float, float, float]]:
    """(text, x, y of the baseline, font size) in page points, origin bottom-left."""
    boxes = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            boxes.append((text.strip(), x, y, size * abs(tm[3] * cm[3] or 1)))

    PdfReader(io.BytesIO(pdf)).pages[page_index].extract_text(visitor_text=visit)
    return boxes


def _build(snapshot: InvoiceSnapshot) -> tuple[bytes, bytes, bytes]:
    """(invoice render alone, letterhead, the joined file)."""
    letterhead = letterhead_for(snapshot)
    rendered = render_pdf(snapshot, letterhead)
    joined = embed_xml(rendered, build_xml(snapshot), snapshot, underlay=letterhead)
    return rendered, letterhead.pdf_bytes, joined


@pytest.fixture(autouse=True)
def empty_cache():
    letterhead_module.clear_cache()
    yield
    letterhead_module.clear_cache()


def test_letterhead_is_rendered_once_per_seller():
    renders = letterhead_module.stats["renders"]
    first = letterhead_for(make_snapshot(number="FA2026-00001"))
    again = letterhead_for(make_snapshot(n_lines=7, number="FA2026-00002"))
    assert again is first
    assert letterhead_module.stats["renders"] == renders + 1
    other = letterhead_for(make_snapshot(seller=TALL_SELLER))
    assert other is not first
    changed_iban = letterhead_for(make_snapshot(iban="FR7610107001011234567890129"))
    assert changed_iban is not first
    assert letterhead_module.stats["renders"] == renders + 3


def test_letterhead_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(letterhead_module, "CACHE_SIZE", 2)
    sellers = [dataclasses.replace(SELLER, siret=f"7328293200007{i}") for i in range(3)]
    for seller in sellers:
        letterhead_for(make_snapshot(seller=seller))
    assert len(letterhead_module._cache) == 2
    renders = letterhead_module.stats["renders"]
    letterhead_for(make_snapshot(seller=sellers[0]))  # the oldest was dropped
    assert letterhead_module.stats["renders"] == renders + 1


def test_a_tall_seller_block_pushes_the_invoice_down_instead_of_overlapping():
    snapshot = make_snapshot(seller=TALL_SELLER, note="Livraison au service technique.")
    rendered, letterhead, joined = _build(snapshot)
    page_height = 297 * MM
    seller_texts = [b for b in _text_boxes(letterhead, 0) if b[2] > page_height / 2]
    assert any("factures@vignobles-et-domaines-demo.fr" in b[0] for b in seller_texts)
    seller_bottom = min(y for _, _, y, _ in seller_texts) - 2  # baseline minus descent
    invoice_texts = _text_boxes(rendered, 0)
    # The buyer block starts below the seller block, as when both were one render...
    client = next(b for b in invoice_texts if b[0] == "CLIENT")
    assert client[2] + client[3] < seller_bottom
    # ...and nothing of the invoice's left column runs into it.
    left_column = [b for b in invoice_texts if b[1] < 98 * MM]
    assert any("Livraison au service technique" in b[0] for b in left_column)
    assert all(y + size < seller_bottom for _, _, y, size in left_column), left_column
    # And the joined file shows both.
    text = PdfReader(io.BytesIO(joined)).pages[0].extract_text()
    assert "Identifiant fiscal 1234567890123" in text
    assert "Livraison au service technique" in text


def _footer_top(letterhead: bytes, page_index: int) -> float:
    footer = [b for b in _text_boxes(letterhead, page_index) if b[2] < 40 * MM]
    assert any("indemnité forfaitaire" in b[0] for b in footer)
    return max(y + size for _, _, y, size in footer)


def test_multi_page_invoice_has_the_footer_and_a_page_number_on_every_page_clear_of_lines():
    rendered, letterhead, joined = _build(make_snapshot(n_lines=150, seller=TALL_SELLER))
    pages = PdfReader(io.BytesIO(joined)).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, 1):
        text = page.extract_text().replace("\u00a0", " ")
        assert "Désignation" in text  # the repeated table header
        assert f"Page {number} / {len(pages)}" in text
        assert "SIRET 73282932000074" in text
        assert "indemnité forfaitaire pour frais de recouvrement de 40 €" in " ".join(text.split())
        assert "IBAN FR76 3000 6000 0112 3456 7890 189" in text
        footer_top = _footer_top(letterhead, 0 if number == 1 else 1)
        content = [b for b in _text_boxes(rendered, number - 1) if not b[0].startswith("Page")]
        assert min(y for _, _, y, _ in content) - 2 > footer_top
    # The seller block is on page 1 only.
    assert "Les Caves du Domaine Démo" in pages[0].extract_text()
    assert "Les Caves du Domaine Démo" not in pages[1].extract_text()


def test_page_numbers_are_rendered_once_per_page_count_where_the_invoice_prints_them(
    monkeypatch,
):
    renders = []
    render = letterhead_module.render_numbering
    monkeypatch.setattr(
        letterhead_module,
        "render_numbering",
        lambda geometry, count: renders.append(count) or render(geometry, count),
    )
    snapshot = make_snapshot(n_lines=150)
    letterhead = letterhead_for(snapshot)
    rendered, _, joined = _build(snapshot)
    page_count = len(PdfReader(io.BytesIO(joined)).pages)
    _build(make_snapshot(n_lines=151, number="FA2026-00002"))  # as many pages
    _build(make_snapshot(n_lines=2, number="FA2026-00003"))
    assert renders == [page_count, 1]  # each page count once
    # The invoice render itself no longer numbers its pages...
    assert all(not b[0].startswith("Page") for b in _text_boxes(rendered, 0))
    # ...and the numbers sit exactly where the invoice's own margin box puts them.
    resources = invoice_pdf.get_resources()
    numbered_by_weasyprint = invoice_pdf.InvoiceHTML.from_string(
        invoice_pdf.render_html(snapshot), resources.base_url
    ).write_pdf(
        stylesheets=[resources.font_faces, resources.stylesheet, letterhead.geometry],
        font_config=resources.font_config,
    )
    for index in range(page_count):
        expected = [b for b in _text_boxes(numbered_by_weasyprint, index) if "Page" in b[0]]
        laid_under = [b for b in _text_boxes(joined, index) if "Page" in b[0]]
        assert expected and [b[0] for b in laid_under] == [b[0] for b in expected]
        assert laid_under[0][1:] == pytest.approx(expected[0][1:], abs=0.01)


def test_the_page_numbers_kept_per_letterhead_are_bounded(monkeypatch):
    monkeypatch.setattr(letterhead_module, "PAGE_COUNTS_KEPT", 2)
    letterhead = letterhead_for(make_snapshot())
    for lines in (1, 60, 120):
        _build(make_snapshot(n_lines=lines))
    assert len(letterhead._numberings) == 2


def test_building_invoices_does_not_grow_the_cached_letterhead():
    # Each Page.as_form_xobject() call adds an object to its PDF: made once, not per build.
    letterhead = letterhead_for(make_snapshot())
    _build(make_snapshot())
    numbering = letterhead._numberings[1][0]
    sizes = len(letterhead._pdf.objects), len(numbering.objects)
    for number in range(2, 6):
        _build(make_snapshot(number=f"FA2026-{number:05d}"))
    assert (len(letterhead._pdf.objects), len(numbering.objects)) == sizes
