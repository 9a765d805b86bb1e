"""Identifiers (python-stdnum), VAT rules on lines, the Chorus zone, credit notes: in French."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from invoicing import services, validators
from invoicing.models import Company, Customer, Invoice, InvoiceLine
from tests.factories import CompanyFactory, CustomerFactory

# SIREN/SIRET.


@pytest.mark.parametrize("siren", ["732829320", "356000000", "110006012"])
def test_valid_sirens_are_accepted(siren):
    validators.validate_siren(siren)


@pytest.mark.parametrize("siren", ["732829321", "73282932", "7328293200", "ABCDEFGHI", ""])
def test_invalid_sirens_are_refused_in_french(siren):
    with pytest.raises(ValidationError) as exc:
        validators.validate_siren(siren)

    assert exc.value.messages == [
        f"« {siren} » n'est pas un SIREN valide (9 chiffres, clé de contrôle correcte)."
    ]


@pytest.mark.parametrize("siret", ["73282932000074", "11000601200014"])
def test_valid_sirets_are_accepted(siret):
    validators.validate_siret(siret)


@pytest.mark.parametrize("siret", ["35600000000048", "35600000049837", "35600000000010"])
def test_la_poste_sirets_are_accepted_although_only_the_head_office_passes_luhn(siret):
    # La Poste (SIREN 356000000): establishments use "digit sum multiple of 5", not Luhn.
    validators.validate_siret(siret)


@pytest.mark.parametrize(
    "siret",
    ["73282932000075", "35600000000049", "7328293200007", "732829320000741", "7328293200007A"],
)
def test_invalid_sirets_are_refused_in_french(siret):
    with pytest.raises(ValidationError) as exc:
        validators.validate_siret(siret)

    assert exc.value.messages == [
        f"« {siret} » n'est pas un SIRET valide (14 chiffres, clé de contrôle correcte)."
    ]


# VAT number and IBAN.


def test_a_french_vat_number_is_accepted():
    validators.validate_fr_vat("FR44732829320")


@pytest.mark.parametrize(
    "vat",
    [
        "FR45732829320",  # wrong key
        "FR44732829321",  # wrong SIREN
        "44732829320",  # no country prefix: BT-31 would be wrong
        "fr44732829320",
        "FR 44732829320",
        "DE123456789",
    ],
)
def test_invalid_french_vat_numbers_are_refused_in_french(vat):
    with pytest.raises(ValidationError) as exc:
        validators.validate_fr_vat(vat)

    assert exc.value.messages == [
        f"« {vat} » n'est pas un numéro de TVA français valide (FR + clé + SIREN)."
    ]


def test_a_valid_iban_is_accepted_and_a_wrong_key_refused():
    validators.validate_iban("FR7630006000011234567890189")

    with pytest.raises(ValidationError) as exc:
        validators.validate_iban("FR7630006000011234567890188")

    assert exc.value.messages == ["« FR7630006000011234567890188 » n'est pas un IBAN valide."]


# Messages on model and form fields.


def test_company_full_clean_reports_each_bad_identifier_on_its_field(dossier):
    company = CompanyFactory.build(
        dossier=dossier,
        siren="732829321",
        siret="73282932000075",
        vat_number="FR45732829320",
        iban="FR7630006000011234567890188",
    )

    with pytest.raises(ValidationError) as exc:
        company.full_clean()

    errors = exc.value.message_dict
    assert "n'est pas un SIREN valide" in errors["siren"][0]
    assert "n'est pas un SIRET valide" in errors["siret"][0]
    assert "n'est pas un numéro de TVA français valide" in errors["vat_number"][0]
    assert "n'est pas un IBAN valide" in errors["iban"][0]


def test_company_siret_must_start_with_its_siren(dossier):
    company = CompanyFactory.build(dossier=dossier, siret="11000601200014")

    with pytest.raises(ValidationError) as exc:
        company.full_clean()

    assert exc.value.message_dict["siret"] == [
        "Le SIRET doit commencer par le SIREN de l'entreprise."
    ]


def test_a_la_poste_establishment_is_a_valid_company(dossier):
    company = CompanyFactory.build(
        dossier=dossier, siren="356000000", siret="35600000000048", vat_number=""
    )
    company.vat_regime = Company.VatRegime.FRANCHISE

    company.full_clean()


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["dossier", "name", "siren", "siret", "vat_number", "iban", "address_line1"]


def test_company_form_shows_french_messages_on_every_bad_field(dossier):
    form = CompanyForm(
        data={
            "dossier": dossier.pk,
            "name": "",
            "siren": "123",
            "siret": "73282932000075",
            "vat_number": "44732829320",
            "iban": "FR00",
            "address_line1": "1 rue de la Paix",
        }
    )

    assert not form.is_valid()
    assert form.errors["name"] == ["Ce champ est obligatoire."]
    assert form.errors["siren"] == [
        "« 123 » n'est pas un SIREN valide (9 chiffres, clé de contrôle correcte)."
    ]
    assert "n'est pas un SIRET valide" in form.errors["siret"][0]
    assert "n'est pas un numéro de TVA français valide" in form.errors["vat_number"][0]
    assert form.errors["iban"] == ["« FR00 » n'est pas un IBAN valide."]


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "dossier",
            "code",
            "kind",
            "name",
            "address_line1",
            "postcode",
            "city",
            "country_code",
            "chorus_enabled",
            "siret",
        ]


def customer_data(dossier, **overrides):
    data = {
        "dossier": dossier.pk,
        "code": "CL9",
        "kind": Customer.Kind.COMPANY,
        "name": "Mairie de Reims",
        "address_line1": "9 place de l'Hôtel de Ville",
        "postcode": "51100",
        "city": "Reims",
        "country_code": "FR",
        "chorus_enabled": "on",
        "siret": "11000601200014",
    }
    return data | overrides


def test_customer_form_refuses_a_bad_siret_in_french(dossier):
    form = CustomerForm(data=customer_data(dossier, siret="11000601200015"))

    assert not form.is_valid()
    assert form.errors["siret"] == [
        "« 11000601200015 » n'est pas un SIRET valide (14 chiffres, clé de contrôle correcte)."
    ]


@pytest.mark.parametrize("kind", [Customer.Kind.COMPANY, Customer.Kind.SOLE_PROPRIETORSHIP])
def test_companies_and_sole_proprietorships_have_the_chorus_zone(dossier, kind):
    form = CustomerForm(data=customer_data(dossier, kind=kind))

    assert form.is_valid(), form.errors
    assert form.save().has_chorus_zone


def test_an_individual_customer_cannot_have_the_chorus_zone(dossier):
    form = CustomerForm(data=customer_data(dossier, kind=Customer.Kind.INDIVIDUAL))

    assert not form.is_valid()
    assert (
        "La zone Chorus Pro n'existe que pour les clients de type « Société » "
        "ou « Entreprise individuelle »."
    ) in form.non_field_errors()


def test_an_individual_customer_without_the_chorus_zone_is_valid(dossier):
    form = CustomerForm(
        data=customer_data(dossier, kind=Customer.Kind.INDIVIDUAL, chorus_enabled="", siret="")
    )

    assert form.is_valid(), form.errors
    assert not form.save().has_chorus_zone


@pytest.mark.parametrize(
    "zone",
    [
        {"chorus_enabled": True, "siret": ""},
        {"siret": "11000601200014"},
        {"default_service_code": "SERVICE-1"},
        {"default_engagement_number": "EJ-42"},
    ],
)
def test_the_database_refuses_the_chorus_zone_on_an_individual(dossier, zone):
    fields = {"chorus_enabled": False, "siret": ""} | zone

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(dossier=dossier, kind=Customer.Kind.INDIVIDUAL, **fields)


# VAT rules on lines.


def line(**fields):
    values = {"label": "Ligne", "quantity": Decimal("1"), "unit_price": Decimal("10")} | fields
    return InvoiceLine(**values)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"vat_category": "S", "vat_rate": Decimal("0")},
            "vat_rate",
            "Un taux normal ou réduit doit être supérieur à 0 %.",
        ),
        (
            {"vat_category": "E", "vat_rate": Decimal("20"), "exemption_reason": "Art. 261"},
            "vat_rate",
            "Cette catégorie de TVA impose un taux de 0 %.",
        ),
        (
            {"vat_category": "S", "vat_rate": Decimal("100")},
            "vat_rate",
            "Le taux de TVA doit être compris entre 0 et 100 %.",
        ),
        (
            {"vat_category": "S", "vat_rate": Decimal("-5.5")},
            "vat_rate",
            "Le taux de TVA doit être compris entre 0 et 100 %.",
        ),
        ({"vat_category": "E", "vat_rate": Decimal("0")}, "exemption_reason", "motif"),
        ({"vat_category": "AE", "vat_rate": Decimal("0")}, "exemption_reason", "motif"),
        ({"vat_category": "K", "vat_rate": Decimal("0")}, "exemption_reason", "motif"),
        ({"vat_category": "G", "vat_rate": Decimal("0")}, "exemption_reason", "motif"),
        ({"vat_category": "O", "vat_rate": Decimal("0")}, "exemption_reason", "motif"),
        ({"quantity": Decimal("0")}, "quantity", "La quantité ne peut pas être nulle."),
        ({"unit_price": Decimal("-1")}, "unit_price", "Le montant ne peut pas être négatif."),
    ],
)
def test_line_vat_rules_are_enforced_with_a_french_message(fields, field, message):
    with pytest.raises(ValidationError) as exc:
        line(**fields).full_clean(exclude=["invoice"])

    assert message in " ".join(exc.value.message_dict[field])


@pytest.mark.parametrize(
    "fields",
    [
        {"vat_category": "S", "vat_rate": Decimal("20")},
        {"vat_category": "S", "vat_rate": Decimal("5.5")},
        {"vat_category": "Z", "vat_rate": Decimal("0")},
        {"vat_category": "E", "vat_rate": Decimal("0"), "exemption_reason": "Art. 261 C CGI"},
        {"vat_category": "AE", "vat_rate": Decimal("0"), "exemption_reason": "Autoliquidation"},
    ],
)
def test_consistent_vat_lines_are_accepted(fields):
    line(**fields).full_clean(exclude=["invoice"])


def test_invoice_create_names_the_faulty_line(make_invoice):
    lines = [
        services.LineInput(label="Bonne", quantity=Decimal("1"), unit_price=Decimal("1")),
        services.LineInput(
            label="Exonérée sans motif",
            quantity=Decimal("1"),
            unit_price=Decimal("1"),
            vat_category="E",
            vat_rate=Decimal("0"),
        ),
    ]

    with pytest.raises(ValidationError) as exc:
        make_invoice(lines=lines)

    assert exc.value.messages[0].startswith("Ligne 2 : Indiquez le motif d'exonération")
    assert not Invoice.objects.exists()


def test_an_invoice_needs_at_least_one_line(company, customer):
    with pytest.raises(ValidationError) as exc:
        services.invoice_create(company=company, customer=customer, lines=[])

    assert exc.value.messages == ["Une facture doit avoir au moins une ligne."]


# Credit notes.


def test_a_credit_note_must_reference_the_invoice_it_corrects(make_invoice):
    with pytest.raises(ValidationError) as exc:
        make_invoice(kind=Invoice.Kind.CREDIT_NOTE)

    assert exc.value.message_dict["credited_invoice"] == [
        "Un avoir doit indiquer la facture qu'il corrige."
    ]


def test_a_credit_note_cannot_correct_a_provisional_invoice(make_invoice):
    provisional = make_invoice()

    with pytest.raises(ValidationError) as exc:
        make_invoice(kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=provisional)

    assert exc.value.message_dict["credited_invoice"] == [
        "Un avoir ne peut corriger qu'une facture définitive."
    ]


def test_a_credit_note_cannot_correct_another_credit_note(final_invoice, make_invoice):
    credit_note = make_invoice(kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=final_invoice)
    credit_note = services.invoice_finalise(
        invoice_id=credit_note.pk, issue_date=datetime.date(2026, 3, 3)
    )

    with pytest.raises(ValidationError) as exc:
        make_invoice(kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=credit_note)

    assert "Un avoir ne peut corriger qu'une facture définitive." in exc.value.messages


def test_only_a_credit_note_may_reference_a_corrected_invoice(final_invoice, make_invoice):
    with pytest.raises(ValidationError) as exc:
        make_invoice(credited_invoice=final_invoice)

    assert exc.value.message_dict["credited_invoice"] == [
        "Seul un avoir peut référencer une facture corrigée."
    ]


def test_a_credit_note_of_a_final_invoice_is_accepted(final_invoice, make_invoice):
    credit_note = make_invoice(kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=final_invoice)

    assert credit_note.credited_invoice == final_invoice
    assert list(final_invoice.credit_notes.all()) == [credit_note]


def test_an_invoice_cannot_mix_dossiers(make_invoice, customer):
    stranger = CompanyFactory()

    with pytest.raises(ValidationError) as exc:
        make_invoice(company=stranger, customer=customer)

    assert "Ce client n'appartient pas au dossier." in exc.value.message_dict["customer"]


def test_a_number_pattern_must_contain_the_number():
    with pytest.raises(ValidationError) as exc:
        validators.validate_number_pattern("FA{year}")

    assert "{number}" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        validators.validate_number_pattern("FA{annee}-{number}")
    validators.validate_number_pattern("FA{year}-{number:05d}")
