"""The pre-flight check blocks a broken Factur-X and says why, rule by rule."""

import dataclasses
from decimal import Decimal

import pytest

from facturx_export.checks import FacturxCheckError, check_xml
from facturx_export.services import facturx_build, facturx_build_snapshot
from facturx_export.snapshot import snapshot_from_invoice
from invoicing.models import Company, VatCategory
from tests.facturx_export.shapes import FRANCHISE_REASON, exempt

pytestmark = pytest.mark.django_db


def test_provisional_invoice_has_no_factur_x(make_invoice):
    with pytest.raises(FacturxCheckError, match="définitive"):
        facturx_build(make_invoice())


def test_every_broken_rule_is_listed_with_a_plain_explanation(final_invoice):
    snapshot = snapshot_from_invoice(final_invoice)
    broken = dataclasses.replace(
        snapshot, seller=dataclasses.replace(snapshot.seller, name=""), iban=""
    )
    with pytest.raises(FacturxCheckError) as caught:
        facturx_build_snapshot(broken)
    rules = {problem.rule for problem in caught.value.problems}
    assert {"BR-06", "CHORALE-03"} <= rules
    message = str(caught.value)
    assert "La raison sociale du vendeur est absente." in message
    assert "IBAN" in message


@pytest.mark.parametrize("where", ["process", "thread"])
def test_the_rules_run_the_same_in_the_child_process_and_in_process(
    final_invoice, monkeypatch, where
):
    monkeypatch.setenv("FACTURX_SCHEMATRON", where)
    snapshot = snapshot_from_invoice(final_invoice)
    assert facturx_build_snapshot(snapshot).startswith(b"%PDF")

    broken = dataclasses.replace(snapshot, seller=dataclasses.replace(snapshot.seller, name=""))
    with pytest.raises(FacturxCheckError) as caught:
        facturx_build_snapshot(broken)
    assert "BR-06" in {problem.rule for problem in caught.value.problems}

    with pytest.raises(FacturxCheckError) as caught:  # not an invoice at all
        check_xml(b'<?xml version="1.0" encoding="UTF-8"?><invoice/>', snapshot)
    assert "XSD" in {problem.rule for problem in caught.value.problems}


def test_exempt_line_of_a_seller_without_vat_number_nor_tax_id_is_blocked_before_numbering(
    make_invoice, company
):
    Company.objects.filter(pk=company.pk).update(
        vat_number="", vat_regime=Company.VatRegime.FRANCHISE, tax_registration_id=""
    )
    invoice = make_invoice(
        lines=[exempt("Réparation", "1", "80", VatCategory.EXEMPT, FRANCHISE_REASON)]
    )
    from invoicing import services
    from invoicing.preflight import PreflightError

    with pytest.raises(PreflightError) as caught:
        services.invoice_finalise(invoice_id=invoice.pk)
    problems = {(problem.rule, problem.field) for problem in caught.value.problems}
    assert ("BR-E-02", "company.tax_registration_id") in problems
    assert "identifiant fiscal" in " ".join(caught.value.messages)
    invoice.refresh_from_db()
    assert invoice.number is None and not invoice.is_final


def test_quantities_beyond_four_decimals_are_refused(final_invoice):
    snapshot = snapshot_from_invoice(final_invoice)
    line = dataclasses.replace(snapshot.lines[0], quantity=Decimal("2.00001"))
    with pytest.raises(FacturxCheckError, match="4 décimales"):
        facturx_build_snapshot(dataclasses.replace(snapshot, lines=(line,)))
