"""Invoices: the entry screen, read-only final invoices, credit notes, the list."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoicing import services, views
from invoicing.models import Invoice
from invoicing.selectors import COUNT_LIMIT, PAGE_SIZE
from invoicing.services import LineInput
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def entry_data(tenant, lines, **header):
    data = {
        "company": tenant.company.pk,
        "customer": tenant.customer.pk,
        "buyer_reference": "",
        "order_reference": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
    }
    data.update(header)
    for i, line in enumerate(lines):
        row = {"unit": "C62", "vat_rate": "20,00", "vat_category": "S", **line}
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    return data


BLANK = {}


def test_an_invoice_is_created_from_the_grid_blank_rows_ignored(logged, tenant):
    response = logged.post(
        reverse("invoice_create"),
        entry_data(
            tenant,
            [
                {"article": "vin75", "label": "Vin 75 cl", "quantity": "12", "unit_price": "10"},
                BLANK,
                {"label": "Dégustation", "quantity": "1,5", "unit_price": "33,33"},
                {"label": "Jus", "quantity": "3", "unit_price": "3,35", "vat_rate": "5,5"},
            ],
            order_reference="EJ-1",
        ),
    )
    assert response.status_code == 302
    invoice = Invoice.objects.exclude(pk__in=[tenant.provisional.pk, tenant.final.pk]).get()
    assert response["Location"] == reverse("invoice_detail", args=[invoice.pk])
    assert invoice.state == Invoice.State.PROVISIONAL and invoice.number is None
    assert invoice.order_reference == "EJ-1"
    lines = list(invoice.lines.all())
    assert [line.label for line in lines] == ["Vin 75 cl", "Dégustation", "Jus"]
    assert lines[0].article == tenant.article
    assert lines[1].quantity == Decimal("1.5")
    page = logged.get(response["Location"])
    totals = page.context["totals"]
    assert (totals.tax_exclusive, totals.tax_total, totals.tax_inclusive) == (
        Decimal("180.05"),
        Decimal("34.55"),
        Decimal("214.60"),
    )
    body = page.content.decode()
    assert "214,60\xa0€" in body and "Provisoire" in body


def test_a_refused_save_shows_every_typed_value_with_its_error(logged, tenant):
    data = entry_data(
        tenant,
        [
            {"article": "NOPE", "label": "Article inconnu", "quantity": "1", "unit_price": "5"},
            {"label": "", "quantity": "0", "unit_price": "-3"},
            {"label": "Exonéré ?", "quantity": "1", "unit_price": "5", "vat_rate": "0"},
        ],
        customer="",
        buyer_reference="SERVICE-42",
    )
    response = logged.post(reverse("invoice_create"), data)
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert forms[0].errors["article"] == ["Article « NOPE » inconnu."]
    assert forms[1].errors["label"] == ["Saisissez un libellé."]
    assert forms[1].errors["quantity"] == ["La quantité ne peut pas être nulle."]
    assert forms[1].errors["unit_price"] == ["Le prix ne peut pas être négatif."]
    assert forms[2].errors["vat_rate"] == ["Un taux normal ou réduit doit être supérieur à 0 %."]
    assert response.context["header_form"].errors["customer"] == [
        "Choisissez le client de la facture."
    ]
    body = response.content.decode()
    for typed in ('value="NOPE"', 'value="Article inconnu"', 'value="SERVICE-42"', 'value="-3"'):
        assert typed in body
    assert "Votre saisie est conservée" in body
    assert Invoice.objects.count() == 2


def test_an_invoice_needs_a_line(logged, tenant):
    response = logged.post(reverse("invoice_create"), entry_data(tenant, [BLANK, BLANK]))
    assert "Une facture doit avoir au moins une ligne." in response.content.decode()


def test_saving_a_provisional_invoice_keeps_it_editable(logged, tenant):
    url = reverse("invoice_detail", args=[tenant.provisional.pk])
    page = logged.get(url)
    assert page.context["formset"].forms[0]["label"].value() == "Conseil"
    response = logged.post(
        url,
        entry_data(
            tenant,
            [{"label": "Conseil", "quantity": "3", "unit_price": "450"}, BLANK],
            note="Merci",
        ),
    )
    assert response.status_code == 302
    tenant.provisional.refresh_from_db()
    assert tenant.provisional.state == Invoice.State.PROVISIONAL
    assert tenant.provisional.note == "Merci"
    assert [line.quantity for line in tenant.provisional.lines.all()] == [Decimal("3")]
    assert 'name="lines-0-label"' in logged.get(url).content.decode()


def test_a_final_invoice_is_read_only(logged, tenant):
    url = reverse("invoice_detail", args=[tenant.final.pk])
    response = logged.get(url)
    body = response.content.decode()
    assert response.templates[0].name == "invoicing/invoice_final.html"
    assert "Définitive" in body and tenant.final.number in body
    assert 'name="lines-0-label"' not in body
    assert "Télécharger le Factur-X" in body
    assert f'href="/factur-x/{tenant.final.pk}/"' in body
    assert "Envoyer la facture vers Chorus Pro" not in body
    before = list(tenant.final.lines.values_list("label", "quantity"))
    response = logged.post(
        url, entry_data(tenant, [{"label": "Changé", "quantity": "1", "unit_price": "1"}])
    )
    assert "ne peut plus être modifiée" in response.content.decode()
    assert list(tenant.final.lines.values_list("label", "quantity")) == before


def test_a_credit_note_is_created_from_a_final_invoice(logged, tenant):
    response = logged.post(reverse("credit_note_create", args=[tenant.final.pk]))
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert response["Location"] == reverse("invoice_detail", args=[note.pk])
    assert note.state == Invoice.State.PROVISIONAL
    assert note.credited_invoice == tenant.final
    assert list(note.lines.values_list("label", "quantity", "unit_price")) == list(
        tenant.final.lines.values_list("label", "quantity", "unit_price")
    )
    body = logged.get(response["Location"]).content.decode()
    assert "Avoir provisoire" in body and tenant.final.number in body


def test_no_credit_note_from_a_provisional_invoice(logged, tenant):
    response = logged.post(reverse("credit_note_create", args=[tenant.provisional.pk]))
    assert response.status_code == 302
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_the_send_action_needs_the_module(logged, tenant):
    url = reverse("invoice_detail", args=[tenant.provisional.pk])
    body = logged.get(url).content.decode()
    send_url = reverse("chorus:send", args=[tenant.provisional.pk])
    assert body.count(f'href="{send_url}"') == 2  # the button and the context menu
    assert "Envoyer vers Chorus Pro" in logged.get(reverse("invoice_list")).content.decode()
    tenant.dossier.facturx_module_enabled = False
    tenant.dossier.save()
    body = logged.get(url).content.decode()
    assert send_url not in body
    assert "Module « Émission Factur-X » non activé" in body
    assert "Envoyer vers Chorus Pro" not in logged.get(reverse("invoice_list")).content.decode()


def _make(tenant, n, **fields):
    return [
        services.invoice_create(
            company=tenant.company,
            customer=fields.get("customer", tenant.customer),
            lines=[LineInput(label=f"L{i}", quantity=Decimal(1), unit_price=Decimal(i + 1))],
        )
        for i in range(n)
    ]


def test_list_filters(logged, tenant):
    mairie = CustomerFactory(dossier=tenant.dossier, name="Mairie de Reims", code="MR")
    (for_mairie,) = _make(tenant, 1, customer=mairie)
    url = reverse("invoice_list")

    def ids(**params):
        return {i.pk for i in logged.get(url, params).context["page"].rows}

    everything = {tenant.provisional.pk, tenant.final.pk, for_mairie.pk}
    assert ids() == everything
    assert ids(etat="final") == {tenant.final.pk}
    assert ids(etat="provisional") == {tenant.provisional.pk, for_mairie.pk}
    assert ids(client=mairie.pk) == {for_mairie.pk}
    assert ids(q="reims") == {for_mairie.pk}
    assert ids(q=tenant.final.number[:6]) == {tenant.final.pk}
    today = timezone.localdate()
    assert ids(du=today.isoformat(), au=today.isoformat()) == everything
    assert ids(au=(today - datetime.timedelta(days=1)).isoformat()) == set()
    assert ids(type="credit_note") == set()


def test_list_pages_by_keyset_and_bounds_its_count(logged, tenant, monkeypatch):
    _make(tenant, PAGE_SIZE + 5)
    url = reverse("invoice_list")
    first = logged.get(url).context["page"]
    assert len(first.rows) == PAGE_SIZE and first.next_cursor and not first.prev_cursor
    assert first.count == PAGE_SIZE + 7 and not first.count_is_bounded
    second = logged.get(url, {"apres": first.next_cursor}).context["page"]
    assert len(second.rows) == 7 and not second.next_cursor and second.prev_cursor
    assert not {i.pk for i in first.rows} & {i.pk for i in second.rows}
    back = logged.get(url, {"avant": second.prev_cursor}).context["page"]
    assert [i.pk for i in back.rows] == [i.pk for i in first.rows]
    assert logged.get(url, {"apres": "n'importe quoi"}).status_code == 200

    monkeypatch.setattr("invoicing.selectors.COUNT_LIMIT", 10)
    page = logged.get(url).context["page"]
    assert page.count_is_bounded and page.count == 10
    assert "plus de 10" in logged.get(url).content.decode()
    assert COUNT_LIMIT >= 1000


def test_new_invoice_preselects_the_customer_and_the_current_company(logged, tenant):
    response = logged.get(reverse("invoice_create"), {"client": tenant.customer.pk})
    form = response.context["header_form"]
    assert form["customer"].value() == tenant.customer.pk
    assert form["company"].value() == tenant.company.pk
    assert len(response.context["formset"].forms) == views.BLANK_ROWS_NEW_INVOICE
