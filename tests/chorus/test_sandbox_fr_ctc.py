"""The sandbox reads both Factur-X layouts of the party identifiers (French 2026 CTC: SIRET in
GlobalID@0009, SIREN in SpecifiedLegalOrganization@0002; legacy: SIRET in
SpecifiedLegalOrganization), the 2026 BT-23 codes, and refund credit notes without an IBAN."""

import base64
from decimal import Decimal

import pytest
from lxml import etree

from chorus.sandbox import facturx_check, seed
from chorus.sandbox.testing import make_cii_xml, make_facturx_pdf
from tests.chorus.test_sandbox import call

UNKNOWN_SIRET = "21380001400010"  # valid Luhn, not seeded
UNKNOWN_BUYER = (
    "L'identifiant destinataire de la demande de paiement (balise : BuyerTradeParty."
    "SpecifiedLegalOrganization.ID.value) n'est pas reference dans notre systeme."
)
BUYER_REQUIRED = (
    "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement."
    "BuyerTradeParty.SpecifiedLegalOrganization.ID.value est obligatoire."
)
IBAN_REQUIRED = "IBANID.value est obligatoire pour un paiement par virement."
AGREEMENT = "/*/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"


def deposit_and_report(sandbox, **invoice):
    """Deposit one Factur-X PDF over HTTP, process it, return the detailed flow report."""
    body = {
        "fichierFlux": base64.b64encode(make_facturx_pdf(**invoice)).decode(),
        "nomFichier": "facture.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
    }
    flow = call(sandbox, "/cpro/factures/v1/deposer/flux", body).json()["numeroFluxDepot"]
    sandbox.process_flows()
    return call(
        sandbox, "/cpro/transverses/v1/consulterCRDetaille", {"numeroFluxDepot": flow}
    ).json()


def messages(report):
    return [e["libelleErreurDP"] for e in report["listeErreurDP"]]


def xpath(xml, path):
    return etree.fromstring(xml).xpath(path, namespaces=facturx_check.NS)


# --- the two layouts ---


def test_fr_ctc_layout_has_the_siret_only_in_global_id():
    xml = make_cii_xml(buyer_siret=seed.BUYER_SERVICE)

    assert xpath(
        xml, f"string({AGREEMENT}/ram:SellerTradeParty/ram:GlobalID[@schemeID='0009'])"
    ) == (seed.SUPPLIER_SIRET)
    assert (
        xpath(xml, f"string({AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID)")
        == seed.BUYER_SERVICE[:9]
    )
    assert xpath(xml, "string(//ram:IncludedNote[ram:SubjectCode='ADN']/ram:Content)") == "B2G"
    legacy = make_cii_xml(layout="legacy")
    assert xpath(legacy, "count(//ram:GlobalID)") == 0
    assert xpath(legacy, "count(//ram:IncludedNote)") == 0


@pytest.mark.parametrize("layout", ["fr-ctc", "legacy"])
def test_both_layouts_give_the_same_sirets(layout):
    cii = facturx_check.parse_cii(make_cii_xml(layout=layout, buyer_siret=seed.BUYER_BOTH))

    assert (cii.seller_siret, cii.buyer_siret) == (seed.SUPPLIER_SIRET, seed.BUYER_BOTH)
    expected_sirens = ("841234511", "197530017") if layout == "fr-ctc" else ("", "")
    assert (cii.seller_siren, cii.buyer_siren) == expected_sirens


def test_fr_ctc_deposit_integrates_with_the_sirets_read_from_global_id(sandbox):
    report = deposit_and_report(
        sandbox, number="CTC-1", buyer_siret=seed.BUYER_SERVICE, service_code="SERV-03"
    )

    assert report["etatCourantDepotFlux"] == "IN_INTEGRE", messages(report)
    assert report["listeErreurDP"] == [] and report["listeErreurTechnique"] == []
    invoice = sandbox.invoices()[0]
    assert invoice["numeroFacture"] == "CTC-1"
    assert invoice["codeDestinataire"] == seed.BUYER_SERVICE
    assert invoice["codeServiceExecutant"] == "SERV-03"


def test_legacy_deposit_still_integrates(sandbox):
    report = deposit_and_report(
        sandbox,
        layout="legacy",
        number="LEG-1",
        buyer_siret=seed.BUYER_EITHER,
        engagement_number="EJ-2024-000789",
        business_process="A1",
    )

    assert report["etatCourantDepotFlux"] == "IN_INTEGRE", messages(report)
    assert sandbox.invoices()[0]["codeDestinataire"] == seed.BUYER_EITHER


def test_unknown_buyer_siret_in_global_id_is_rejected_with_the_existing_message(sandbox):
    report = deposit_and_report(sandbox, buyer_siret=UNKNOWN_SIRET)

    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert messages(report) == [UNKNOWN_BUYER]
    assert report["listeErreurDP"][0]["identifiantDestinataire"] == UNKNOWN_SIRET


def test_fr_ctc_file_with_only_the_buyer_siren_has_no_siret(sandbox):
    report = deposit_and_report(sandbox, buyer_siret=None, buyer_siren="217500016")

    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert messages(report) == [BUYER_REQUIRED]


def test_siret_that_does_not_start_with_the_siren_is_rejected(sandbox):
    report = deposit_and_report(sandbox, seller_siren="999999999")

    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert messages(report) == [
        f"Le SIRET fournisseur {seed.SUPPLIER_SIRET} (balise : SellerTradeParty.GlobalID.value) "
        "ne commence pas par le SIREN 999999999 (balise : SellerTradeParty."
        "SpecifiedLegalOrganization.ID.value)."
    ]


# --- BT-23 ---


@pytest.mark.parametrize("frame", ["B1", "S1", "M1", "A1", "A25"])
def test_reform_and_chorus_frames_are_accepted(sandbox, frame):
    report = deposit_and_report(sandbox, business_process=frame)

    assert report["etatCourantDepotFlux"] == "IN_INTEGRE", messages(report)


@pytest.mark.parametrize("frame", ["Z9", "A26", "B3"])
def test_unknown_frame_is_refused_with_the_existing_message(sandbox, frame):
    report = deposit_and_report(sandbox, business_process=frame)

    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert messages(report) == [
        f"Le cadre de facturation {frame} (balise : "
        "BusinessProcessSpecifiedDocumentContextParameter.ID.value) n'est pas valide."
    ]


@pytest.mark.parametrize("frame", ["S2", "A2"])
def test_already_paid_frame_with_an_amount_due_is_refused(sandbox, frame):
    report = deposit_and_report(sandbox, business_process=frame)  # 120.00 due

    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert messages(report) == [
        f"Le cadre de facturation {frame} (balise : "
        "BusinessProcessSpecifiedDocumentContextParameter.ID.value) est reserve aux factures "
        "deja payees : le montant net a payer (balise : SpecifiedTradeSettlementHeader"
        "MonetarySummation.DuePayableAmount.value) doit etre 0, il est de 120.00."
    ]


def test_already_paid_frame_with_nothing_due_integrates(sandbox):
    report = deposit_and_report(sandbox, business_process="S2", amount_due=Decimal("0.00"))

    assert report["etatCourantDepotFlux"] == "IN_INTEGRE", messages(report)
    assert sandbox.invoices()[0]["montantAPayer"] == 0.0


# --- payment means ---


def test_refund_credit_note_with_transfer_and_no_iban_integrates(sandbox):
    report = deposit_and_report(sandbox, type_code="381", payment_means="30", iban=None)

    assert report["etatCourantDepotFlux"] == "IN_INTEGRE", messages(report)
    assert sandbox.invoices()[0]["typeFacture"] == "AVOIR"


def test_invoice_with_transfer_and_no_iban_is_still_refused(sandbox):
    report = deposit_and_report(sandbox, type_code="380", payment_means="30", iban=None)

    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert len(messages(report)) == 1 and messages(report)[0].endswith(IBAN_REQUIRED)
