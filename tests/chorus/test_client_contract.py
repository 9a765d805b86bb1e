"""The client against the sandbox over real HTTP: every operation, every failure scenario."""

import io
import socket
import tarfile

import pytest

from chorus.client import FACTURX_SYNTAX, ChorusClient, Requirement
from chorus.errors import ChorusPermanentError, ChorusTransientError
from chorus.sandbox import seed
from chorus.sandbox.state import PAYMENT_MEANS_MESSAGE
from chorus.sandbox.testing import make_cii_xml, make_facturx_pdf

UNKNOWN_SIRET = "21380001400010"  # valid Luhn, not seeded


def deposit_and_report(client, **invoice):
    deposit = client.deposit_facturx(make_facturx_pdf(**invoice), invoice_number="x")
    return deposit, client.get_flow_report(deposit.flow_number)


# --- structures ---


@pytest.mark.parametrize(
    ("siret", "requirement"),
    [
        (seed.BUYER_NONE, Requirement.NONE),
        (seed.BUYER_SERVICE, Requirement.SERVICE_CODE),
        (seed.BUYER_ENGAGEMENT, Requirement.ENGAGEMENT),
        (seed.BUYER_BOTH, Requirement.BOTH),
        (seed.BUYER_EITHER, Requirement.EITHER),
    ],
)
def test_structure_requirements_map_to_the_five_outcomes(client, siret, requirement):
    structure = client.find_structure_by_siret(siret)
    detail = client.get_structure(structure.id_structure_cpp)

    assert structure.siret == siret and structure.is_active
    assert detail.requirement is requirement
    assert detail.is_public and detail.siret == siret


def test_requirement_is_satisfied_only_by_the_right_references():
    assert Requirement.BOTH.is_satisfied_by(service_code="S", engagement_number="EJ")
    assert not Requirement.BOTH.is_satisfied_by(service_code="S", engagement_number="")
    assert Requirement.EITHER.is_satisfied_by(service_code="", engagement_number="EJ")
    assert not Requirement.EITHER.is_satisfied_by(service_code=" ", engagement_number="")
    assert not Requirement.SERVICE_CODE.is_satisfied_by(service_code="", engagement_number="EJ")
    assert Requirement.NONE.is_satisfied_by(service_code="", engagement_number="")


def test_inactive_structure_is_a_permanent_error(client):
    with pytest.raises(ChorusPermanentError) as caught:
        client.find_structure_by_siret(seed.BUYER_INACTIVE)

    assert caught.value.code == "structure_inactive"
    assert "inactive dans Chorus Pro" in caught.value.message_fr
    assert seed.BUYER_INACTIVE in caught.value.message_fr


@pytest.mark.parametrize("empty_search_code", [20000, 0])
def test_unknown_siret_is_structure_unknown_whatever_the_empty_answer(
    client, sandbox, empty_search_code
):
    sandbox.configure(empty_search_code=empty_search_code)

    with pytest.raises(ChorusPermanentError) as caught:
        client.find_structure_by_siret(UNKNOWN_SIRET)

    assert caught.value.code == "structure_unknown"
    assert "Vérifiez le SIRET du client" in caught.value.message_fr


def test_unknown_structure_id_is_structure_unknown(client):
    with pytest.raises(ChorusPermanentError) as caught:
        client.get_structure(999_999)
    assert caught.value.code == "structure_unknown"


def test_services_are_listed_across_pages(client):
    structure = client.find_structure_by_siret(seed.BUYER_SERVICE)

    services = client.list_services(structure.id_structure_cpp, per_page=5)

    codes = [s.code for s in services]
    assert len(codes) == 14 == len(set(codes))
    assert "FACTURES_PUBLIQUES" in codes and "SERV-12" in codes
    selectable = {s.code for s in services if s.is_selectable}
    assert "FACTURES_PUBLIQUES" not in selectable and "SERV-FERME" not in selectable
    assert len(selectable) == 12


def test_service_consultation_tells_whether_an_engagement_is_required(client):
    structure = client.find_structure_by_siret(seed.BUYER_BOTH)
    services = {s.code: s for s in client.list_services(structure.id_structure_cpp)}

    labo2 = client.get_service(structure.id_structure_cpp, services["LABO-2"].id_service)
    labo1 = client.get_service(structure.id_structure_cpp, services["LABO-1"].id_service)

    assert labo2.code == "LABO-2" and labo2.engagement_required
    assert not labo1.engagement_required


def test_service_of_another_structure_is_service_unknown(client):
    buyer = client.find_structure_by_siret(seed.BUYER_BOTH)
    other = client.find_structure_by_siret(seed.BUYER_NONE)
    foreign = client.list_services(other.id_structure_cpp)[0]

    with pytest.raises(ChorusPermanentError) as caught:
        client.get_service(buyer.id_structure_cpp, foreign.id_service)
    assert caught.value.code == "service_unknown"


def test_engagement_search_finds_the_suppliers_commitment(client):
    supplier = client.list_my_attachments()[0]

    found = client.search_engagements(
        "EJ-2024-000123", receiving_structure_id=supplier.id_structure
    )
    missing = client.search_engagements("EJ-NOPE", receiving_structure_id=supplier.id_structure)

    assert [e.number for e in found.items] == ["EJ-2024-000123"]
    assert found.items[0].service_code == "ACHATS" and found.items[0].state == "COMMANDE"
    assert missing.items == [] and missing.total == 0


# --- account and platform ---


def test_attachments_list_the_supplier_structure(client):
    attachments = client.check_connection()

    assert [a.siret for a in attachments] == [seed.SUPPLIER_SIRET]
    assert attachments[0].attachment_status == "ACTIF"


def test_health_check_reports_ok(client):
    assert client.health_check().ok


# --- deposit, report, invoices ---


def test_deposit_integrates_and_the_invoice_moves_through_its_statuses(client, sandbox):
    deposit, report = deposit_and_report(
        client, number="F-100", buyer_siret=seed.BUYER_SERVICE, service_code="SERV-03"
    )

    assert deposit.syntax == FACTURX_SYNTAX and deposit.flow_number.startswith("CPP0011117")
    assert report.state == "IN_INTEGRE" and report.is_final and report.is_success
    assert report.invoice_errors == [] and report.technical_errors == []
    invoice = client.find_supplier_invoice("F-100")
    assert invoice is not None and invoice.flow_number == deposit.flow_number
    assert invoice.status == "DEPOSEE" and invoice.service_code == "SERV-03"
    assert invoice.amount_ttc == 120.0

    sandbox.advance_clock(61)
    history = client.get_invoice_history(invoice.id_invoice_cpp)
    assert history.current_status == "MISE_A_DISPOSITION"
    assert [e.code for e in history.entries] == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
    ]

    sandbox.set_invoice_status("REJETEE", invoice_id=invoice.id_invoice_cpp, comment="Doublon")
    history = client.get_invoice_history(invoice.id_invoice_cpp)
    assert history.current_status == "REJETEE" and history.last_comment == "Doublon"


def test_flow_waits_then_processes_on_the_sandbox_clock(client, sandbox):
    sandbox.configure(processing_delay=60)
    deposit = client.deposit_facturx(make_facturx_pdf(), invoice_number="F")

    assert client.get_flow_report(deposit.flow_number).state == (
        "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"
    )
    assert client.find_supplier_invoice("F2024-0001") is None
    sandbox.advance_clock(31)
    assert client.get_flow_report(deposit.flow_number).state == "IN_EN_COURS_TRAITEMENT_CPP"
    sandbox.advance_clock(30)
    assert client.get_flow_report(deposit.flow_number).state == "IN_INTEGRE"


@pytest.mark.parametrize(
    ("invoice", "expected"),
    [
        ({"payment_means": None}, PAYMENT_MEANS_MESSAGE),
        ({"iban": None}, "IBANID.value est obligatoire"),
        ({"buyer_siret": seed.BUYER_SERVICE}, "BuyerReference.value est obligatoire"),
        (
            {"buyer_siret": seed.BUYER_ENGAGEMENT},
            "BuyerOrderReferencedDocument.IssuerAssignedID.value est obligatoire",
        ),
        (
            {"buyer_siret": seed.BUYER_BOTH, "engagement_number": "EJ-1"},
            "BuyerReference.value est obligatoire",
        ),
        ({"buyer_siret": seed.BUYER_EITHER}, "doit etre renseigne"),
        (
            {"buyer_siret": seed.BUYER_EITHER, "service_code": "DRH"},
            "IssuerAssignedID.value est obligatoire",
        ),
        ({"buyer_siret": seed.BUYER_INACTIVE}, "n'est pas active"),
        ({"buyer_siret": UNKNOWN_SIRET}, "identifiant destinataire"),
        ({"buyer_siret": None}, "BuyerTradeParty.SpecifiedLegalOrganization.ID.value est oblig"),
        ({"seller_siret": seed.SUPPLIER_NO_GP_SIRET}, "identifiant fournisseur"),
        ({"service_code": "FACTURES_PUBLIQUES"}, "FACTURES_PUBLIQUES est reserve"),
        ({"service_code": "INCONNU"}, "Le code service INCONNU"),
        ({"currency": "USD"}, "La devise USD"),
        ({"business_process": "Z9"}, "cadre de facturation Z9"),
    ],
)
def test_invoice_breaking_a_chorus_rule_is_rejected_in_the_report(client, invoice, expected):
    _, report = deposit_and_report(client, **invoice)

    assert report.state == "IN_REJETE" and report.is_failure
    assert any(expected in message for message in report.messages()), report.messages()
    assert report.invoice_errors[0].invoice_number == "F2024-0001"


def test_either_requirement_is_met_by_an_engagement_alone(client):
    _, report = deposit_and_report(
        client, buyer_siret=seed.BUYER_EITHER, engagement_number="EJ-2024-000789"
    )
    assert report.state == "IN_INTEGRE"


def test_pdf_without_embedded_xml_is_a_technical_rejection(client):
    deposit = client.deposit_flow(make_facturx_pdf(embed=False), "facture.pdf")

    report = client.get_flow_report(deposit.flow_number)

    assert report.state == "IN_REJETE"
    assert "factur-x.xml" in report.technical_errors[0].message


def test_same_invoice_number_twice_is_rejected_the_second_time(client):
    first, _ = deposit_and_report(client, number="F-DUP")
    second, report = deposit_and_report(client, number="F-DUP")

    assert first.flow_number != second.flow_number
    assert report.state == "IN_REJETE"
    assert "existe deja" in report.messages()[0]


def test_batch_with_one_bad_invoice_is_partly_integrated_and_listed_beyond_ten(client):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for n in range(12):
            options = {"payment_means": None} if n == 5 else {}
            data = make_facturx_pdf(number=f"LOT-{n:02d}", **options)
            info = tarfile.TarInfo(f"LOT-{n:02d}.pdf")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    deposit = client.deposit_flow(buffer.getvalue(), "factur-x_chorus_lot_factures.tar.gz")

    report = client.get_flow_report(deposit.flow_number)
    invoices = client.list_supplier_invoices(flow_number=deposit.flow_number, per_page=10)

    assert report.state == "IN_INTEGRE_PARTIEL"
    assert [e.invoice_number for e in report.invoice_errors] == ["LOT-05"]
    assert len(invoices) == 11 and "LOT-05" not in {i.number for i in invoices}


def test_refused_syntax_is_a_permanent_deposit_rejection(client, sandbox):
    with pytest.raises(ChorusPermanentError) as caught:
        client.deposit_flow(make_facturx_pdf(), "f.pdf", syntax="IN_DP_E1_CII_FACTURX")

    assert caught.value.code == "deposit_rejected" and caught.value.code_retour == 4
    assert "n'est pas reconnue" in caught.value.message_fr
    assert sandbox.stats()["flows"] == 0


def test_unknown_flow_and_invoice_are_reported_as_such(client):
    with pytest.raises(ChorusPermanentError) as flow:
        client.get_flow_report("CPP0011117000000000000001")
    with pytest.raises(ChorusPermanentError) as invoice:
        client.get_invoice_history(1)

    assert flow.value.code == "flow_unknown"
    assert invoice.value.code == "invoice_unknown"


def test_another_suppliers_flow_is_unknown(client, make_client, sandbox):
    deposit = client.deposit_facturx(make_facturx_pdf(), invoice_number="F")
    sandbox.update_account("TECH_1_TOUT_NEUF@cpro.fr", created_seconds_ago=86400)
    stranger = make_client("recently_created")

    with pytest.raises(ChorusPermanentError) as caught:
        stranger.get_flow_report(deposit.flow_number)
    assert caught.value.code == "flow_unknown"


# --- failure scenarios of the technical account and PISTE ---


@pytest.mark.parametrize("scenario", ["ldap_auth_failure", "password_expired", "recently_created"])
def test_account_scenarios_fail_with_the_ldap_message(make_client, scenario):
    with pytest.raises(ChorusPermanentError) as caught:
        make_client(scenario).find_structure_by_siret(seed.BUYER_NONE)

    assert caught.value.code == "auth_ldap"
    assert "mot de passe technique" in caught.value.message_fr
    assert "Paramètres > Entreprises" in caught.value.message_fr
    assert "réinitialisez-le sur le portail Chorus Pro" in caught.value.message_fr


def test_wrong_technical_password_is_an_ldap_failure(make_client):
    with pytest.raises(ChorusPermanentError) as caught:
        make_client(password="not-the-password").check_connection()
    assert caught.value.code == "auth_ldap"


def test_recent_account_works_once_thirty_minutes_have_passed(make_client, sandbox):
    client = make_client("recently_created")
    with pytest.raises(ChorusPermanentError):
        client.check_connection()

    sandbox.advance_clock(26 * 60)

    assert client.check_connection()[0].siret == seed.SUPPLIER_OTHER_SIRET


def test_recent_account_can_answer_gp_not_found(make_client, sandbox):
    sandbox.configure(recent_account_answer="gp")
    with pytest.raises(ChorusPermanentError) as caught:
        make_client("recently_created").check_connection()
    assert caught.value.code == "gp_not_found"


def test_account_without_gp_fails_with_gp_not_found(make_client):
    with pytest.raises(ChorusPermanentError) as caught:
        make_client("gp_not_found").find_structure_by_siret(seed.BUYER_NONE)

    assert caught.value.code == "gp_not_found"
    assert caught.value.code_retour == 1
    assert "30 minutes" in caught.value.message_fr
    assert "gestionnaire principal (GP)" in caught.value.message_fr


def test_health_check_skips_the_gp_check(make_client):
    assert make_client("gp_not_found").health_check().ok


def test_bad_piste_secret_is_piste_bad_client(make_client):
    with pytest.raises(ChorusPermanentError) as caught:
        make_client(client_secret="wrong").check_connection()

    assert caught.value.code == "piste_bad_client"
    assert "client_id / client_secret" in caught.value.message_fr


def test_application_not_subscribed_to_structures_gets_api_not_subscribed(sandbox, make_client):
    other = sandbox.seed["piste_clients"][1]
    client = make_client(client_id=other["client_id"], client_secret=other["client_secret"])

    with pytest.raises(ChorusPermanentError) as caught:
        client.find_structure_by_siret(seed.BUYER_NONE)

    assert caught.value.code == "api_not_subscribed" and caught.value.http_status == 403
    assert "« structures »" in caught.value.message_fr and "CGU" in caught.value.message_fr
    assert client.check_connection()  # utilisateurs is subscribed


def test_missing_settings_fail_before_any_call(make_client, sandbox):
    with pytest.raises(ChorusPermanentError) as caught:
        make_client(password="").check_connection()

    assert caught.value.code == "credentials_missing"
    assert sandbox.stats()["calls"] == {}


def test_unknown_route_is_route_not_found(client):
    with pytest.raises(ChorusPermanentError) as caught:
        client._call("/cpro/factures/v1/consulter/cr", {})
    assert caught.value.code == "route_not_found"


# --- platform faults ---


def test_platform_down_is_transient_unreachable(client, sandbox):
    sandbox.platform_state("down")

    with pytest.raises(ChorusTransientError) as caught:
        client.find_structure_by_siret(seed.BUYER_NONE)

    assert caught.value.code == "platform_unreachable"
    assert "n'est pas accessible" in caught.value.message_fr


def test_nothing_listening_is_unreachable_even_for_a_deposit(sandbox):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{free_port}"
    client = ChorusClient(sandbox.client_settings(api_base_url=url))  # token from the sandbox

    with pytest.raises(ChorusTransientError) as caught:
        client.deposit_facturx(make_facturx_pdf(), invoice_number="F")
    assert caught.value.code == "platform_unreachable"
    assert "Connection refused" in caught.value.detail_en


@pytest.mark.parametrize("state", ["unavailable", "failing"])
def test_platform_5xx_is_transient_platform_error(client, sandbox, state):
    sandbox.platform_state(state)

    with pytest.raises(ChorusTransientError) as caught:
        client.health_check()

    assert caught.value.code == "platform_error"
    assert caught.value.http_status in (500, 503)


def test_transient_5xx_is_retried_until_it_passes(client, sandbox):
    client.check_connection()
    sandbox.add_fault("status", status=502, count=2, route="/cpro/structures")

    assert client.find_structure_by_siret(seed.BUYER_NONE).siret == seed.BUYER_NONE
    assert sandbox.stats()["calls"]["/cpro/structures/v1/rechercher"] == 3


def test_slow_platform_times_out_as_unreachable(make_client, sandbox):
    client = make_client(timeout=(1.0, 0.3), max_retries=0)
    client.check_connection()
    sandbox.platform_state("slow", delay=0.8)

    with pytest.raises(ChorusTransientError) as caught:
        client.find_structure_by_siret(seed.BUYER_NONE)
    assert caught.value.code == "platform_unreachable"


def test_rate_limit_is_transient_and_retried(client, sandbox):
    client.check_connection()
    sandbox.add_fault("rate_limit", count=1)
    assert client.health_check().ok

    sandbox.platform_state("rate_limited")
    with pytest.raises(ChorusTransientError) as caught:
        client.health_check()
    assert caught.value.code == "rate_limited"
    assert "quota" in caught.value.message_fr


def test_unreadable_answer_during_siret_check_is_siret_check_failed(client, sandbox):
    client.check_connection()
    sandbox.add_fault("status", status=200, route="/cpro/structures")

    with pytest.raises(ChorusTransientError) as caught:
        client.find_structure_by_siret(seed.BUYER_NONE)

    assert caught.value.code == "siret_check_failed"
    assert "l'horloge de l'ordinateur" in caught.value.message_fr
    assert "mot de passe" in caught.value.message_fr


def test_unreadable_answer_elsewhere_is_malformed_response(client, sandbox):
    client.check_connection()
    sandbox.add_fault("status", status=200, route="/cpro/transverses")

    with pytest.raises(ChorusTransientError) as caught:
        client.health_check()
    assert caught.value.code == "malformed_response"


# --- deposits are never sent twice by the client ---


def test_deposit_whose_answer_is_lost_is_outcome_unknown_and_not_resent(client, sandbox):
    client.check_connection()
    sandbox.add_fault("close", route="/cpro/factures/v1/deposer/flux", count=1, phase="after")

    with pytest.raises(ChorusTransientError) as caught:
        client.deposit_facturx(make_facturx_pdf(number="F-LOST"), invoice_number="F-LOST")

    assert caught.value.code == "deposit_outcome_unknown"
    assert "Ne la déposez pas de nouveau" in caught.value.message_fr
    assert sandbox.deposit_count("F-LOST") == 1
    found = client.find_supplier_invoice("F-LOST")
    assert found is not None and found.number == "F-LOST"


def test_deposit_timing_out_is_outcome_unknown(make_client, sandbox):
    client = make_client(timeout=(1.0, 0.3))
    client.check_connection()
    sandbox.add_fault("delay", route="/cpro/factures", count=1, delay=0.8, phase="after")

    with pytest.raises(ChorusTransientError) as caught:
        client.deposit_facturx(make_facturx_pdf(number="F-SLOW"), invoice_number="F-SLOW")

    assert caught.value.code == "deposit_outcome_unknown"
    assert sandbox.stats()["calls"]["/cpro/factures/v1/deposer/flux"] == 1


def test_deposit_getting_500_is_outcome_unknown_and_not_retried(client, sandbox):
    client.check_connection()
    sandbox.add_fault("status", status=500, route="/cpro/factures", count=1, phase="after")

    with pytest.raises(ChorusTransientError) as caught:
        client.deposit_facturx(make_facturx_pdf(number="F-500"), invoice_number="F-500")

    assert caught.value.code == "deposit_outcome_unknown"
    assert sandbox.deposit_count("F-500") == 1


def test_deposit_refused_by_the_gateway_with_503_is_retried_once_deposited(client, sandbox):
    client.check_connection()
    sandbox.add_fault("status", status=503, route="/cpro/factures", count=1)

    deposit = client.deposit_facturx(make_facturx_pdf(number="F-503"), invoice_number="F-503")

    assert deposit.flow_number
    assert sandbox.deposit_count("F-503") == 1
    assert sandbox.stats()["calls"]["/cpro/factures/v1/deposer/flux"] == 2


def test_find_supplier_invoice_filters_on_recipient(client):
    client.deposit_facturx(make_facturx_pdf(number="F-R"), invoice_number="F-R")

    assert client.find_supplier_invoice("F-R", recipient_siret=seed.BUYER_NONE) is not None
    assert client.find_supplier_invoice("F-R", recipient_siret=seed.BUYER_BOTH) is None
    assert client.find_supplier_invoice("F-OTHER") is None


def test_e1_cii_xml_flow_is_processed_too(client):
    deposit = client.deposit_flow(make_cii_xml(number="F-E1"), "f.xml", syntax="IN_DP_E1_CII_16B")
    assert client.get_flow_report(deposit.flow_number).state == "IN_INTEGRE"


def test_the_seeds_words_come_first_with_the_real_login(make_client, sandbox):
    with pytest.raises(ChorusPermanentError) as caught:
        make_client("gp_not_found").find_structure_by_siret(seed.BUYER_NONE)
    assert caught.value.message_fr.startswith(
        "Erreur : Impossible de trouver le GP (Gestionnaire principal) correspondant à "
        "l'utilisateur. "
    )

    client = make_client("ldap_auth_failure")
    with pytest.raises(ChorusPermanentError) as caught:
        client.find_structure_by_siret(seed.BUYER_NONE)
    assert caught.value.code == "auth_ldap"
    assert caught.value.message_fr.startswith(
        "Une erreur est survenue lors de la communication avec Chorus Pro. Erreur : Impossible "
        f"d'authentifier l'utilisateur {client.settings.login} dans le LDAP. "
    )
    assert "Paramètres > Entreprises" in caught.value.message_fr
