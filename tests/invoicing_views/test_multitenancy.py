"""A user of one dossier gets 404 on every URL of another dossier's objects."""

import pytest
from django.urls import URLPattern, get_resolver, reverse

from invoicing.models import Invoice

pytestmark = pytest.mark.django_db


def _object_url_names() -> set[str]:
    """Every URL name of the invoicing app that takes an object id."""
    names = set()
    for pattern in get_resolver().url_patterns:
        for sub in getattr(pattern, "url_patterns", [pattern]):
            module = sub.callback.__module__ if isinstance(sub, URLPattern) else ""
            if module.startswith("invoicing.") and module.endswith("views"):
                if "<int:pk>" in str(sub.pattern):
                    names.add(sub.name)
    return names


def _other_objects(other) -> dict[str, list]:
    return {
        "customer_edit": [other.customer.pk],
        "article_edit": [other.article.pk],
        "invoice_detail": [other.provisional.pk, other.final.pk],
        "credit_note_create": [other.final.pk],
        "settings_company_edit": [other.company.pk],
    }


def test_every_object_url_is_covered_by_this_test(other):
    assert _object_url_names() == set(_other_objects(other))


def test_every_object_url_of_another_dossier_answers_404(logged, other):
    for name, pks in _other_objects(other).items():
        for pk in pks:
            url = reverse(name, args=[pk])
            assert logged.get(url).status_code in (404, 405), url
            assert logged.post(url, {}).status_code == 404, url


def test_posting_the_entry_screen_of_another_dossier_changes_nothing(logged, other):
    before = list(other.provisional.lines.values_list("label", flat=True))
    response = logged.post(
        reverse("invoice_detail", args=[other.provisional.pk]),
        {"customer": other.customer.pk, "lines-TOTAL_FORMS": "0"},
    )
    assert response.status_code == 404
    assert list(other.provisional.lines.values_list("label", flat=True)) == before


def test_another_dossiers_customer_cannot_be_put_on_an_invoice(logged, tenant, other):
    response = logged.post(
        reverse("invoice_create"),
        {
            "company": tenant.company.pk,
            "customer": other.customer.pk,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-label": "Conseil",
            "lines-0-unit": "C62",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "10",
            "lines-0-vat_rate": "20",
            "lines-0-vat_category": "S",
        },
    )
    assert response.status_code == 200
    assert "customer" in response.context["header_form"].errors
    assert (
        not Invoice.objects.filter(customer=other.customer)
        .exclude(pk__in=[other.provisional.pk, other.final.pk])
        .exists()
    )


def test_another_dossiers_article_is_unknown(logged, other):
    response = logged.get(reverse("article_lookup"), {"code": other.article.code + "X"})
    assert response.status_code == 404
    other.article.code = "ONLYB"
    other.article.save()
    assert logged.get(reverse("article_lookup"), {"code": "ONLYB"}).status_code == 404


def test_lists_show_only_the_current_dossier(logged, tenant, other):
    other.customer.name = "Client du dossier B"
    other.customer.save()
    assert "Client du dossier B" not in logged.get(reverse("customer_list")).content.decode()
    invoices = logged.get(reverse("invoice_list")).context["page"].rows
    assert {i.dossier_id for i in invoices} == {tenant.dossier.pk}
    # A filter on another dossier's customer is refused, not obeyed.
    response = logged.get(reverse("invoice_list"), {"client": other.customer.pk})
    assert {i.dossier_id for i in response.context["page"].rows} == {tenant.dossier.pk}


def test_switching_to_a_dossier_one_is_not_a_member_of_is_404(logged, other):
    response = logged.post(reverse("workspace_switch"), {"dossier": other.dossier.pk})
    assert response.status_code == 404
