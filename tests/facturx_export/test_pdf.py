"""The invoice render: parsed with expat, and the HTML parser when expat refuses; its text
font is a Latin cut of DejaVu Sans, with the full font for the other scripts."""

import dataclasses
import io

import pikepdf
from pypdf import PdfReader

from facturx_export import fonts, pdf
from facturx_export.letterhead import letterhead_for
from tests.facturx_export.test_letterhead import make_snapshot


def _render(snapshot) -> str:
    rendered = pdf.render_pdf(snapshot, letterhead_for(snapshot))
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered)).pages)


def test_the_invoice_template_is_well_formed_xml_and_takes_the_fast_parser():
    fallbacks = pdf.stats["html_parser_fallbacks"]
    text = _render(make_snapshot(note="Livraison <urgente> & fragile", payment_terms="30 jours"))
    assert pdf.stats["html_parser_fallbacks"] == fallbacks
    assert "Livraison <urgente> & fragile" in text


def test_a_document_the_xml_parser_rejects_is_rendered_by_the_html_parser():
    snapshot = make_snapshot(n_lines=2)
    lines = list(snapshot.lines)
    # A form feed (pasted from another system) is forbidden in XML 1.0.
    lines[0] = dataclasses.replace(lines[0], label="Article\x0cimporté")
    fallbacks = pdf.stats["html_parser_fallbacks"]
    text = _render(dataclasses.replace(snapshot, lines=tuple(lines)))
    assert pdf.stats["html_parser_fallbacks"] == fallbacks + 1
    # WeasyPrint draws the form feed as the font's .notdef glyph (as it always did), and
    # pypdf then reads that font's text as two-byte codes: drop the NULs it leaves.
    text = text.replace("\x00", "")
    assert "importé" in text
    assert "Net à payer" in text


def _fonts(rendered: bytes) -> set[str]:
    document = pikepdf.open(io.BytesIO(rendered))
    return {
        str(font.BaseFont).split("+", 1)[1]
        for page in document.pages
        for font in page.Resources.Font.values()
    }


def test_the_text_is_set_in_the_latin_cut_of_dejavu_sans():
    snapshot = make_snapshot(n_lines=3)
    assert _fonts(pdf.render_pdf(snapshot, letterhead_for(snapshot))) == {
        "DejaVu-Sans-Latin",
        "DejaVu-Sans-Latin-Bold",
    }
    cuts = sorted(path.name for path in (fonts._latin_cut(*w) for w in fonts.WEIGHTS.values()))
    assert cuts[0].startswith("DejaVuSans-Bold-latin-") and cuts[1].startswith("DejaVuSans-latin-")


def test_characters_outside_the_latin_cut_take_the_full_font():
    snapshot = make_snapshot(n_lines=1)
    label = "Œuvre ½ 2ᵉ étage – Ελληνικά Кириллица"
    line = dataclasses.replace(snapshot.lines[0], label=label)
    rendered = pdf.render_pdf(
        dataclasses.replace(snapshot, lines=(line,)), letterhead_for(snapshot)
    )
    assert {"DejaVu-Sans-Latin", "DejaVu-Sans"} <= _fonts(rendered)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered)).pages)
    assert label in text


def test_without_dejavu_or_a_writable_folder_the_invoice_keeps_the_full_fonts(
    monkeypatch, tmp_path, settings
):
    monkeypatch.setattr(fonts, "_installed", lambda pattern, file_name: None)
    assert fonts.font_faces_css() == ""
    monkeypatch.undo()

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the cut cannot be written under a file
    settings.VAR_DIR = blocked
    assert fonts.font_faces_css() == ""
