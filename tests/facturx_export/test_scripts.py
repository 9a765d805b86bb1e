"""Text in any script the fonts cover prints with real glyphs: the validator's PDF/A glyph
check (no .notdef, ISO 19005-3 6.2.11.8) passes on every file."""

import pikepdf
import pytest

from facturx_export.services import facturx_build
from invoicing import services
from tests.factories import CustomerFactory
from tests.facturx_export.conftest import _validate
from tests.facturx_export.test_matrix import _errors

SCRIPTS = {
    "greek": ("Ελληνική Εταιρεία Α.Ε.", "Συμβουλευτικές υπηρεσίες"),
    "cyrillic": ("ООО «Ромашка»", "Консультационные услуги"),
    "japanese": ("東京商事株式会社", "コンサルティング業務（東京）"),
    "chinese": ("北京咨询有限公司", "技术咨询服务费"),
    "arabic": ("شركة الاستشارات", "خدمات استشارية"),
    "hebrew": ("חברת ייעוץ בע״מ", "שירותי ייעוץ"),
}


@pytest.fixture
def files(db, company, tmp_path):
    built = {}
    for name, (customer_name, label) in SCRIPTS.items():
        customer = CustomerFactory(dossier=company.dossier, name=customer_name, city="東京")
        invoice = services.invoice_create(
            company=company,
            customer=customer,
            lines=[services.LineInput(label=label, quantity=1, unit_price=100)],
        )
        final = services.invoice_finalise(invoice_id=invoice.pk)
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(facturx_build(final))
        built[name] = path
    return built


def test_names_and_labels_in_six_scripts_pass_the_validator_with_the_french_rules(files):
    results = _validate(list(files.values()), "--fr-ctc")
    assert {name: _errors(results[name]) for name in files} == {name: [] for name in files}


def test_the_cjk_text_is_set_in_an_embedded_cjk_font(files):
    with pikepdf.open(files["japanese"]) as pdf:
        fonts = {
            str(font.get("/BaseFont"))
            for page in pdf.pages
            for font in page.Resources.get("/Font", {}).values()
        }
        for xobject in pdf.pages[0].Resources.get("/XObject", {}).values():
            fonts |= {
                str(font.get("/BaseFont"))
                for font in xobject.get("/Resources", {}).get("/Font", {}).values()
            }
    assert any("WenQuanYi" in font for font in fonts), fonts
