"""The browser side of the Chorus Pro sending, through Django's test client."""

import csv
import io

import pytest
from django.urls import reverse

from chorus.models import PlanYear, ReportEntry, StatusChange, Submission
from chorus.sandbox import seed
from chorus.sandbox.testing import run_sandbox
from chorus.services import plan
from invoicing import services
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    DossierFactory,
)

pytestmark = pytest.mark.django_db

SEVERAL = "Vous ne pouvez pas envoyer plusieurs factures vers Chorus Pro"
FINAL = "Cette facture est définitive vous ne pouvez plus l'envoyer sur Chorus Pro"


@pytest.fixture
def web(client, admin_member):
    client.force_login(admin_member.user)
    return client


@pytest.fixture
def invoice(make_invoice, customer):
    customer.default_service_code = "SERV-01"
    customer.default_engagement_number = "EJ-42"
    customer.save()
    return make_invoice()


def make_submission(invoice, status=Submission.Status.QUEUED, **fields):
    submission = Submission.objects.create(
        dossier=invoice.dossier,
        company=invoice.company,
        invoice=invoice,
        siret=invoice.customer.siret,
        status=status,
        **fields,
    )
    ReportEntry.objects.create(
        submission=submission, step="request", outcome="ok", message="Demande d'envoi enregistrée."
    )
    return submission


def send_data(invoice, **overrides):
    data = {"siret": invoice.customer.siret, "service_code": "", "engagement_number": ""}
    data.update(overrides)
    return data


# --- the dialog -------------------------------------------------------------------------


def test_dialog_prefilled_from_customer(web, invoice):
    response = web.get(reverse("chorus:send", args=(invoice.pk,)))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saisie des informations nécessaires pour l'envoi à Chorus Pro" in html
    assert invoice.company.name in html
    assert f'value="{invoice.customer.siret}"' in html
    assert 'value="SERV-01"' in html and 'value="EJ-42"' in html
    assert "Le document sera définitif et donc ne sera plus modifiable." in html
    assert "Envoyer vers Chorus Pro" in html and "Annuler" in html
    assert "Siret du client" in html
    assert 'id="plan-warning"' not in html


def test_dialog_prefers_invoice_references(web, invoice):
    invoice.buyer_reference = "SERV-99"
    invoice.save(update_fields=["buyer_reference"])
    html = web.get(reverse("chorus:send", args=(invoice.pk,))).content.decode()
    assert 'value="SERV-99"' in html


def test_dialog_shows_plan_warning_when_ten_left(web, invoice, dossier):
    PlanYear.objects.create(dossier=dossier, year=plan.current_year(), used=90)
    html = web.get(reverse("chorus:send", args=(invoice.pk,))).content.decode()
    assert 'id="plan-warning"' in html
    assert "vous autorise à 100 Factures envoyées, une fois ce volume atteint" in html


def assert_refused_in_place(response, text, typed="SERV-TYPED"):
    assert response.status_code == 200
    html = response.content.decode().replace("&#x27;", "'")
    assert 'id="send-refusal"' in html
    assert text in html
    assert f'value="{typed}"' in html  # what was typed is kept
    assert not Submission.objects.exists()


def test_refusal_module_off(web, invoice, dossier):
    dossier.facturx_module_enabled = False
    dossier.save()
    response = web.post(
        reverse("chorus:send", args=(invoice.pk,)), send_data(invoice, service_code="SERV-TYPED")
    )
    assert_refused_in_place(response, "n'est pas activé pour ce dossier")


def test_refusal_credentials_missing(web, invoice, company):
    company.chorus_login = ""
    company.save()
    response = web.post(
        reverse("chorus:send", args=(invoice.pk,)), send_data(invoice, service_code="SERV-TYPED")
    )
    assert_refused_in_place(response, "compte technique Chorus Pro de l'entreprise")


def test_refusal_final_invoice(web, final_invoice):
    response = web.post(
        reverse("chorus:send", args=(final_invoice.pk,)),
        send_data(final_invoice, service_code="SERV-TYPED"),
    )
    assert_refused_in_place(response, FINAL)


def test_refusal_plan_exhausted(web, invoice, dossier):
    PlanYear.objects.create(dossier=dossier, year=plan.current_year(), used=100)
    response = web.post(
        reverse("chorus:send", args=(invoice.pk,)), send_data(invoice, service_code="SERV-TYPED")
    )
    assert_refused_in_place(response, "vous autorise à 100 Factures envoyées, vous avez atteint")


def test_refusal_bad_siret(web, invoice):
    response = web.post(
        reverse("chorus:send", args=(invoice.pk,)),
        send_data(invoice, siret="12345678901234", service_code="SERV-TYPED"),
    )
    assert_refused_in_place(response, "n'est pas un SIRET valide")


def test_siret_required(web, invoice):
    response = web.post(reverse("chorus:send", args=(invoice.pk,)), send_data(invoice, siret=""))
    assert response.status_code == 200
    assert "Le Siret du client est obligatoire" in response.content.decode()


def test_send_selection_several_refused(web, make_invoice):
    first, second = make_invoice(), make_invoice()
    response = web.post(reverse("chorus:send_selection"), {"invoice": [first.pk, second.pk]})
    assert response.status_code == 200
    assert SEVERAL in response.content.decode().replace("&#x27;", "'")
    assert not Submission.objects.exists()


def test_send_selection_one_opens_dialog(web, invoice):
    response = web.post(reverse("chorus:send_selection"), {"invoice": [invoice.pk]})
    assert response.status_code == 302
    assert response.url == reverse("chorus:send", args=(invoice.pk,))


def test_send_success_creates_submission_and_redirects(
    web, invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = web.post(
            reverse("chorus:send", args=(invoice.pk,)),
            send_data(invoice, service_code="SERV-01", engagement_number="EJ-42"),
        )
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("chorus:submission", args=(submission.pk,))
    assert submission.status == Submission.Status.QUEUED
    assert (submission.service_code, submission.engagement_number) == ("SERV-01", "EJ-42")
    assert len(callbacks) == 1  # the task is enqueued on commit, not run here
    invoice.refresh_from_db()
    assert not invoice.is_final


# --- the report -------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "running"])
def test_report_in_progress_polls(web, invoice, status):
    submission = make_submission(invoice, status=status)
    html = web.get(reverse("chorus:submission", args=(submission.pk,))).content.decode()
    assert "data-poll=" in html and '<meta http-equiv="refresh"' in html
    assert "Demande d&#x27;envoi" in html
    data = web.get(reverse("chorus:submission_status", args=(submission.pk,))).json()
    assert data["status"] == status and data["finished"] is False
    assert data["steps"][0]["step"] == "request"
    assert "Actualiser" in data["html"]


def test_report_deposited(web, invoice):
    submission = make_submission(
        invoice,
        status=Submission.Status.DEPOSITED,
        flow_number="FLUX-000123",
        chorus_status="MISE_A_DISPOSITION",
    )
    StatusChange.objects.create(
        submission=submission,
        code="SUSPENDUE",
        changed_at="2026-03-03T10:00:00+01:00",
        comment="Pièce manquante",
    )
    html = web.get(reverse("chorus:submission", args=(submission.pk,))).content.decode()
    assert "Votre Facture-X a été déposée avec succès sur Chorus Pro" in html
    assert "Terminer" in html and reverse("invoice_detail", args=(invoice.pk,)) in html
    assert "FLUX-000123" in html and "MISE_A_DISPOSITION" in html
    assert "SUSPENDUE" in html and "Pièce manquante" in html
    assert "data-poll=" not in html and "refresh" not in html
    assert "Réessayer" not in html
    data = web.get(reverse("chorus:submission_status", args=(submission.pk,))).json()
    assert data["finished"] is True and data["flow_number"] == "FLUX-000123"
    assert "Terminer" in data["html"]


@pytest.mark.parametrize("retryable", [True, False])
def test_report_failed_retry_only_when_retryable(web, invoice, retryable):
    submission = make_submission(
        invoice,
        status=Submission.Status.FAILED,
        retryable=retryable,
        error_code="platform_unavailable",
        error_message="Chorus Pro n'est pas accessible pour le moment.",
    )
    html = web.get(reverse("chorus:submission", args=(submission.pk,))).content.decode()
    assert "Chorus Pro n&#x27;est pas accessible pour le moment." in html
    assert ("Réessayer" in html) is retryable
    data = web.get(reverse("chorus:submission_status", args=(submission.pk,))).json()
    assert data["retryable"] is retryable and data["finished"] is True


def test_retry_requeues(web, invoice, django_capture_on_commit_callbacks):
    submission = make_submission(invoice, status=Submission.Status.FAILED, retryable=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = web.post(reverse("chorus:submission_retry", args=(submission.pk,)))
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == Submission.Status.QUEUED
    assert len(callbacks) == 1


def test_retry_refused_when_not_retryable(web, invoice):
    submission = make_submission(invoice, status=Submission.Status.FAILED, retryable=False)
    response = web.post(reverse("chorus:submission_retry", args=(submission.pk,)), follow=True)
    assert "Cet envoi ne peut pas être relancé." in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED


def test_invoice_page_lists_submissions(web, invoice):
    submission = make_submission(invoice, status=Submission.Status.FAILED, retryable=False)
    html = web.get(reverse("invoice_detail", args=(invoice.pk,))).content.decode()
    assert reverse("chorus:submission", args=(submission.pk,)) in html


# --- isolation --------------------------------------------------------------------------


def test_other_dossier_gets_404_everywhere(web, dossier):
    other = DossierFactory()
    company = CompanyFactory(dossier=other)
    customer = CustomerFactory(dossier=other)
    foreign = services.invoice_create(
        company=company,
        customer=customer,
        lines=[services.LineInput(label="X", quantity=1, unit_price=10)],
    )
    submission = make_submission(foreign, status=Submission.Status.FAILED, retryable=True)
    get_urls = [
        reverse("chorus:send", args=(foreign.pk,)),
        reverse("chorus:siret_check", args=(foreign.pk,)) + "?siret=" + customer.siret,
        reverse("chorus:submission", args=(submission.pk,)),
        reverse("chorus:submission_status", args=(submission.pk,)),
    ]
    for url in get_urls:
        assert web.get(url).status_code == 404, url
    post_urls = [
        reverse("chorus:send", args=(foreign.pk,)),
        reverse("chorus:submission_retry", args=(submission.pk,)),
    ]
    for url in post_urls:
        assert web.post(url, send_data(foreign)).status_code == 404, url
    response = web.post(reverse("chorus:send_selection"), {"invoice": [foreign.pk]})
    assert response.status_code == 404
    submission.refresh_from_db()
    assert submission.status == Submission.Status.FAILED
    assert (
        not web.get(reverse("chorus:submission_list"))
        .content.decode()
        .count(reverse("chorus:submission", args=(submission.pk,)))
    )


# --- the list and CSV -------------------------------------------------------------------


def test_list_filters_and_csv(web, make_invoice, dossier, company):
    deposited = make_submission(
        make_invoice(),
        status=Submission.Status.DEPOSITED,
        flow_number="FLUX-1",
        chorus_status="MISE_A_DISPOSITION",
    )
    failed = make_submission(
        make_invoice(),
        status=Submission.Status.FAILED,
        error_message="SIRET inconnu; vérifiez-le",
    )
    url = reverse("chorus:submission_list")
    html = web.get(url).content.decode()
    assert "Envois Chorus Pro" in html
    assert reverse("chorus:submission", args=(deposited.pk,)) in html
    html = web.get(url, {"status": "failed"}).content.decode()
    assert reverse("chorus:submission", args=(failed.pk,)) in html
    assert reverse("chorus:submission", args=(deposited.pk,)) not in html
    other_company = CompanyFactory(dossier=dossier)
    html = web.get(url, {"company": other_company.pk}).content.decode()
    assert "Aucun envoi." in html
    html = web.get(url, {"date_from": "2000-01-01", "date_to": "2000-12-31"}).content.decode()
    assert "Aucun envoi." in html

    response = web.get(url, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Facture", "Client"] and "Numéro de flux" in rows[0]
    assert len(rows) == 3
    by_flow = {r[7]: r for r in rows[1:]}
    assert by_flow["FLUX-1"][5] == "Déposée sur Chorus Pro"
    assert by_flow["FLUX-1"][6] == "MISE_A_DISPOSITION"
    assert by_flow[""][8] == "SIRET inconnu; vérifiez-le"
    assert by_flow[""][1] == failed.invoice.customer.name
    csv_failed = web.get(url, {"format": "csv", "status": "failed"}).content.decode("utf-8-sig")
    assert "FLUX-1" not in csv_failed


def test_nav_links_submission_list(web):
    html = web.get(reverse("chorus:submission_list")).content.decode()
    assert 'href="/chorus/envois/"' in html


# --- the SIRET check against the sandbox ------------------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    with run_sandbox() as handle:
        yield handle


@pytest.fixture
def on_sandbox(sandbox, settings, company):
    from chorus.client import clear_token_cache

    sandbox.reset()
    clear_token_cache()
    settings.CHORUS_API_URL = sandbox.base_url
    settings.CHORUS_TOKEN_URL = sandbox.token_url
    settings.CHORUS_CLIENT_ID = sandbox.piste_client["client_id"]
    settings.CHORUS_CLIENT_SECRET = sandbox.piste_client["client_secret"]
    account = sandbox.account("ok")
    company.chorus_login = account["login"]
    company.chorus_password = account["password"]
    company.save()
    yield sandbox
    clear_token_cache()


@pytest.mark.parametrize(
    ("siret", "requirement", "text"),
    [
        (seed.BUYER_NONE, "none", "ni référence acheteur ni numéro de commande"),
        (seed.BUYER_SERVICE, "service", "exige la référence acheteur (service exécutant)."),
        (seed.BUYER_ENGAGEMENT, "engagement", "exige le numéro de commande"),
        (seed.BUYER_BOTH, "service_and_engagement", "(service exécutant) et le numéro"),
        (seed.BUYER_EITHER, "service_or_engagement", "(service exécutant) ou le numéro"),
    ],
)
def test_siret_check_requirements(web, invoice, on_sandbox, siret, requirement, text):
    url = reverse("chorus:siret_check", args=(invoice.pk,))
    data = web.get(url, {"siret": siret}).json()
    assert data["ok"] is True, data
    assert data["requirement"] == requirement
    assert text in data["message"]
    # A reference to give is a warning (amber), not a success in green.
    assert data["severity"] == ("ok" if requirement == "none" else "warn")


def test_siret_check_inactive_and_unknown(web, invoice, on_sandbox):
    url = reverse("chorus:siret_check", args=(invoice.pk,))
    data = web.get(url, {"siret": seed.BUYER_INACTIVE}).json()
    assert data["ok"] is False and "inactive" in data["message"]
    assert data["severity"] == "error"
    data = web.get(url, {"siret": "73282932000074"}).json()
    assert data["ok"] is False and "Aucune structure publique" in data["message"]
    data = web.get(url, {"siret": "123"}).json()
    assert data["ok"] is False and "n'est pas un SIRET valide" in data["message"]


def test_siret_check_without_js(web, invoice, on_sandbox):
    response = web.post(
        reverse("chorus:send", args=(invoice.pk,)),
        {
            "siret": seed.BUYER_SERVICE,
            "service_code": "",
            "engagement_number": "EJ-1",
            "check": "1",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "exige la référence acheteur (service exécutant)." in html
    assert 'class="siret-check is-warn"' in html
    assert 'value="EJ-1"' in html
    assert not Submission.objects.exists()


def test_siret_check_chorus_error_shown(web, invoice, on_sandbox):
    on_sandbox.platform_state("unavailable")
    data = web.get(
        reverse("chorus:siret_check", args=(invoice.pk,)), {"siret": seed.BUYER_NONE}
    ).json()
    assert data["ok"] is False and data["message"]


def test_at_zero_sends_left_the_dialog_says_only_the_volume_is_reached(web, invoice, dossier):
    PlanYear.objects.create(dossier=dossier, year=plan.current_year(), used=100)
    url = reverse("chorus:send", args=(invoice.pk,))

    for response in (web.get(url), web.post(url, {"siret": invoice.customer.siret, "send": "1"})):
        html = response.content.decode().replace("&#x27;", "'")
        assert "vous autorise à 100 Factures envoyées, vous avez atteint ce volume" in html
        assert "une fois ce volume atteint" not in html and 'id="plan-warning"' not in html
        assert 'name="send" value="1" class="btn btn-primary" disabled' in html
    assert not Submission.objects.exists()
