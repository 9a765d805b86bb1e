"""A final invoice is frozen: every write path that reaches it or its lines is refused."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db.models import ProtectedError
from django.urls import reverse

from invoicing import services
from invoicing.models import FinalInvoiceError, Invoice, InvoiceLine
from tests.factories import ArticleFactory

FINAL_MESSAGE = "Cette facture est définitive : elle ne peut plus être modifiée ni supprimée."


def assert_unchanged(invoice: Invoice) -> None:
    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.state == Invoice.State.FINAL
    assert stored.number == invoice.number
    assert stored.note == invoice.note
    assert stored.issue_date == invoice.issue_date
    assert [(line.label, line.quantity, line.unit_price) for line in stored.lines.all()] == [
        (line.label, line.quantity, line.unit_price) for line in invoice.lines.all()
    ]


@pytest.fixture
def provisional(make_invoice):
    return make_invoice()


@pytest.fixture
def superuser_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.fr", "motdepasse-42")
    client.force_login(user)
    return client


# The invoice row.


def test_saving_a_final_invoice_is_refused_with_a_french_message(final_invoice):
    final_invoice.note = "Modifiée après coup"

    with pytest.raises(FinalInvoiceError) as exc:
        final_invoice.save()

    assert exc.value.messages == [FINAL_MESSAGE]
    final_invoice.note = ""
    assert_unchanged(final_invoice)


def test_saving_only_some_fields_of_a_final_invoice_is_refused(final_invoice):
    final_invoice.due_date = datetime.date(2030, 1, 1)

    with pytest.raises(FinalInvoiceError):
        final_invoice.save(update_fields=["due_date"])

    assert Invoice.objects.get(pk=final_invoice.pk).due_date != datetime.date(2030, 1, 1)


def test_a_stale_provisional_copy_cannot_overwrite_the_finalised_invoice(provisional):
    stale = Invoice.objects.get(pk=provisional.pk)
    services.invoice_finalise(invoice_id=provisional.pk, issue_date=datetime.date(2026, 3, 2))
    stale.note = "Saisie concurrente"

    with pytest.raises(FinalInvoiceError):
        stale.save()

    stored = Invoice.objects.get(pk=provisional.pk)
    assert (stored.state, stored.number, stored.note) == ("final", "FA2026-00001", "")


def test_deleting_a_final_invoice_is_refused(final_invoice):
    with pytest.raises(FinalInvoiceError) as exc:
        final_invoice.delete()

    assert exc.value.messages == [FINAL_MESSAGE]
    assert Invoice.objects.filter(pk=final_invoice.pk).exists()


def test_queryset_update_touching_a_final_invoice_is_refused(final_invoice, provisional):
    with pytest.raises(FinalInvoiceError) as exc:
        Invoice.objects.all().update(note="En masse")

    assert exc.value.messages == [FINAL_MESSAGE]
    assert not Invoice.objects.filter(note="En masse").exists()


def test_queryset_update_cannot_make_an_invoice_final(provisional):
    with pytest.raises(FinalInvoiceError) as exc:
        Invoice.objects.filter(pk=provisional.pk).update(state=Invoice.State.FINAL)

    assert "finalisation" in exc.value.messages[0]
    assert Invoice.objects.get(pk=provisional.pk).state == Invoice.State.PROVISIONAL


def test_queryset_delete_touching_a_final_invoice_deletes_nothing(final_invoice, provisional):
    with pytest.raises(FinalInvoiceError) as exc:
        Invoice.objects.all().delete()

    assert exc.value.messages == [FINAL_MESSAGE]
    assert Invoice.objects.count() == 2


def test_related_manager_delete_of_a_final_invoice_is_refused(final_invoice, company):
    with pytest.raises(FinalInvoiceError):
        company.invoices.all().delete()

    assert Invoice.objects.filter(pk=final_invoice.pk).exists()


def test_bulk_update_of_a_final_invoice_is_refused(final_invoice, provisional):
    final_invoice.note = "En masse"
    provisional.note = "En masse"

    with pytest.raises(FinalInvoiceError) as exc:
        Invoice.objects.bulk_update([final_invoice, provisional], ["note"])

    assert exc.value.messages == [FINAL_MESSAGE]
    assert not Invoice.objects.filter(note="En masse").exists()


def test_bulk_update_cannot_make_an_invoice_final(provisional):
    provisional.state = Invoice.State.FINAL
    provisional.number = "FA2026-99999"
    provisional.issue_date = datetime.date(2026, 3, 2)

    with pytest.raises(FinalInvoiceError):
        Invoice.objects.bulk_update([provisional], ["state", "number", "issue_date"])

    assert Invoice.objects.get(pk=provisional.pk).state == Invoice.State.PROVISIONAL


# Its lines.


def test_saving_a_line_of_a_final_invoice_is_refused(final_invoice):
    line = final_invoice.lines.get()
    line.unit_price = Decimal("1.00")

    with pytest.raises(FinalInvoiceError) as exc:
        line.save()

    assert exc.value.messages == [FINAL_MESSAGE]
    assert_unchanged(final_invoice)


def test_adding_a_line_to_a_final_invoice_is_refused(final_invoice):
    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.create(
            invoice=final_invoice, label="Ajout", quantity=1, unit_price=Decimal("5")
        )

    assert final_invoice.lines.count() == 1


def test_deleting_a_line_of_a_final_invoice_is_refused(final_invoice):
    with pytest.raises(FinalInvoiceError):
        final_invoice.lines.get().delete()

    assert final_invoice.lines.count() == 1


def test_queryset_update_of_final_lines_is_refused(final_invoice, provisional):
    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.all().update(label="En masse")

    with pytest.raises(FinalInvoiceError):
        final_invoice.lines.update(unit_price=0)

    assert not InvoiceLine.objects.filter(label="En masse").exists()
    assert_unchanged(final_invoice)


def test_queryset_delete_of_final_lines_is_refused(final_invoice, provisional):
    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.all().delete()

    with pytest.raises(FinalInvoiceError):
        final_invoice.lines.all().delete()

    assert InvoiceLine.objects.count() == 2


def test_bulk_create_of_lines_on_a_final_invoice_is_refused(final_invoice, provisional):
    rows = [
        InvoiceLine(invoice=provisional, label="Permis", quantity=1, unit_price=1),
        InvoiceLine(invoice=final_invoice, label="Refusé", quantity=1, unit_price=1),
    ]

    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.bulk_create(rows)

    assert not InvoiceLine.objects.filter(label__in=["Permis", "Refusé"]).exists()


def test_bulk_update_of_final_lines_is_refused(final_invoice):
    line = final_invoice.lines.get()
    line.label = "En masse"

    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.bulk_update([line], ["label"])

    assert_unchanged(final_invoice)


def test_moving_a_line_onto_a_final_invoice_is_refused(final_invoice, provisional):
    line = provisional.lines.get()
    line.invoice = final_invoice

    with pytest.raises(FinalInvoiceError):
        line.save()

    assert final_invoice.lines.count() == 1


def test_moving_a_line_off_a_final_invoice_is_refused(final_invoice, provisional):
    line = final_invoice.lines.get()
    line.invoice = provisional

    with pytest.raises(FinalInvoiceError):
        line.save()

    assert final_invoice.lines.count() == 1


def test_moving_lines_onto_a_final_invoice_by_queryset_update_is_refused(
    final_invoice, provisional
):
    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.filter(invoice=provisional).update(invoice=final_invoice)

    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.filter(invoice=provisional).update(invoice_id=final_invoice.pk)

    assert final_invoice.lines.count() == 1


def test_moving_lines_onto_a_final_invoice_by_related_manager_add_is_refused(
    final_invoice, provisional
):
    with pytest.raises(FinalInvoiceError):
        final_invoice.lines.add(provisional.lines.get())

    assert final_invoice.lines.count() == 1
    assert provisional.lines.count() == 1


def test_moving_lines_onto_a_final_invoice_by_bulk_update_is_refused(final_invoice, provisional):
    line = provisional.lines.get()
    line.invoice = final_invoice

    with pytest.raises(FinalInvoiceError):
        InvoiceLine.objects.bulk_update([line], ["invoice"])

    assert final_invoice.lines.count() == 1


def test_replacing_the_lines_of_a_final_invoice_is_refused(final_invoice):
    with pytest.raises(FinalInvoiceError):
        services.invoice_replace_lines(
            invoice=final_invoice,
            lines=[services.LineInput(label="Autre", quantity=1, unit_price=1)],
        )

    assert_unchanged(final_invoice)


def test_deleting_an_article_used_on_a_final_invoice_leaves_its_lines_untouched(
    make_invoice, dossier
):
    article = ArticleFactory(dossier=dossier)
    article_pk = article.pk
    invoice = make_invoice(lines=[services.line_from_article(article, Decimal("1"))])
    services.invoice_finalise(invoice_id=invoice.pk, issue_date=datetime.date(2026, 3, 2))

    try:
        article.delete()
    except (ProtectedError, FinalInvoiceError):
        pass  # refusing the deletion is as good as leaving the line alone

    assert invoice.lines.get().article_id == article_pk


# Forms and the admin.


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = ["buyer_reference", "order_reference", "note", "due_date"]


def test_a_model_form_cannot_save_a_final_invoice(final_invoice):
    form = InvoiceForm(
        data={"note": "Par formulaire", "buyer_reference": "X"}, instance=final_invoice
    )

    with pytest.raises(FinalInvoiceError) as exc:
        if form.is_valid():
            form.save()
        else:
            raise FinalInvoiceError(form.errors.as_text())

    assert FINAL_MESSAGE in exc.value.messages[0]
    assert Invoice.objects.get(pk=final_invoice.pk).note == ""


def test_a_model_form_still_edits_a_provisional_invoice(provisional):
    form = InvoiceForm(
        data={"note": "Par formulaire", "buyer_reference": "SRV"}, instance=provisional
    )

    assert form.is_valid(), form.errors
    form.save()

    assert Invoice.objects.get(pk=provisional.pk).note == "Par formulaire"


def test_admin_refuses_to_post_changes_to_a_final_invoice(superuser_client, final_invoice):
    url = reverse("admin:invoicing_invoice_change", args=[final_invoice.pk])

    page = superuser_client.get(url)
    response = superuser_client.post(url, {"note": "Par l'admin", "_save": "Enregistrer"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    assert_unchanged(final_invoice)


def test_admin_refuses_to_delete_a_final_invoice(superuser_client, final_invoice):
    url = reverse("admin:invoicing_invoice_delete", args=[final_invoice.pk])

    assert superuser_client.get(url).status_code == 403
    assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=final_invoice.pk).exists()


def test_admin_bulk_delete_of_a_selection_with_a_final_invoice_deletes_nothing(
    superuser_client, final_invoice, provisional
):
    url = reverse("admin:invoicing_invoice_changelist")

    response = superuser_client.post(
        url,
        {"action": "delete_provisional", "_selected_action": [final_invoice.pk, provisional.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in get_messages(response.wsgi_request)] == [FINAL_MESSAGE]
    assert Invoice.objects.count() == 2


def test_admin_offers_no_plain_delete_selected_action(superuser_client, provisional):
    response = superuser_client.post(
        reverse("admin:invoicing_invoice_changelist"),
        {"action": "delete_selected", "_selected_action": [provisional.pk], "post": "yes"},
    )

    assert response.status_code in (200, 302)
    assert Invoice.objects.filter(pk=provisional.pk).exists()


def test_admin_bulk_delete_of_provisional_invoices_deletes_them(superuser_client, provisional):
    response = superuser_client.post(
        reverse("admin:invoicing_invoice_changelist"),
        {"action": "delete_provisional", "_selected_action": [provisional.pk]},
    )

    assert response.status_code == 302
    assert not Invoice.objects.filter(pk=provisional.pk).exists()
    assert not InvoiceLine.objects.exists()


# Provisional invoices stay editable.


def test_a_provisional_invoice_and_its_lines_stay_editable(provisional):
    provisional.note = "Modifiable"
    provisional.save()
    Invoice.objects.filter(pk=provisional.pk).update(buyer_reference="SRV-1")
    line = provisional.lines.get()
    line.label = "Nouveau libellé"
    line.save()
    InvoiceLine.objects.filter(invoice=provisional).update(quantity=Decimal("3"))

    services.invoice_replace_lines(
        invoice=provisional,
        lines=[services.LineInput(label="Remplacée", quantity=2, unit_price=Decimal("7.5"))],
    )

    stored = Invoice.objects.get(pk=provisional.pk)
    assert (stored.note, stored.buyer_reference) == ("Modifiable", "SRV-1")
    assert list(stored.lines.values_list("label", "quantity")) == [("Remplacée", Decimal("2"))]


def test_a_provisional_invoice_can_be_deleted_with_its_lines(provisional):
    provisional.delete()

    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()


def test_an_invoice_cannot_be_created_final_without_finalisation(company, customer):
    with pytest.raises(FinalInvoiceError):
        Invoice.objects.create(
            dossier=company.dossier,
            company=company,
            customer=customer,
            state=Invoice.State.FINAL,
            number="FA-FORGED",
            issue_date=datetime.date(2026, 1, 1),
        )
    with pytest.raises(FinalInvoiceError):
        Invoice.objects.bulk_create(
            [
                Invoice(
                    dossier=company.dossier,
                    company=company,
                    customer=customer,
                    state=Invoice.State.FINAL,
                    number="FA-FORGED",
                    issue_date=datetime.date(2026, 1, 1),
                )
            ]
        )
    assert not Invoice.objects.filter(number="FA-FORGED").exists()
