"""The pre-flight check blocks a broken Factur-X and says why, rule by rule."""

import dataclasses
import json
from decimal import Decimal

import pytest

from facturx_export import checks
from facturx_export.checks import FacturxCheckError, check_xml, parse_svrl
from facturx_export.services import facturx_build, facturx_build_snapshot
from facturx_export.snapshot import Flavour, Profile, snapshot_from_invoice
from facturx_export.xml import build_xml
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

    # A French business buyer without SIREN: only the French rules (same call) see it.
    anonymous = dataclasses.replace(
        snapshot.buyer, public=False, siret="", siren="", electronic_address=""
    )
    french = dataclasses.replace(snapshot, buyer=anonymous)
    with pytest.raises(FacturxCheckError) as caught:
        facturx_build_snapshot(french)
    rules = {problem.rule for problem in caught.value.problems}
    assert rules == {"BR-FR-11", "BR-FR-12", "BR-FR-21"}
    assert "renseignez le SIREN du client" in str(caught.value)
    legacy = dataclasses.replace(french, flavour=Flavour.CHORUS)
    assert facturx_build_snapshot(legacy).startswith(b"%PDF")


def test_french_rule_ids_are_read_from_the_assert_id():
    svrl = """<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
      <svrl:fired-rule context="/"/>
      <svrl:failed-assert id="BR-FR-12_BT-49" flag="fatal" location="/*:CrossIndustryInvoice[namespace-uri()='urn:x'][1]">
        <svrl:text>BR-FR-12/BT-49 : Le BT-49  est obligatoire.</svrl:text></svrl:failed-assert>
      <svrl:failed-assert id="BR-FR-CO-09_BT-23-3" flag="fatal" location="/">
        <svrl:text>BR-FR-CO-09/BT-23 : ...</svrl:text></svrl:failed-assert>
      <svrl:failed-assert id="BR-FR-32-LEGALID" flag="fatal" location="/">
        <svrl:text>BR-FR-32/LEGALID : 9 chiffres.</svrl:text></svrl:failed-assert>
    </svrl:schematron-output>"""  # noqa: E501
    problems = parse_svrl(svrl)
    assert [problem.rule for problem in problems] == ["BR-FR-12", "BR-FR-CO-09", "BR-FR-32"]
    assert problems[0].message.startswith("L'adresse électronique du client manque")
    assert problems[0].location == "/CrossIndustryInvoice[1]"


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


def test_the_layout_is_the_sellers_choice(final_invoice, company):
    assert snapshot_from_invoice(final_invoice).flavour == Flavour.FR_CTC
    assert snapshot_from_invoice(final_invoice, flavour="chorus").flavour == Flavour.CHORUS
    Company.objects.filter(pk=company.pk).update(chorus_legacy_layout=True)
    final_invoice.company.refresh_from_db()
    assert snapshot_from_invoice(final_invoice).flavour == Flavour.FR_CTC  # frozen: not legacy
    from invoicing import services

    later = services.invoice_finalise(invoice_id=services.credit_note_create(
        invoice=final_invoice).pk)  # fmt: skip
    assert snapshot_from_invoice(later).flavour == Flavour.CHORUS


def test_an_invoice_frozen_before_2026_gets_its_identifiers_derived(final_invoice):
    from django.db import connection

    old_keys = {"siren", "electronic_address", "public", "vat_on_debits", "chorus_legacy_layout"}
    seller = {k: v for k, v in final_invoice.seller_data.items() if k not in old_keys}
    seller["siren"] = final_invoice.seller_data["siren"]  # the seller always had it
    buyer = {k: v for k, v in final_invoice.buyer_data.items() if k not in old_keys}
    with connection.cursor() as cursor:  # the ORM guards final rows
        cursor.execute(
            "UPDATE invoicing_invoice SET seller_data = %s, buyer_data = %s WHERE id = %s",
            [json.dumps(seller), json.dumps(buyer), final_invoice.pk],
        )
    final_invoice.refresh_from_db()
    snapshot = snapshot_from_invoice(final_invoice)
    assert (snapshot.buyer.siren, snapshot.buyer.public) == ("110006012", True)
    assert snapshot.buyer.electronic_address == "110006012_11000601200014"
    assert snapshot.seller.electronic_address == "732829320"
    assert facturx_build(final_invoice).startswith(b"%PDF")


def test_the_code_lists_parsed_once_find_what_the_shipped_stylesheets_find(final_invoice):
    """The stylesheets run with their code-list database passed in (checks._Saxon.compile)
    report the same problems as the files as shipped, code-list rules included."""
    saxon = checks._Saxon()
    for profile in Profile:
        snapshot = dataclasses.replace(snapshot_from_invoice(final_invoice), profile=profile)
        xml = build_xml(snapshot).decode().split("?>", 1)[1]
        # Unknown unit, currency and scheme codes: rules that read the code lists.
        broken = xml.replace('unitCode="C62"', 'unitCode="XXX"').replace(">EUR<", ">EUX<")
        broken = broken.replace('schemeID="0009"', 'schemeID="9999"')
        shipped_file = checks.SCHEMATRON_PATHS[profile]
        shipped = saxon.processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=str(shipped_file)
        )
        ours = saxon.compile(shipped_file)
        node = saxon.parse(broken)
        expected = parse_svrl(shipped.transform_to_string(xdm_node=node))
        assert len(expected) >= 3, profile
        assert parse_svrl(ours.transform_to_string(xdm_node=node)) == expected
