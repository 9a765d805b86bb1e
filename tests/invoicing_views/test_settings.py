"""Settings for dossier administrators: module switch, company and Chorus account, plan."""

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from invoicing.models import Company

pytestmark = pytest.mark.django_db


def company_data(company, **overrides):
    data = {
        k: ("" if v is None else v)
        for k, v in model_to_dict(company).items()
        if k not in {"id", "dossier", "chorus_password", "piste_client_id", "piste_client_secret"}
    }
    data["chorus_password"] = ""
    data["share_capital"] = "10000,00"
    data["late_penalty_rate"] = "12,15"
    data.update(overrides)
    return data


def test_the_module_switch(logged, tenant):
    tenant.dossier.facturx_module_enabled = False
    tenant.dossier.save()
    body = logged.get(reverse("settings_module")).content.decode()
    assert "aucune action Chorus Pro n'est proposée" in body
    logged.post(reverse("settings_module"), {"facturx_module_enabled": "on"})
    tenant.dossier.refresh_from_db()
    assert tenant.dossier.facturx_module_enabled
    logged.post(reverse("settings_module"), {})
    tenant.dossier.refresh_from_db()
    assert not tenant.dossier.facturx_module_enabled


def test_the_technical_password_is_write_only(logged, tenant):
    url = reverse("settings_company_edit", args=[tenant.company.pk])
    body = logged.get(url).content.decode()
    assert "MotDePasse-Technique-1" not in body
    assert "Un mot de passe est enregistré." in body

    response = logged.post(url, company_data(tenant.company, chorus_login="TECH_2@cpp2017.fr"))
    assert response.status_code == 302
    company = Company.objects.get(pk=tenant.company.pk)
    assert company.chorus_login == "TECH_2@cpp2017.fr"
    assert company.chorus_password == "MotDePasse-Technique-1"  # kept when left empty

    logged.post(url, company_data(company, chorus_password="Nouveau-Secret-9"))
    company.refresh_from_db()
    assert company.chorus_password == "Nouveau-Secret-9"
    assert "Nouveau-Secret-9" not in logged.get(url).content.decode()


def test_company_errors_are_in_french(logged, tenant):
    url = reverse("settings_company_edit", args=[tenant.company.pk])
    response = logged.post(
        url, company_data(tenant.company, siret="73282932000075", vat_number="", iban="FR76")
    )
    errors = response.context["form"].errors
    assert "n'est pas un SIRET valide" in errors["siret"][0]
    assert errors["vat_number"] == [
        "Un numéro de TVA est obligatoire pour une entreprise assujettie à la TVA."
    ]
    assert "n'est pas un IBAN valide" in errors["iban"][0]


def test_a_new_company_in_the_dossier(logged, tenant):
    data = company_data(tenant.company, name="Seconde Société")
    response = logged.post(reverse("settings_company_create"), data)
    assert response.status_code == 302
    created = Company.objects.get(name="Seconde Société")
    assert created.dossier == tenant.dossier


def test_plan_usage_per_year(logged, tenant):
    response = logged.get(reverse("settings_plan"))
    years = response.context["years"]
    assert [(y["used"], y["allowance"]) for y in years][0] == (0, 100)
    assert len(years) == 3
    tenant.dossier.chorus_yearly_allowance = 8
    tenant.dossier.save()
    body = logged.get(reverse("home")).content.decode()
    assert "une fois ce volume atteint" in body  # warning from 10 sends left
