"""The human-readable invoice: PDF/A-3b rendered by WeasyPrint from templates/facturx_export/.

Designed for speed (WeasyPrint spends its time in per-document set-up, the CSS cascade and
table/line layout):
- the font configuration and the parsed stylesheet are created once per process;
- our stylesheet replaces WeasyPrint's default HTML stylesheet (~1,000 rules matched
  against every element): the cascade only sees the few rules the invoice uses;
- no flexbox; the document block floats inside a flow-root header (later lines never
  meet the float); the lines table has a fixed layout with declared column widths, so
  no min/max-content pass over every cell;
- every value is formatted once in Python (no template filters per cell);
- the text font is a Latin cut of DejaVu Sans (facturx_export/fonts.py), which WeasyPrint
  copies and subsets for every PDF far faster than the full fonts;
- what is the same on every invoice of a seller (seller block, legal footer, and the page
  numbers for a page count) is not laid out here: it comes from the seller's cached
  letterhead (facturx_export/letterhead.py), laid under the pages afterwards; the invoice
  only keeps room for it.
"""

from __future__ import annotations

import gc
import threading
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import cssselect2
from django.conf import settings
from django.template.loader import get_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from facturx_export.fetcher import url_fetcher
from facturx_export.fonts import font_faces_css
from facturx_export.snapshot import InvoiceSnapshot, Party

if TYPE_CHECKING:
    from facturx_export.letterhead import Letterhead

TEMPLATE = "facturx_export/invoice.html"
STYLESHEET = "facturx_export/invoice.css"
LETTERHEAD_STYLESHEET = "facturx_export/letterhead.css"
VAT_CATEGORY_LABELS = {
    "Z": "Taux zéro",
    "E": "Exonération",
    "AE": "Autoliquidation",
    "K": "Livraison intracommunautaire",
    "G": "Exportation",
    "O": "Hors champ",
}
NBSP = "\u00a0"
stats = {"html_parser_fallbacks": 0}


def _group(digits: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return NBSP.join(groups)


def format_number(value: Decimal, places: int | None = 2) -> str:
    """French layout: 1 234 567,89 (non-breaking spaces). places=None: as few as needed
    (at most 4), for quantities and unit prices."""
    value = Decimal(value)
    if places is None:
        text = f"{value.quantize(Decimal('0.0001')):f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{value:.{places}f}"
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    return f"{sign}{_group(whole)}{',' + frac if frac else ''}"


def format_money(value: Decimal) -> str:
    return f"{format_number(value)}{NBSP}€"


def format_price(value: Decimal) -> str:
    text = format_number(value, None)
    if "," not in text:
        text += ",00"
    elif len(text.partition(",")[2]) == 1:
        text += "0"
    return text


def format_rate(value: Decimal) -> str:
    return f"{format_number(value, None)}{NBSP}%"


def format_date(value) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def format_iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def legal_line(seller: Party) -> str:
    """The seller's legal identity, printed at the foot of every page."""
    parts = [seller.name]
    if seller.legal_form:
        capital = ""
        if seller.share_capital:
            capital = f" au capital de {format_money(Decimal(seller.share_capital))}"
        parts.append(f"{seller.legal_form}{capital}")
    # Non-breaking spaces: an identifier never wraps away from its label.
    if seller.rcs:
        parts.append(f"RCS {seller.rcs}{NBSP}{seller.siren}")
    parts.append(f"SIRET{NBSP}{seller.siret}")
    if seller.vat_number:
        parts.append(f"TVA{NBSP}{seller.vat_number}")
    return " – ".join(parts)


def buyer_ids(snapshot: InvoiceSnapshot) -> str:
    """The buyer's identifiers and Chorus Pro references, one per line (pre-line text)."""
    buyer = snapshot.buyer
    legal = []
    if buyer.siren:  # a mandatory mention since 1 Sept 2026
        legal.append(f"SIREN{NBSP}{buyer.siren}")
    if buyer.siret:
        legal.append(f"SIRET{NBSP}{buyer.siret}")
    rows = [" – ".join(legal)] if legal else []
    if buyer.vat_number:
        rows.append(f"N° TVA {buyer.vat_number}")
    if snapshot.buyer_reference:
        rows.append(f"Service : {snapshot.buyer_reference}")
    if snapshot.order_reference:
        rows.append(f"Engagement : {snapshot.order_reference}")
    return "\n".join(rows)


def delivery_lines(snapshot: InvoiceSnapshot) -> str:
    place = snapshot.delivery_address
    if place is None:
        return ""
    rows = [place.name, place.address_line1, place.address_line2]
    city = f"{place.postcode} {place.city}"
    if place.country_code and place.country_code != "FR":
        city += f" ({place.country_code})"
    return "\n".join(row for row in [*rows, city] if row)


def context(snapshot: InvoiceSnapshot) -> dict:
    totals = snapshot.totals
    vat = []
    for entry in totals.vat_breakdown:
        if entry.category == "S":
            label = format_rate(entry.rate)
        else:
            label = VAT_CATEGORY_LABELS.get(entry.category, entry.category)
        vat.append((label, format_money(entry.taxable_amount), format_money(entry.tax_amount)))
    line_vat = {}
    rows = []
    for line in snapshot.lines:
        key = (line.vat_category, line.vat_rate)
        if key not in line_vat:
            line_vat[key] = (
                format_rate(line.vat_rate) if line.vat_category == "S" else line.vat_category
            )
        rows.append(
            (
                line.position,
                line.label,
                f"{format_number(line.quantity, None)}{NBSP}{line.unit_label}",
                format_price(line.unit_price),
                line_vat[key],
                format_number(line.net_amount),
                line.position % 2 == 0,  # zebra stripe
            )
        )
    # The VAT breakdown (left) and the totals (right) side by side, one cell per column
    # (its rows as the lines of a pre-line cell: fewer boxes for WeasyPrint to lay out).
    total_rows = [
        ("Total HT", format_money(totals.tax_exclusive)),
        ("Total TVA", format_money(totals.tax_total)),
        ("Total TTC", format_money(totals.tax_inclusive)),
    ]
    if totals.prepaid:
        total_rows.append(("Déjà réglé", format_money(totals.prepaid)))
    summary = {
        "vat_labels": "\n".join(v[0] for v in vat),
        "vat_bases": "\n".join(v[1] for v in vat),
        "vat_amounts": "\n".join(v[2] for v in vat),
        "total_labels": "\n".join(t[0] for t in total_rows),
        "total_amounts": "\n".join(t[1] for t in total_rows),
        "due_label": "Montant de l'avoir" if snapshot.is_credit_note else "Net à payer",
    }
    return {
        "s": snapshot,
        "title_upper": snapshot.title.upper(),
        "issue_date": format_date(snapshot.issue_date),
        "due_date": format_date(snapshot.due_date),
        "delivery_date": format_date(snapshot.delivery_date),
        "preceding_date": format_date(snapshot.preceding_date),
        "buyer_ids": buyer_ids(snapshot),
        "delivery": delivery_lines(snapshot),
        "lines": rows,
        "summary": summary,
        "due": format_money(totals.due),
    }


def render_html(snapshot: InvoiceSnapshot) -> str:
    return get_template(TEMPLATE).render(context(snapshot))


class InvoiceHTML(HTML):
    """Our stylesheet stands in for the default HTML one (it declares every display
    value the template needs): the cascade matches a dozen rules instead of a thousand."""

    def _ua_stylesheets(self, forms=False):
        return []

    @classmethod
    def from_string(cls, text: str, base_url: str) -> InvoiceHTML:
        """Parse our templates, which are well-formed XML, with expat (C) instead of
        WeasyPrint's pure-Python HTML5 parser (~0.15 ms per table row). A document the
        XML parser rejects (a control character in a label, say) takes the HTML parser."""
        try:
            # Our own template: every value in it is escaped by Django's autoescape, so
            # no DOCTYPE, entity or markup can come from invoice data.
            root = ElementTree.fromstring(text)  # noqa: S314
        except ElementTree.ParseError:
            stats["html_parser_fallbacks"] += 1
            return cls(string=text, base_url=base_url, url_fetcher=url_fetcher())
        # What HTML.__init__ sets up after parsing (WeasyPrint 70).
        html = cls.__new__(cls)
        html.base_url = base_url
        html.url_fetcher = url_fetcher()  # our own files only (facturx_export/fetcher.py)
        html.media_type = "print"
        html.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        html.etree_element = html.wrapper_element.etree_element
        return html


class _Resources:
    def __init__(self):
        self.font_config = FontConfiguration()
        self.url_fetcher = fetcher = url_fetcher()
        self.base_url = str(settings.BASE_DIR)
        templates = Path(settings.BASE_DIR) / "templates"
        self.font_faces = CSS(
            string=font_faces_css(), font_config=self.font_config, url_fetcher=fetcher
        )
        self.stylesheet = CSS(
            filename=str(templates / STYLESHEET), font_config=self.font_config, url_fetcher=fetcher
        )
        # The page numbers are laid under with the letterhead (see letterhead.py).
        self.no_page_numbers = CSS(
            string="@page { @bottom-right { content: none } }", url_fetcher=fetcher
        )
        self.letterhead_stylesheet = CSS(
            filename=str(templates / LETTERHEAD_STYLESHEET),
            font_config=self.font_config,
            url_fetcher=fetcher,
        )


_resources: _Resources | None = None
_resources_lock = threading.Lock()


def get_resources() -> _Resources:
    global _resources
    with _resources_lock:
        if _resources is None:
            _resources = _Resources()
        return _resources


def render_pdf(snapshot: InvoiceSnapshot, letterhead: Letterhead) -> bytes:
    """The invoice as a PDF (fonts embedded and subset, colours in DeviceRGB), without
    what `letterhead` prints: it keeps room for it, and `embed_xml` lays it under and
    makes the whole a PDF/A-3b."""
    resources = get_resources()
    # WeasyPrint allocates tens of thousands of short-lived boxes; with a Django process's
    # ~150,000 live objects, the cyclic GC it keeps triggering costs up to a third of a
    # small invoice. Pause it for the render; what the render leaves is collected after.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        html = InvoiceHTML.from_string(render_html(snapshot), resources.base_url)
        return html.write_pdf(
            stylesheets=[
                resources.font_faces,
                resources.stylesheet,
                letterhead.geometry,
                resources.no_page_numbers,
            ],
            font_config=resources.font_config,
            # A plain PDF: what WeasyPrint's pdf/a-3b variant adds (sRGB output intent,
            # XMP, /ID) is added by embed_xml, from the letterhead (~5 % of the render).
        )
    finally:
        if gc_was_enabled:
            gc.enable()
