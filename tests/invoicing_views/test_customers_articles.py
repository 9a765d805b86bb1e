"""Customers and articles: lists, search, pagination, French field errors, the Chorus zone."""

import pytest
from django.urls import reverse

from invoicing.models import Article, Customer
from tests.factories import BUYER_SIRET, ArticleFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def customer_data(**overrides):
    data = {
        "code": "MAIRIE",
        "kind": "company",
        "name": "Mairie de Reims",
        "address_line1": "9 place de l'Hôtel de Ville",
        "postcode": "51100",
        "city": "Reims",
        "country_code": "fr",
        "chorus_enabled": "on",
        "siret": "110 006 012 00014",
        "default_service_code": "SERV-COMPTA",
        "default_engagement_number": "EJ-2026-42",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_company_customer_keeps_its_chorus_zone(logged, tenant):
    response = logged.post(reverse("customer_create"), customer_data())
    assert response.status_code == 302
    customer = Customer.objects.get(dossier=tenant.dossier, code="MAIRIE")
    assert customer.chorus_enabled
    assert customer.siret == BUYER_SIRET  # typed in groups, stored as 14 digits
    assert customer.default_engagement_number == "EJ-2026-42"
    assert customer.country_code == "FR"


def test_a_sole_proprietorship_has_the_chorus_zone_too(logged, tenant):
    response = logged.post(
        reverse("customer_create"), customer_data(kind="sole_proprietorship", code="EI")
    )
    assert response.status_code == 302
    assert Customer.objects.get(code="EI").chorus_enabled


def test_an_individual_has_no_chorus_zone(logged, tenant):
    response = logged.post(
        reverse("customer_create"), customer_data(kind="individual", code="PART")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "n'existe que pour les clients de type « Société »" in form.errors["kind"][0]
    assert form.errors["siret"] == ["Sans objet pour un particulier."]
    assert not Customer.objects.filter(code="PART").exists()
    # Without the zone (the browser disables its hidden fields), the individual is saved.
    response = logged.post(
        reverse("customer_create"),
        customer_data(
            kind="individual",
            code="PART",
            chorus_enabled=None,
            siret=None,
            default_service_code=None,
            default_engagement_number=None,
        ),
    )
    assert response.status_code == 302
    assert Customer.objects.get(code="PART").siret == ""


def test_customer_errors_are_in_french_next_to_their_fields(logged, tenant):
    CustomerFactory(dossier=tenant.dossier, code="DUP")
    response = logged.post(
        reverse("customer_create"), customer_data(code="dup", siret="12345678901234", name="")
    )
    errors = response.context["form"].errors
    assert errors["code"] == ["Ce code client est déjà utilisé dans le dossier."]
    assert "n'est pas un SIRET valide" in errors["siret"][0]
    assert errors["name"] == ["Ce champ est obligatoire."]
    body = response.content.decode()
    assert "Le client n'a pas été enregistré" in body
    assert 'value="dup"' in body  # what was typed is shown again


def test_the_same_code_may_exist_in_another_dossier(logged, tenant, other):
    response = logged.post(reverse("customer_create"), customer_data(code=other.customer.code))
    assert response.status_code == 302


def test_editing_a_customer(logged, tenant):
    url = reverse("customer_edit", args=[tenant.customer.pk])
    assert logged.get(url).status_code == 200
    response = logged.post(url, customer_data(code=tenant.customer.code, name="Nouveau nom"))
    assert response.status_code == 302
    tenant.customer.refresh_from_db()
    assert tenant.customer.name == "Nouveau nom"


def test_customer_list_searches_and_paginates(logged, tenant):
    for i in range(60):
        CustomerFactory(dossier=tenant.dossier, code=f"Z{i:03d}", name=f"Zèbre {i:03d}")
    page = logged.get(reverse("customer_list")).context["page"]
    assert page.paginator.count == 61 and len(page.object_list) == 50
    second = logged.get(reverse("customer_list"), {"page": 2}).context["page"]
    assert len(second.object_list) == 11
    found = logged.get(reverse("customer_list"), {"q": "zèbre 04"}).context["page"]
    assert [c.code for c in found.object_list] == [f"Z{i:03d}" for i in range(40, 50)]
    assert logged.get(reverse("customer_list"), {"q": "z00"}).context["page"].paginator.count == 10


def test_an_article_with_french_decimals(logged, tenant):
    response = logged.post(
        reverse("article_create"),
        {
            "code": "JUS",
            "label": "Jus de raisin",
            "unit": "LTR",
            "unit_price": "3,35",
            "nature": "goods",
            "vat_category": "S",
            "vat_rate": "5,5",
        },
    )
    assert response.status_code == 302
    article = Article.objects.get(dossier=tenant.dossier, code="JUS")
    assert str(article.unit_price) == "3.3500" and str(article.vat_rate) == "5.50"
    assert article.nature == "goods"


def test_article_vat_errors_are_on_the_right_fields(logged, tenant):
    response = logged.post(
        reverse("article_create"),
        {
            "code": "VIN75",
            "label": "",
            "unit": "C62",
            "unit_price": "dix",
            "vat_category": "E",
            "vat_rate": "20",
        },
    )
    errors = response.context["form"].errors
    assert errors["code"] == ["Ce code article est déjà utilisé dans le dossier."]
    assert errors["unit_price"] == ["Saisissez un nombre."]
    assert errors["label"] == ["Ce champ est obligatoire."]
    response = logged.post(
        reverse("article_create"),
        {
            "code": "EXO",
            "label": "Formation",
            "unit": "HUR",
            "unit_price": "50",
            "nature": "services",
            "vat_category": "E",
            "vat_rate": "0",
        },
    )
    assert "motif d'exonération" in response.context["form"].errors["exemption_reason"][0]


def test_article_list_searches(logged, tenant):
    ArticleFactory(dossier=tenant.dossier, code="CHAMP", label="Champagne brut")
    found = logged.get(reverse("article_list"), {"q": "brut"}).context["page"]
    assert [a.code for a in found.object_list] == ["CHAMP"]
    found = logged.get(reverse("article_list"), {"q": "vin"}).context["page"]
    assert [a.code for a in found.object_list] == ["VIN75"]


def test_article_lookup_feeds_the_entry_screen(logged, tenant):
    data = logged.get(reverse("article_lookup"), {"code": "vin75"}).json()
    assert data == {
        "code": "VIN75",
        "label": "Vin 75 cl",
        "unit": "C62",
        "unit_price": "10.0000",
        "vat_category": "S",
        "vat_rate": "20.00",
        "exemption_reason": "",
        "exemption_code": "",
        "nature": "services",
    }
