"""What the client sends, checked against the contract (§1.2, §1.3, §3.6, §2 paging)."""

import base64
import json
from urllib.parse import parse_qs

import pytest

from chorus.client import ChorusClient
from chorus.errors import ChorusPermanentError
from chorus.sandbox import seed
from chorus.sandbox.testing import make_facturx_pdf


def api_requests(sandbox, path=None):
    return [
        r
        for r in sandbox.requests()
        if r["path"].startswith("/cpro/") and (path is None or r["path"] == path)
    ]


def test_every_api_call_carries_bearer_cpro_account_and_json_charset(make_client, sandbox):
    client = make_client("ok_non_ascii_password")
    account = sandbox.account("ok_non_ascii_password")
    assert not account["password"].isascii()

    client.find_structure_by_siret(seed.BUYER_NONE)
    client.health_check()

    sent = api_requests(sandbox)
    assert len(sent) == 2
    for request in sent:
        headers = request["headers"]
        assert headers["authorization"].startswith("Bearer ")
        assert headers["content-type"] == "application/json;charset=utf-8"
        expected = base64.b64encode(f"{account['login']}:{account['password']}".encode()).decode()
        assert headers["cpro-account"] == expected
        decoded = base64.b64decode(headers["cpro-account"]).decode("utf-8")
        assert decoded == f"{account['login']}:{account['password']}"


def test_token_request_is_form_encoded_client_credentials(client, sandbox):
    client.check_connection()

    token_call = next(r for r in sandbox.requests() if r["path"] == "/api/oauth/token")
    form = {k: v[0] for k, v in parse_qs(token_call["body"]).items()}

    assert token_call["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert form == {
        "grant_type": "client_credentials",
        "client_id": sandbox.piste_client["client_id"],
        "client_secret": sandbox.piste_client["client_secret"],
        "scope": "openid",
    }
    assert "authorization" not in token_call["headers"]


def test_structure_search_body_follows_the_contract(client, sandbox):
    client.find_structure_by_siret(seed.BUYER_BOTH)

    body = json.loads(api_requests(sandbox, "/cpro/structures/v1/rechercher")[0]["body"])
    assert body["structure"] == {
        "identifiantStructure": seed.BUYER_BOTH,
        "typeIdentifiantStructure": "SIRET",
    }


def test_deposit_sends_the_facturx_syntax_unsigned_and_the_exact_bytes(client, sandbox):
    pdf = make_facturx_pdf(number="F/2024/7")

    client.deposit_facturx(pdf, invoice_number="F/2024/7")

    body = json.loads(api_requests(sandbox, "/cpro/factures/v1/deposer/flux")[0]["body"])
    assert body["syntaxeFlux"] == "IN_DP_E2_CII_FACTURX"
    assert body["avecSignature"] is False
    assert base64.b64decode(body["fichierFlux"], validate=True) == pdf
    assert "\n" not in body["fichierFlux"]
    assert body["nomFichier"] == "factur-x_chorus_facture_F-2024-7.pdf"
    assert set(body) == {"fichierFlux", "nomFichier", "syntaxeFlux", "avecSignature"}


def test_supplier_invoices_are_paged_beyond_ten(client, sandbox):
    for n in range(23):
        client.deposit_facturx(make_facturx_pdf(number=f"P-{n:02d}"), invoice_number="p")

    invoices = client.list_supplier_invoices(per_page=10)

    assert sorted(i.number for i in invoices) == [f"P-{n:02d}" for n in range(23)]
    pages = [
        json.loads(r["body"])["rechercheFactureParFournisseur"]["pageResultatDemandee"]
        for r in api_requests(sandbox, "/cpro/factures/v1/rechercher/fournisseur")
    ]
    assert pages == [1, 2, 3]


def test_services_are_paged_beyond_the_default_ten(client, sandbox):
    structure = client.find_structure_by_siret(seed.BUYER_SERVICE)

    services = client.list_services(structure.id_structure_cpp, per_page=10)

    assert len(services) == 14
    assert len(api_requests(sandbox, "/cpro/structures/v1/rechercher/services")) == 2


def test_one_token_is_reused_across_calls_and_clients(make_client, sandbox):
    first = make_client()
    first.check_connection()
    first.health_check()
    make_client().find_structure_by_siret(seed.BUYER_NONE)

    tokens = {r["headers"]["authorization"] for r in api_requests(sandbox)}
    assert sandbox.stats()["tokens_issued"] == 1
    assert len(tokens) == 1


def test_other_credentials_get_their_own_token(make_client, sandbox):
    make_client().check_connection()
    other = sandbox.seed["piste_clients"][1]
    make_client(client_id=other["client_id"], client_secret=other["client_secret"]).health_check()

    assert sandbox.stats()["tokens_issued"] == 2


def test_token_rejected_with_401_is_renewed_once(client, sandbox):
    client.check_connection()
    sandbox.expire_tokens()

    client.check_connection()

    assert sandbox.stats()["tokens_issued"] == 2
    rattachements = api_requests(sandbox, "/cpro/utilisateurs/v1/monCompte/recuperer/rattachements")
    assert len(rattachements) == 3  # ok, 401, ok with the new token


def test_token_is_renewed_before_it_expires(sandbox):
    now = [1000.0]
    client = ChorusClient(sandbox.client_settings(token_expiry_margin=240), clock=lambda: now[0])
    client.health_check()
    now[0] += 3600 - 241
    client.health_check()
    assert sandbox.stats()["tokens_issued"] == 1

    now[0] += 2
    client.health_check()

    assert sandbox.stats()["tokens_issued"] == 2


def test_business_refusals_are_never_retried(make_client, sandbox):
    with pytest.raises(ChorusPermanentError):
        make_client("gp_not_found").find_structure_by_siret(seed.BUYER_NONE)
    with pytest.raises(ChorusPermanentError):
        make_client().deposit_flow(b"x", "f.pdf", syntax="IN_DP_E3_UBL_INVOICE")

    calls = sandbox.stats()["calls"]
    assert calls["/cpro/structures/v1/rechercher"] == 1
    assert calls["/cpro/factures/v1/deposer/flux"] == 1


def test_transient_faults_back_off_exponentially(sandbox):
    sleeps = []
    client = ChorusClient(
        sandbox.client_settings(max_retries=3, retry_backoff=0.001, retry_backoff_max=1.0),
        sleep=sleeps.append,
    )
    client.health_check()
    sandbox.add_fault("status", status=500, count=3, route="/cpro/transverses")

    assert client.health_check().ok
    assert sleeps == [0.001, 0.002, 0.004]


def test_retry_after_of_a_429_is_honoured_within_the_cap(sandbox):
    sleeps = []
    client = ChorusClient(
        sandbox.client_settings(retry_backoff=0.001, retry_backoff_max=2.0), sleep=sleeps.append
    )
    client.health_check()
    sandbox.add_fault("rate_limit", count=1)

    client.health_check()

    assert sleeps == [1.0]  # the sandbox answers Retry-After: 1


def test_http_200_with_non_zero_code_retour_is_a_failure(client, sandbox):
    sandbox.configure(empty_search_code=20000)
    with pytest.raises(ChorusPermanentError) as caught:
        client.get_invoice_history(12345)
    assert caught.value.code_retour == 20001 and caught.value.http_status is None
