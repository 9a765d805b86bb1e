"""The per-seller "letterhead": what every invoice of a seller prints alike, rendered once.

WeasyPrint's cost grows with the boxes it lays out, and a good part of an invoice is the
same for every invoice of a seller: the seller block (name, address, SIREN/SIRET, VAT
number...) and the legal footer (identity line, IBAN/BIC, late-payment penalties, the
40 EUR recovery indemnity). Those are rendered once per process and per seller as a
two-page PDF/A (page 1: seller block and footer; page 2: footer only) and laid under each
page of the invoice with pikepdf, in the same open and save as the XML embedding.

The invoice keeps an empty box where the seller block goes and a bottom margin that
clears the footer; both sizes are measured from the letterhead's own layout, so a tall
seller block (trade name, second address line, tax identifier, phone and email) or a
footer that wraps pushes the invoice content away instead of overlapping it.

The page numbers ("Page 2 / 3") come the same way: per page count, blank pages numbered by
the invoice stylesheet's own @bottom-right rule, with the invoice's page geometry, are
rendered once and laid under; the invoice render itself skips the margin box (a page
layout of its own in WeasyPrint, ~2.5 % of a ten-line invoice).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

import pikepdf
from django.template.loader import get_template
from weasyprint import CSS

from facturx_export import pdf as invoice_pdf
from facturx_export.snapshot import InvoiceSnapshot, Party

TEMPLATE = "facturx_export/letterhead.html"
STYLESHEET = "facturx_export/letterhead.css"
CACHE_SIZE = 64  # sellers per process
PAGE_COUNTS_KEPT = 8  # page counts whose numbering each letterhead keeps
# Space between the invoice content and the footer, and where the page number sits.
FOOTER_GAP_MM = 3
PX_PER_MM = 96 / 25.4


@dataclass(frozen=True)
class LetterheadKey:
    """Everything the letterhead prints (and the profile, like the invoice it goes with)."""

    seller: Party
    iban: str
    bic: str
    late_penalty_rate: Decimal
    profile: str

    @classmethod
    def of(cls, snapshot: InvoiceSnapshot) -> LetterheadKey:
        return cls(
            snapshot.seller,
            snapshot.iban,
            snapshot.bic,
            snapshot.late_penalty_rate,
            str(snapshot.profile),
        )


class Letterhead:
    """A rendered letterhead: its PDF (for the underlay) and the geometry the invoice needs.

    `geometry` is a parsed stylesheet giving the invoice's seller box the letterhead
    seller block's height and the page a bottom margin that clears the footer.
    """

    def __init__(self, pdf_bytes: bytes, seller_height: float, footer_top: float, page_height):
        self.pdf_bytes = pdf_bytes
        self.seller_height = seller_height  # CSS px
        self.footer_top = footer_top  # CSS px from the top of the page
        self.page_height = page_height  # CSS px
        self.bottom_margin = page_height - footer_top + FOOTER_GAP_MM * PX_PER_MM
        self._pdf = pikepdf.open(io.BytesIO(pdf_bytes))
        self._lock = threading.Lock()  # a pikepdf.Pdf is not safe to share between threads
        # Made once: each as_form_xobject() call adds an object to the cached PDF.
        self._first, self._others = (page.as_form_xobject() for page in self._pdf.pages[:2])
        # copy_foreign takes indirect objects only; WeasyPrint writes the intent inline.
        self._output_intent = self._pdf.make_indirect(self._pdf.Root.OutputIntents[0])
        self.geometry: CSS | None = None
        # Page count -> (the rendered numbering, one form XObject per page of it).
        self._numberings: OrderedDict[int, tuple[pikepdf.Pdf, list]] = OrderedDict()

    def lay_under(self, pdf: pikepdf.Pdf) -> None:
        """Put page 1 of the letterhead under page 1 of `pdf`, page 2 under the others,
        and each page's number under it; give `pdf` the letterhead's PDF/A output intent
        (sRGB ICC profile)."""
        numbering = self._numbering(len(pdf.pages))
        with self._lock:
            first = pdf.copy_foreign(self._first)
            others = pdf.copy_foreign(self._others)
            numbers = [pdf.copy_foreign(number) for number in numbering[1]]
            output_intent = pdf.copy_foreign(self._output_intent)
        pdf.Root.OutputIntents = pikepdf.Array([output_intent])
        for index, page in enumerate(pdf.pages):
            page.add_underlay(first if index == 0 else others)
            page.add_underlay(numbers[index])

    def _numbering(self, page_count: int) -> tuple[pikepdf.Pdf, list]:
        """One form XObject per page printing "Page i / page_count" (with the PDF that owns
        them), kept for the next invoices."""
        with self._lock:
            numbering = self._numberings.get(page_count)
            if numbering is not None:
                self._numberings.move_to_end(page_count)
                return numbering
        # Rendered outside the lock, like the letterhead itself.
        document = pikepdf.open(io.BytesIO(render_numbering(self.geometry, page_count)))
        numbering = (document, [page.as_form_xobject() for page in document.pages])
        with self._lock:
            numbering = self._numberings.setdefault(page_count, numbering)
            self._numberings.move_to_end(page_count)
            while len(self._numberings) > PAGE_COUNTS_KEPT:
                self._numberings.popitem(last=False)
        return numbering


def context(key: LetterheadKey) -> dict:
    return {
        "s": key.seller,
        "legal": invoice_pdf.legal_line(key.seller),
        "iban": invoice_pdf.format_iban(key.iban),
        "bic": key.bic,
        "penalty_rate": invoice_pdf.format_number(key.late_penalty_rate),
    }


def _find(page_box, css_class: str):
    for box in page_box.descendants():
        element = getattr(box, "element", None)
        if element is not None and element.get("class") == css_class and box.element_tag:
            return box
    raise LookupError(f"no .{css_class} box in the letterhead")


def render(key: LetterheadKey) -> Letterhead:
    """Render and measure the letterhead of `key` (about one invoice's render time)."""
    resources = invoice_pdf.get_resources()
    html = invoice_pdf.InvoiceHTML.from_string(
        get_template(TEMPLATE).render(context(key)), resources.base_url
    )
    document = html.render(
        stylesheets=[resources.stylesheet, resources.letterhead_stylesheet],
        font_config=resources.font_config,
        pdf_variant="pdf/a-3b",
    )
    if len(document.pages) != 2:
        raise RuntimeError(f"the letterhead has {len(document.pages)} pages, not 2")
    first = document.pages[0]._page_box
    seller = _find(first, "seller")
    footer = _find(first, "footer")
    letterhead = Letterhead(
        document.write_pdf(pdf_variant="pdf/a-3b"),
        seller_height=seller.margin_height(),
        footer_top=footer.position_y,
        page_height=first.margin_height(),
    )
    letterhead.geometry = CSS(
        string=(
            f"@page {{ margin-bottom: {letterhead.bottom_margin:.3f}px }}\n"
            f".seller {{ height: {letterhead.seller_height:.3f}px; min-height: 0 }}\n"
        ),
        font_config=resources.font_config,
        url_fetcher=resources.url_fetcher,
    )
    return letterhead


def render_numbering(geometry: CSS, page_count: int) -> bytes:
    """`page_count` blank pages that the invoice stylesheet's @bottom-right rule numbers,
    with the invoice's page geometry: the numbers land where the invoice would print them."""
    resources = invoice_pdf.get_resources()
    breaks = '<div style="page-break-before: always"></div>' * (page_count - 1)
    html = invoice_pdf.InvoiceHTML.from_string(
        f"<html><body><div></div>{breaks}</body></html>", resources.base_url
    )
    return html.write_pdf(
        stylesheets=[resources.font_faces, resources.stylesheet, geometry],
        font_config=resources.font_config,
    )


_cache: OrderedDict[LetterheadKey, Letterhead] = OrderedDict()
_cache_lock = threading.Lock()
stats = {"renders": 0}


def letterhead_for(snapshot: InvoiceSnapshot) -> Letterhead:
    """The letterhead of the snapshot's seller, from a bounded per-process LRU cache."""
    key = LetterheadKey.of(snapshot)
    with _cache_lock:
        letterhead = _cache.get(key)
        if letterhead is not None:
            _cache.move_to_end(key)
            return letterhead
    # Rendered outside the lock: another seller's invoices need not wait. Two threads may
    # render the same new seller at once; the results are identical and one is kept.
    letterhead = render(key)
    with _cache_lock:
        stats["renders"] += 1
        letterhead = _cache.setdefault(key, letterhead)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return letterhead


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
