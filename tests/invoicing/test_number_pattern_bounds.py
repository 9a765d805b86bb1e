"""Number patterns (BR-FR-01/02): only {year} and {number}, 35 characters, A-Z a-z 0-9 + - _ /."""

import re

import pytest
from django.core.exceptions import ValidationError

from invoicing import validators
from invoicing.services import format_number
from tests.factories import CompanyFactory

ACCEPTED = [
    "FA{year}-{number:05d}",
    "AV{year}-{number:05d}",
    "{number}",
    "F-{number:06d}",
    "{year}/{number:010d}",
    "{number:01d}",
    "A+B_C/{year}-{number}",
    "ABCDEFGHIJKLMNOPQRSTU{year}{number}",  # 21 + 4 + 10 = 35 characters at most
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_a_bounded_pattern_is_accepted(pattern):
    validators.validate_number_pattern(pattern)


@pytest.mark.parametrize("pattern", ACCEPTED)
@pytest.mark.parametrize("year", [1, 2026, 9999])
@pytest.mark.parametrize("number", [1, 99_999, 2_147_483_647])  # up to the counter's maximum
def test_an_accepted_pattern_always_formats_into_a_valid_invoice_number(pattern, year, number):
    formatted = format_number(pattern, year=year, number=number)

    assert len(formatted) <= 35
    assert re.fullmatch(r"[A-Za-z0-9+\-_/]+", formatted)


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("FA{number.real}", "« {number.real} » n'est pas permis"),
        ("FA{number[0]}", "« {number[0]} » n'est pas permis"),
        ("FA{0}-{number}", "« {0} » n'est pas permis : seules les variables {year} et {number}"),
        ("FA{}-{number}", "« {} » n'est pas permis"),
        ("FA{annee}-{number}", "« {annee} » n'est pas permis"),
        ("FA{year:04d}-{number}", "« {year:04d} » n'est pas permis"),
        ("FA{number:5d}", "« {number:5d} » n'est pas permis : le numéro s'écrit {number}"),
        ("FA{number:>05}", "« {number:>05} » n'est pas permis"),
        ("FA{number:05x}", "« {number:05x} » n'est pas permis"),
        ("FA{number!r}", "« {number!r} » n'est pas permis"),
        ("FA{number:011d}", "« {number:011d} » n'est pas permis"),
        ("FA{number:00d}", "« {number:00d} » n'est pas permis"),
        ("FA{number:0100000000d}", "« {number:0100000000d} » n'est pas permis"),
        ("FA{{number}}", "Accolade « { » isolée"),
        ("FA{year-{number}", "Accolade « { » isolée"),
        ("FA}{number}", "Accolade « } » isolée"),
        ("{number}-{number:03d}", "« {number} » figure deux fois"),
        ("{year}{year}-{number}", "« {year} » figure deux fois"),
        ("FA {number}", "Caractère « U+0020 » interdit"),
        ("FÉ{number}", "Caractère « É » interdit"),
        ("FA.{number}", "Caractère « . » interdit"),
        ("FA%s{number}", "Caractère « % » interdit"),
        ("FA{year}", "Le modèle doit contenir {number}"),
        ("", "Le modèle doit contenir {number}"),
    ],
)
def test_a_pattern_outside_the_bounds_is_refused_naming_the_offending_part(pattern, named):
    with pytest.raises(ValidationError) as exc:
        validators.validate_number_pattern(pattern)

    assert named in exc.value.messages[0]


def test_a_pattern_that_can_exceed_35_characters_is_refused_with_its_longest_number():
    # 22 + 4 + 10: the counter reaches 10 digits whatever the padding.
    with pytest.raises(ValidationError) as exc:
        validators.validate_number_pattern("ABCDEFGHIJKLMNOPQRSTUV{year}{number:05d}")

    assert exc.value.messages == [
        "Modèle trop long : il peut produire « ABCDEFGHIJKLMNOPQRSTUV99999999999999 » "
        "(36 caractères) ; un numéro de facture en a 35 au plus (BR-FR-01)."
    ]


def test_company_fields_refuse_an_unbounded_pattern(dossier):
    company = CompanyFactory.build(
        dossier=dossier,
        invoice_number_pattern="FA{number.__class__}",
        credit_note_number_pattern="AV {number}",
    )

    with pytest.raises(ValidationError) as exc:
        company.full_clean()

    errors = exc.value.message_dict
    assert "« {number.__class__} » n'est pas permis" in errors["invoice_number_pattern"][0]
    assert "Caractère « U+0020 » interdit" in errors["credit_note_number_pattern"][0]


@pytest.mark.parametrize(
    ("invoices", "credit_notes", "example"),
    [
        ("FA{year}-{number:05d}", "FA{year}-{number:05d}", "FA1111-11111"),
        ("{number}", "{year}{number}", "11111"),
        ("{number:02d}", "0{number}", "01"),
        ("F{year}{number:05d}", "F{number}", "F111111111"),
    ],
)
def test_invoice_and_credit_note_patterns_that_can_give_the_same_number_are_refused(
    dossier, invoices, credit_notes, example
):
    # Invoices and credit notes share the company's numbers: a clash would fail finalisation.
    company = CompanyFactory.build(
        dossier=dossier, invoice_number_pattern=invoices, credit_note_number_pattern=credit_notes
    )

    with pytest.raises(ValidationError) as exc:
        company.full_clean()

    message = exc.value.message_dict["credit_note_number_pattern"][0]
    assert f"le même numéro qu'une facture (par exemple « {example} »)" in message


@pytest.mark.parametrize(
    ("invoices", "credit_notes"),
    [
        ("FA{year}-{number:05d}", "AV{year}-{number:05d}"),
        ("{number}", "0{number}"),  # an unpadded number never starts with 0
        ("F{number}", "F{year}-{number}"),
        ("{year}-{number}", "{year}/{number}"),
    ],
)
def test_patterns_that_never_meet_are_accepted(dossier, invoices, credit_notes):
    company = CompanyFactory.build(
        dossier=dossier, invoice_number_pattern=invoices, credit_note_number_pattern=credit_notes
    )

    company.full_clean()
