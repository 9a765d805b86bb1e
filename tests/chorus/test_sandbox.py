"""The sandbox itself, spoken to with raw HTTP: gateway order (§8.2), token endpoint (§8.1),
deposit validation (§8.8), processing and statuses (§8.9), seed and control API."""

import base64
import io
import json
import re
import threading

import pytest
import requests
from django.core.management import call_command
from stdnum.fr import siret as siret_rules

from chorus.sandbox import seed, server
from chorus.sandbox.testing import SandboxControlError, make_facturx_pdf

STRUCTURES = "/cpro/structures/v1/rechercher"
SEARCH = {"structure": {"identifiantStructure": seed.BUYER_NONE}}


def token(sandbox, client=None):
    client = client or sandbox.piste_client
    answer = requests.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials", "scope": "openid", **client},
        timeout=5,
    )
    return answer.json()["access_token"]


def account_header(login, password):
    return base64.b64encode(f"{login}:{password}".encode()).decode()


def call(
    sandbox,
    path=STRUCTURES,
    body=SEARCH,
    *,
    scenario="ok",
    bearer=None,
    account=None,
    method="POST",
    raw=None,
):
    headers = {"Content-Type": "application/json;charset=utf-8"}
    if bearer is not False:
        headers["Authorization"] = f"Bearer {bearer or token(sandbox)}"
    if account is None:
        acc = sandbox.account(scenario)
        account = account_header(acc["login"], acc["password"])
    headers["cpro-account"] = account
    data = raw if raw is not None else (json.dumps(body).encode() if method == "POST" else None)
    return requests.request(method, sandbox.base_url + path, data=data, headers=headers, timeout=5)


# --- token endpoint ---


def test_token_endpoint_issues_an_hour_long_bearer(sandbox):
    answer = requests.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials", **sandbox.piste_client},
        timeout=5,
    )
    body = answer.json()
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json;charset=utf-8"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "openid" and len(body["access_token"]) >= 40


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
            "invalid_client",
        ),
        (
            {"grant_type": "password", "client_id": "x", "client_secret": "y"},
            "unsupported_grant_type",
        ),
    ],
)
def test_token_endpoint_refusals(sandbox, data, error):
    answer = requests.post(sandbox.token_url, data=data, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_token_endpoint_wants_a_form_but_accepts_basic_client_auth(sandbox):
    as_json = requests.post(sandbox.token_url, json={"grant_type": "client_credentials"}, timeout=5)
    basic = requests.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials"},
        auth=(sandbox.piste_client["client_id"], sandbox.piste_client["client_secret"]),
        timeout=5,
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    assert basic.status_code == 200


# --- gateway checks, in order ---


def test_unknown_route_is_404_before_any_auth(sandbox):
    answer = call(sandbox, "/cpro/factures/v1/consulter/cr", bearer=False, account="")
    assert answer.status_code == 404 and answer.content == b""
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="DefaultRealm"'


def test_unknown_route_status_is_configurable(sandbox):
    sandbox.configure(unknown_route_status=403)
    assert call(sandbox, "/cpro/transverses/v1/consulter/cr").status_code == 403


def test_wrong_method_is_an_unknown_route(sandbox):
    assert call(sandbox, "/cpro/transverses/v1/health-check", method="POST").status_code == 404


@pytest.mark.parametrize("bearer", [False, "not-a-token"])
def test_missing_or_unknown_token_is_401_invalid_token(sandbox, bearer):
    answer = call(sandbox, bearer=bearer)
    assert answer.status_code == 401 and answer.content == b""
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_expired_token_is_401(sandbox):
    bearer = token(sandbox)
    sandbox.advance_clock(3601)
    assert call(sandbox, bearer=bearer).status_code == 401


def test_unsubscribed_api_is_403_with_empty_body_before_account_checks(sandbox):
    other = sandbox.seed["piste_clients"][1]
    bearer = token(
        sandbox, {"client_id": other["client_id"], "client_secret": other["client_secret"]}
    )
    answer = call(sandbox, bearer=bearer, account="garbage")
    assert answer.status_code == 403 and answer.content == b""


@pytest.mark.parametrize(
    "account",
    [
        "",
        "!!!not base64",
        base64.b64encode(b"no-colon").decode(),
        account_header("TECH_1_CHORALE_OK@cpro.fr", "wrong"),
    ],
)
def test_bad_cpro_account_is_401_login_or_password_incorrects(sandbox, account):
    answer = call(sandbox, account=account)
    assert answer.status_code == 401 and answer.content == b""
    assert 'error_description="login or password incorrects"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scenario", ["ldap_auth_failure", "password_expired", "recently_created"])
def test_unusable_accounts_get_the_ldap_body(sandbox, scenario):
    answer = call(sandbox, scenario=scenario)
    login = sandbox.account(scenario)["login"]
    assert answer.status_code == 401
    assert answer.json() == {
        "codeRetour": 1,
        "libelle": f"Impossible d'authentifier l'utilisateur {login} dans le LDAP",
    }


def test_password_older_than_424_days_expires(sandbox):
    assert call(sandbox).status_code == 200
    sandbox.advance_clock(25 * 86400)  # the ok account's password is 400 days old
    assert call(sandbox).status_code == 401


def test_account_without_gp_gets_200_with_the_gp_refusal(sandbox):
    answer = call(sandbox, scenario="gp_not_found")
    assert answer.status_code == 200
    assert answer.json()["codeRetour"] == 1
    assert answer.json()["libelle"].startswith(
        "Impossible de trouver le GP (Gestionnaire principal) correspondant à l'utilisateur"
    )


def test_removing_the_gp_through_control_breaks_the_ok_account(sandbox):
    sandbox.update_account("TECH_1_CHORALE_OK@cpro.fr", has_gp=False)
    assert "GP" in call(sandbox).json()["libelle"]


def test_invalid_json_is_400(sandbox):
    answer = call(sandbox, raw=b"{not json")
    assert answer.status_code == 400
    assert answer.json() == {"codeRetour": 1, "libelle": "Requête mal formée"}


def test_rate_limiter_answers_429(sandbox):
    sandbox.configure(rate_limit_per_second=2)
    bearer = token(sandbox)
    statuses = [call(sandbox, bearer=bearer).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]


def test_plain_json_content_type_is_accepted(sandbox):
    acc = sandbox.account("ok")
    answer = requests.post(
        sandbox.base_url + STRUCTURES,
        json=SEARCH,
        timeout=5,
        headers={
            "Authorization": f"Bearer {token(sandbox)}",
            "cpro-account": account_header(acc["login"], acc["password"]),
        },
    )
    assert answer.status_code == 200 and answer.json()["codeRetour"] == 0


# --- operations ---


def test_structure_search_answer_shape_and_empty_result(sandbox):
    found = call(sandbox).json()
    empty = call(sandbox, body={"structure": {"identifiantStructure": "21380001400010"}}).json()

    assert found["libelle"] == "TRA_MSG_00.000"
    assert found["listeStructures"][0]["identifiantStructure"] == seed.BUYER_NONE
    assert found["parametresRetour"] == {
        "nbResultatsParPage": 10,
        "pageCourante": 1,
        "pages": 1,
        "total": 1,
    }
    assert empty["codeRetour"] == 20000 and empty["libelle"] == "TRA_MSG_00.015"
    assert empty["listeStructures"] == []


def test_private_structures_appear_only_when_attached_or_unrestricted(sandbox):
    def search(siret, **extra):
        body = {"structure": {"identifiantStructure": siret}, **extra}
        return call(sandbox, body=body).json()["listeStructures"]

    assert search(seed.SUPPLIER_SIRET)  # attached
    assert search(seed.SUPPLIER_NO_GP_SIRET) == []
    assert search(seed.SUPPLIER_NO_GP_SIRET, restreindreStructuresPrivees=False)


def test_bad_identifier_type_is_400(sandbox):
    body = {"structure": {"identifiantStructure": "x", "typeIdentifiantStructure": "NOPE"}}
    assert call(sandbox, body=body).status_code == 400


def test_every_public_structure_has_the_factures_publiques_service(sandbox):
    for structure in sandbox.seed["structures"]:
        if structure["type"] == "PUBLIQUE":
            assert "FACTURES_PUBLIQUES" in structure["services"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"fichierFlux": ""}, 1),
        ({"fichierFlux": "@@not base64@@"}, 2),
        ({"nomFichier": "sans_extension"}, 3),
        ({"nomFichier": "x" * 197 + ".pdf"}, 3),
        ({"syntaxeFlux": "IN_DP_E1_CII_FACTURX"}, 4),
        ({"syntaxeFlux": "IN_DP_E3_UBL_INVOICE"}, 4),
        ({"avecSignature": "false"}, 5),
        ({"idUtilisateurCourant": 1}, 6),
    ],
)
def test_deposit_validation_errors(sandbox, change, code):
    body = {
        "fichierFlux": base64.b64encode(make_facturx_pdf()).decode(),
        "nomFichier": "facture.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
        **change,
    }
    answer = call(sandbox, "/cpro/factures/v1/deposer/flux", body)
    assert answer.status_code == 400 and answer.json()["codeRetour"] == code


def test_deposit_size_limit_is_configurable(sandbox):
    sandbox.configure(max_flux_bytes=100)
    body = {
        "fichierFlux": base64.b64encode(make_facturx_pdf()).decode(),
        "nomFichier": "f.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
    }
    assert call(sandbox, "/cpro/factures/v1/deposer/flux", body).json()["codeRetour"] == 7


def test_same_bytes_deposited_twice_make_two_flows_and_the_report_hides_the_number(sandbox):
    body = {
        "fichierFlux": base64.b64encode(make_facturx_pdf()).decode(),
        "nomFichier": "f.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
    }
    first = call(sandbox, "/cpro/factures/v1/deposer/flux", body).json()
    second = call(sandbox, "/cpro/factures/v1/deposer/flux", body).json()

    assert first["libelle"] == "GCU_MSG_01_000"
    assert re.fullmatch(r"CPP0011117\d{15}", first["numeroFluxDepot"])
    assert first["numeroFluxDepot"] != second["numeroFluxDepot"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first["dateDepot"])
    assert sandbox.deposit_count("F2024-0001") == 2
    report = call(
        sandbox,
        "/cpro/transverses/v1/consulterCRDetaille",
        {"numeroFluxDepot": first["numeroFluxDepot"]},
    ).json()
    assert "numeroFluxDepot" not in report and report["listeErreurDP"] == []
    assert report["codeInterfaceDepotFlux"] == "FSO1117A"
    assert report["nomFichier"] == f"FSO1117A_CPP001_{first['numeroFluxDepot']}"
    mismatch = call(
        sandbox,
        "/cpro/transverses/v1/consulterCRDetaille",
        {"numeroFluxDepot": first["numeroFluxDepot"], "syntaxeFlux": "IN_DP_E1_CII"},
    )
    assert mismatch.json()["codeRetour"] == 20001


def test_concurrent_deposits_get_unique_flow_numbers(sandbox):
    body = {
        "fichierFlux": base64.b64encode(b"%PDF-1.4 x").decode(),
        "nomFichier": "f.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
    }
    bearer = token(sandbox)
    numbers = []

    def deposit():
        answer = call(sandbox, "/cpro/factures/v1/deposer/flux", body, bearer=bearer)
        numbers.append(answer.json()["numeroFluxDepot"])

    threads = [threading.Thread(target=deposit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(numbers)) == 12 == sandbox.stats()["flows"]


# --- statuses and control ---


def deposit_one(sandbox, number="F-1"):
    body = {
        "fichierFlux": base64.b64encode(make_facturx_pdf(number=number)).decode(),
        "nomFichier": "f.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
    }
    flow = call(sandbox, "/cpro/factures/v1/deposer/flux", body).json()["numeroFluxDepot"]
    sandbox.process_flows()
    return flow


def test_invoice_jumps_to_a_later_status_with_its_path_in_the_history(sandbox):
    deposit_one(sandbox)

    moved = sandbox.set_invoice_status("MISE_EN_PAIEMENT", invoice_number="F-1")

    history = [h["code"] for h in sandbox.invoices()[0]["history"]]
    assert moved["statut"] == "MISE_EN_PAIEMENT"
    assert history == ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION", "MISE_EN_PAIEMENT"]


def test_invoice_cannot_go_back(sandbox):
    deposit_one(sandbox)
    sandbox.set_invoice_status("REJETEE", invoice_number="F-1")
    with pytest.raises(SandboxControlError):
        sandbox.set_invoice_status("MANDATEE", invoice_number="F-1")


def test_auto_statuses_follow_the_clock(sandbox):
    sandbox.configure(
        auto_statuses=["SERVICE_FAIT", "MANDATEE"], auto_status_delay=10, availability_delay=5
    )
    deposit_one(sandbox)

    sandbox.advance_clock(6)
    assert sandbox.invoices()[0]["statut"] == "MISE_A_DISPOSITION"
    sandbox.advance_clock(11)
    assert sandbox.invoices()[0]["statut"] == "SERVICE_FAIT"
    sandbox.advance_clock(11)
    assert sandbox.invoices()[0]["statut"] == "MANDATEE"


def test_flow_can_be_forced_into_an_incident(sandbox):
    flow = deposit_one(sandbox)
    sandbox.set_flow_state(flow, "IN_INCIDENTE")
    report = call(
        sandbox, "/cpro/transverses/v1/consulterCRDetaille", {"numeroFluxDepot": flow}
    ).json()
    assert report["etatCourantDepotFlux"] == "IN_INCIDENTE"


def test_platform_down_drops_the_connection_and_comes_back(sandbox):
    sandbox.platform_state("down")
    with pytest.raises(requests.ConnectionError):
        requests.post(sandbox.token_url, data={"grant_type": "client_credentials"}, timeout=5)
    sandbox.platform_state("up")
    assert token(sandbox)


def test_fault_on_one_route_for_n_calls(sandbox):
    bearer = token(sandbox)
    sandbox.add_fault("status", status=500, route=STRUCTURES, count=2)
    statuses = [call(sandbox, bearer=bearer).status_code for _ in range(3)]
    health = call(sandbox, "/cpro/transverses/v1/health-check", method="GET", bearer=bearer)
    assert statuses == [500, 500, 200] and health.status_code == 200


def test_reset_restores_the_seed(sandbox):
    deposit_one(sandbox)
    sandbox.configure(page_size_default=3)
    sandbox.reset()
    assert sandbox.stats()["flows"] == 0
    assert sandbox.control("GET", "config")["page_size_default"] == 10


def test_unknown_control_endpoint_and_config_key_are_refused(sandbox):
    with pytest.raises(SandboxControlError):
        sandbox.control("POST", "nope")
    with pytest.raises(SandboxControlError):
        sandbox.configure(not_a_setting=1)


# --- seed ---


def test_seeded_sirets_are_valid_and_cover_every_requirement():
    listing = seed.seed_listing()
    assert all(siret_rules.is_valid(s["siret"]) for s in listing["structures"])
    public = {s["requires"] for s in listing["structures"] if s["type"] == "PUBLIQUE"}
    assert public == {
        "none",
        "service",
        "engagement",
        "service_and_engagement",
        "service_or_engagement",
        "inactive",
    }
    scenarios = {a["scenario"] for a in listing["technical_accounts"]}
    assert {
        "ok",
        "ldap_auth_failure",
        "gp_not_found",
        "recently_created",
        "password_expired",
    } <= scenarios


def test_list_command_prints_the_seed_as_json():
    out = io.StringIO()
    call_command("chorus_sandbox", "--list", stdout=out)
    printed = json.loads(out.getvalue())

    assert printed == seed.seed_listing()
    assert set(printed) == {"piste_client", "technical_accounts", "structures"}
    assert set(printed["piste_client"]) == {"client_id", "client_secret"}
    assert all(set(a) == {"login", "password", "scenario"} for a in printed["technical_accounts"])
    assert all(
        set(s) == {"siret", "name", "type", "requires", "services"} for s in printed["structures"]
    )


def test_server_module_runs_without_django_for_the_listing():
    out = io.StringIO()
    server.run({"list": True}, out=out)
    assert json.loads(out.getvalue())["piste_client"]["client_id"] == "sandbox-chorale-client"


@pytest.mark.parametrize("user_id", [0, None])
def test_a_deposit_with_idutilisateurcourant_0_or_absent_is_accepted(sandbox, user_id):
    # GO sends 0, OCA sends nothing: the real platform takes both (reference §1.4).
    body = {
        "fichierFlux": base64.b64encode(make_facturx_pdf()).decode(),
        "nomFichier": "facture.pdf",
        "syntaxeFlux": "IN_DP_E2_CII_FACTURX",
        "avecSignature": False,
    }
    if user_id is not None:
        body["idUtilisateurCourant"] = user_id
    answer = call(sandbox, "/cpro/factures/v1/deposer/flux", body)
    assert answer.status_code == 200 and answer.json()["codeRetour"] == 0
