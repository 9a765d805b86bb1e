"""The Django admin: every page opens for a superuser; final invoices are read-only."""

import html

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from invoicing.models import Invoice
from tests.factories import ArticleFactory, MembershipFactory

MODELS = ["dossier", "membership", "company", "customer", "article", "invoice"]


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.fr", "motdepasse-42")
    client.force_login(user)
    return client


@pytest.fixture
def populated(dossier, company, customer, final_invoice, make_invoice):
    """One of everything, so that changelists render real rows."""
    MembershipFactory(dossier=dossier)
    ArticleFactory(dossier=dossier)
    return {"provisional": make_invoice(), "final": final_invoice}


@pytest.mark.parametrize("model", [*MODELS, "numberingcounter"])
def test_every_changelist_opens_for_a_superuser(admin_client, populated, model):
    response = admin_client.get(reverse(f"admin:invoicing_{model}_changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_every_changelist_search_works(admin_client, populated, model):
    response = admin_client.get(reverse(f"admin:invoicing_{model}_changelist"), {"q": "Démo"})

    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_every_add_page_opens_for_a_superuser(admin_client, populated, model):
    response = admin_client.get(reverse(f"admin:invoicing_{model}_add"))

    assert response.status_code == 200
    assert 'name="_save"' in response.content.decode()


def test_every_change_page_opens_for_a_superuser(admin_client, populated, dossier, company):
    objects = {
        "dossier": dossier,
        "membership": dossier.memberships.get(),
        "company": company,
        "customer": dossier.customers.get(),
        "article": dossier.articles.get(),
        "invoice": populated["provisional"],
    }
    for model, obj in objects.items():
        response = admin_client.get(reverse(f"admin:invoicing_{model}_change", args=[obj.pk]))
        assert response.status_code == 200, model
        assert 'name="_save"' in response.content.decode(), model


def test_the_invoice_changelist_shows_numbers_and_states(admin_client, populated):
    response = admin_client.get(reverse("admin:invoicing_invoice_changelist"))

    page = html.unescape(response.content.decode())
    assert "Facture FA2026-00001" in page
    assert "Facture provisoire #" in page


def test_a_final_invoice_change_page_is_read_only(admin_client, populated):
    final = populated["final"]

    response = admin_client.get(reverse("admin:invoicing_invoice_change", args=[final.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page
    assert 'name="note"' not in page  # fields are displayed, not editable
    assert 'name="lines-0-label"' not in page
    assert "FA2026-00001" in page
    delete_url = reverse("admin:invoicing_invoice_delete", args=[final.pk])
    assert delete_url not in page


def test_posting_to_a_final_invoice_change_page_changes_nothing(admin_client, populated):
    final = populated["final"]
    url = reverse("admin:invoicing_invoice_change", args=[final.pk])

    response = admin_client.post(
        url,
        {
            "dossier": final.dossier_id,
            "company": final.company_id,
            "customer": final.customer_id,
            "kind": final.kind,
            "note": "Modifiée par l'admin",
            "due_date": "2030-01-01",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
            "_save": "Enregistrer",
        },
    )

    assert response.status_code == 403
    stored = Invoice.objects.get(pk=final.pk)
    assert (stored.note, stored.due_date) == ("", final.due_date)
    assert stored.lines.count() == 1


def invoice_form_data(invoice: Invoice, **overrides) -> dict:
    line = invoice.lines.get()
    data = {
        "dossier": invoice.dossier_id,
        "company": invoice.company_id,
        "customer": invoice.customer_id,
        "kind": invoice.kind,
        "credited_invoice": "",
        "due_date": "",
        "delivery_date": "",
        "buyer_reference": invoice.buyer_reference,
        "order_reference": invoice.order_reference,
        "payment_terms": "",
        "note": invoice.note,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-id": line.pk,
        "lines-0-invoice": invoice.pk,
        "lines-0-position": line.position,
        "lines-0-article": "",
        "lines-0-label": line.label,
        "lines-0-unit": line.unit,
        "lines-0-quantity": str(line.quantity),
        "lines-0-unit_price": str(line.unit_price),
        "lines-0-vat_category": line.vat_category,
        "lines-0-vat_rate": str(line.vat_rate),
        "lines-0-exemption_reason": "",
        "lines-0-nature": line.nature,
        "_save": "Enregistrer",
    }
    return data | overrides


def test_a_provisional_invoice_is_editable_in_the_admin(admin_client, populated):
    provisional = populated["provisional"]
    url = reverse("admin:invoicing_invoice_change", args=[provisional.pk])

    response = admin_client.post(
        url, invoice_form_data(provisional, note="Corrigée", **{"lines-0-label": "Audit"})
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    provisional.refresh_from_db()
    assert provisional.note == "Corrigée"
    assert provisional.lines.get().label == "Audit"
    assert provisional.state == Invoice.State.PROVISIONAL


def test_the_admin_cannot_make_an_invoice_final_by_posting_its_state(admin_client, populated):
    provisional = populated["provisional"]
    url = reverse("admin:invoicing_invoice_change", args=[provisional.pk])

    admin_client.post(
        url,
        invoice_form_data(
            provisional, state="final", number="FA2026-99999", issue_date="2026-03-02"
        ),
    )

    provisional.refresh_from_db()
    assert provisional.state == Invoice.State.PROVISIONAL
    assert provisional.number is None


def test_numbering_counters_are_read_only_in_the_admin(admin_client, populated):
    counter = populated["final"].company.counters.get()

    add = admin_client.get(reverse("admin:invoicing_numberingcounter_add"))
    change = admin_client.post(
        reverse("admin:invoicing_numberingcounter_change", args=[counter.pk]),
        {"last_number": "0"},
    )

    assert add.status_code == 403
    assert change.status_code == 403
    counter.refresh_from_db()
    assert counter.last_number == 1
