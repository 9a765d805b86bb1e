"""« Valider la facture » in Chromium: the button, Ctrl+Maj+Entrée and the context menu; the
« Contrôle » panel; the downloads of a final invoice; a partial credit note."""

import io
import re
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from invoicing import services
from invoicing.models import Company, Customer, Invoice, NumberingCounter
from tests.facturx_export.conftest import _validate
from tests.ui.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VALIDATE = "Valider la facture"
REFUSED = "Facture enregistrée mais non validée"
CLEAN = "Aucun problème"


def _number(n: int) -> str:
    """The company's default invoice number pattern, FA{year}-{number:05d}."""
    return f"FA{timezone.localdate().year}-{n:05d}"


def _provisional(demo, customer, *quantities) -> Invoice:
    return services.invoice_create(
        company=demo.company,
        customer=customer,
        lines=[
            services.line_from_article(article, Decimal(quantity))
            for article, quantity in zip(demo.articles, quantities, strict=False)
        ],
    )


def _accept_confirm(page) -> list[str]:
    """Accept the next window.confirm, keeping its text."""
    seen = []

    def accept(dialog):
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.once("dialog", accept)
    return seen


def _download(page, name: str, href: str, target: Path) -> bytes:
    link = page.get_by_role("link", name=name)
    expect(link).to_have_attribute("href", href)
    with page.expect_download() as info:
        link.click()
    info.value.save_as(target)
    return target.read_bytes()


def _downloads(page, invoice: Invoice, folder: Path) -> Path:
    """Fetch both files of final `invoice` by clicking its links; check the plain PDF has
    no embedded XML; return the Factur-X's path for the validator."""
    facturx = folder / f"{invoice.number}.pdf"
    data = _download(page, "Télécharger le Factur-X", f"/factur-x/{invoice.pk}/", facturx)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/AF" in pdf.Root  # the Factur-X carries factur-x.xml
        assert "factur-x.xml" in pdf.attachments
    plain = _download(
        page,
        "Télécharger le PDF",
        f"/factur-x/{invoice.pk}/pdf/",
        folder / f"{invoice.number}_plain.pdf",
    )
    assert plain.startswith(b"%PDF-")
    with pikepdf.open(io.BytesIO(plain)) as pdf:
        assert "/AF" not in pdf.Root
        assert "factur-x.xml" not in pdf.attachments
    return facturx


def _assert_valid(files: list[Path]) -> None:
    results = _validate(files)
    assert set(results) == {path.stem for path in files}
    for stem, result in results.items():
        errors = [
            f"[{f['source']} {f['rule']}] {f['message']}"
            for f in result["findings"]
            if f["severity"] == "error"
        ]
        assert result["errors"] == 0 and errors == [], (stem, errors)


def test_a_company_and_an_individual_invoice_are_validated_then_downloaded(page, demo, tmp_path):
    company = demo.customer(name="SARL Les Caves Rémoises", chorus_enabled=False)
    person = demo.customer(
        kind=Customer.Kind.INDIVIDUAL,
        name="Jeanne Dupont",
        chorus_enabled=False,
        siret="",
        email="jeanne.dupont@example.fr",  # BT-49 of a buyer without SIREN (BR-FR-12)
    )
    login(page)

    # To a private company: typed on the entry screen and validated there with the button,
    # which saves, checks, then numbers (after a confirmation).
    page.goto("/factures/nouvelle/")
    page.locator("#id_customer").select_option(str(company.pk))
    page.get_by_label("Article, ligne 1", exact=True).fill("AOPVEMA15B")
    page.get_by_label("Quantité, ligne 1").fill("12")
    page.get_by_label("Article, ligne 2", exact=True).fill("JUS100")
    page.get_by_label("Quantité, ligne 2").fill("3")
    expect(page.locator('[data-total="ttc"]')).to_have_text("154,60\u00a0€")
    dialogs = _accept_confirm(page)
    page.locator(".page-head").get_by_role("button", name=VALIDATE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture {_number(1)}")
    assert dialogs and dialogs[0].startswith("confirm: Valider la facture ?")
    expect(page.get_by_text(f"Facture validée : n° {_number(1)}.")).to_be_visible()
    expect(page.locator(".state-banner")).to_contain_text("Définitive")
    first = Invoice.objects.get(customer=company)
    assert first.state == Invoice.State.FINAL and first.number == _number(1)
    assert [line.label for line in first.lines.all()] == [
        "AOP vin effervescent 2015 75 cl",
        "Jus de raisin 1 l",
    ]
    files = [_downloads(page, first, tmp_path)]

    # To an individual: saved earlier, clean, validated with Ctrl+Maj+Entrée from the grid.
    second = _provisional(demo, person, "2", "1")
    page.goto(f"/factures/{second.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Facture provisoire")
    expect(page.locator("section#controle")).to_contain_text(CLEAN)
    page.get_by_label("Quantité, ligne 2").fill("4")  # unsaved: validating saves it first

    # Declining the confirmation changes nothing.
    dismissed = []
    page.once("dialog", lambda dialog: (dismissed.append(dialog.type), dialog.dismiss()))
    page.get_by_label("Quantité, ligne 2").press("Control+Shift+Enter")
    page.wait_for_timeout(300)
    assert dismissed == ["confirm"]
    expect(page.get_by_role("heading", level=1)).to_contain_text("Facture provisoire")
    second.refresh_from_db()
    assert second.state == Invoice.State.PROVISIONAL and second.number is None

    dialogs = _accept_confirm(page)
    page.get_by_label("Quantité, ligne 2").press("Control+Shift+Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture {_number(2)}")
    assert len(dialogs) == 1 and dialogs[0].startswith("confirm:")
    second.refresh_from_db()
    assert second.state == Invoice.State.FINAL and second.number == _number(2)
    assert [line.quantity for line in second.lines.all()] == [Decimal("2"), Decimal("4")]
    assert second.buyer_data["kind"] == Customer.Kind.INDIVIDUAL
    files.append(_downloads(page, second, tmp_path))

    _assert_valid(files)


def test_a_refused_validation_keeps_the_invoice_provisional_and_uses_no_number(page, demo):
    customer = demo.customer(name="Restaurant Le Cellier", chorus_enabled=False)
    earlier = services.invoice_finalise(invoice_id=_provisional(demo, customer, "1").pk)
    assert earlier.number == _number(1)
    iban = demo.company.iban
    Company.objects.filter(pk=demo.company.pk).update(iban="")
    invoice = _provisional(demo, customer, "6")
    login(page)

    page.goto(f"/factures/{invoice.pk}/")
    panel = page.locator("section#controle")
    expect(panel.get_by_role("heading", name="Contrôle")).to_be_visible()
    expect(panel).to_contain_text("Aucun IBAN pour le vendeur")
    fix = panel.get_by_role("link", name="Fiche de l'entreprise")
    expect(fix).to_have_attribute("href", re.compile(rf"/{demo.company.pk}/.*#id_iban$"))

    dialogs = _accept_confirm(page)
    page.locator(".page-head").get_by_role("button", name=VALIDATE).click()
    expect(page.get_by_text(re.compile(REFUSED))).to_be_visible()
    assert len(dialogs) == 1
    expect(page.get_by_role("heading", level=1)).to_contain_text("Facture provisoire")
    expect(page.locator(".state-banner")).to_contain_text("Provisoire")
    expect(panel).to_contain_text("Aucun IBAN pour le vendeur")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PROVISIONAL and invoice.number is None
    counter = NumberingCounter.objects.get(company=demo.company, kind=Invoice.Kind.INVOICE)
    assert counter.last_number == 1  # no number used

    # The panel's link leads to the field; the IBAN typed back there fixes the invoice.
    fix.click()
    expect(page.locator("#id_iban")).to_be_visible()
    page.locator("#id_iban").fill(iban)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text(re.compile("Entreprise « .* » enregistrée"))).to_be_visible()
    assert Company.objects.get(pk=demo.company.pk).iban == iban

    page.goto(f"/factures/{invoice.pk}/")
    expect(panel).to_contain_text(CLEAN)
    _accept_confirm(page)
    page.locator(".page-head").get_by_role("button", name=VALIDATE).click()
    # The number the refused validation would have taken: no gap in the series.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture {_number(2)}")
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.FINAL and invoice.number == _number(2)


def test_a_partial_credit_note_from_an_invoice_validated_by_the_context_menu(page, demo):
    invoice = _provisional(
        demo, demo.customer(name="Cave coopérative", chorus_enabled=False), "6", "3"
    )
    login(page)
    page.goto(f"/factures/{invoice.pk}/")

    page.locator("#invoice-header").click(button="right", position={"x": 300, "y": 10})
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    _accept_confirm(page)
    menu.get_by_role("menuitem", name=VALIDATE).click()
    invoice.refresh_from_db()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture {_number(1)}")
    assert invoice.number == _number(1)

    page.get_by_role("link", name="Avoir partiel…").click()
    expect(page).to_have_url(re.compile(rf"/factures/{invoice.pk}/avoir/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Avoir de la facture {_number(1)}")
    expect(page.get_by_label("Créditer la ligne 1")).to_be_checked()
    expect(page.get_by_label("Créditer la ligne 2")).to_be_checked()
    expect(page.get_by_label("Quantité à créditer, ligne 1")).to_have_value("6")
    page.get_by_label("Créditer la ligne 2").uncheck()
    page.get_by_label("Quantité à créditer, ligne 1").fill("1")
    page.get_by_role("button", name="Créer l'avoir").click()

    expect(page.get_by_text(re.compile("Avoir provisoire créé"))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Avoir provisoire")
    expect(page.get_by_label("Libellé court, ligne 1")).to_have_value(
        "AOP vin effervescent 2015 75 cl"
    )
    expect(page.get_by_label("Quantité, ligne 1")).to_have_value("1")
    expect(page.get_by_label("Libellé court, ligne 2")).to_have_value("")
    note = Invoice.objects.get(credited_invoice=invoice)
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.state == Invoice.State.PROVISIONAL
    lines = list(note.lines.all())
    assert len(lines) == 1
    assert lines[0].label == "AOP vin effervescent 2015 75 cl"
    assert lines[0].quantity == Decimal("1")
    assert lines[0].unit_price == Decimal("10.00")
