"""import_invoices and the French 2026 data: customers' SIREN, directory address and delivery
address, invoices already paid or delivered elsewhere, each line's nature and VATEX code."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from invoicing import selectors
from invoicing.models import Customer, Invoice
from tests.factories import BUYER_SIRET, SELLER_SIREN, SELLER_SIRET

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "import-format.md"
BUYER_SIREN = BUYER_SIRET[:9]


def _documented_example() -> dict:
    """The example of docs/import-format.md that shows every 2026 field."""
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return json.loads(next(block for block in blocks if '"customers"' in block))


def _line(**fields) -> dict:
    return {"label": "Conseil", "quantity": "1", "unit_price": "100", **fields}


def _invoice(**fields) -> dict:
    return {"ref": "EXT-1", "customer_siret": BUYER_SIRET, "lines": [_line()], **fields}


def _data(*invoices, **top) -> dict:
    return {"company_siret": SELLER_SIRET, "invoices": list(invoices or [_invoice()]), **top}


def _import(tmp_path, data, *args) -> None:
    path = tmp_path / "import.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    call_command("import_invoices", str(path), *args)


def _refused(tmp_path, data, *args) -> str:
    with pytest.raises(CommandError) as caught:
        _import(tmp_path, data, *args)
    assert not Invoice.objects.exists()
    return str(caught.value)


# Everything at once: the documented example.


def test_the_documented_example_imports_every_new_field(company, customer, tmp_path):
    _import(tmp_path, _documented_example())

    customer.refresh_from_db()
    assert customer.siren == BUYER_SIREN
    assert customer.electronic_address == f"{BUYER_SIREN}_{BUYER_SIRET}"
    assert customer.delivery_address() == {
        "delivery_name": "Entrepôt Nord",
        "delivery_address_line1": "4 rue du Quai",
        "delivery_address_line2": "",
        "delivery_postcode": "59000",
        "delivery_city": "Lille",
        "delivery_country_code": "FR",  # the customer's country, when not given
    }
    invoice = Invoice.objects.get()
    assert invoice.already_paid
    assert invoice.delivery_address() == {
        "delivery_name": "Chantier",
        "delivery_address_line1": "2 allée des Tilleuls",
        "delivery_address_line2": "Bâtiment B",
        "delivery_postcode": "51100",
        "delivery_city": "Reims",
        "delivery_country_code": "FR",
    }
    lines = list(invoice.lines.order_by("position", "pk"))
    assert [line.nature for line in lines] == ["goods", "services", "services"]
    assert (lines[2].exemption_code, lines[2].exemption_reason) == (
        "VATEX-FR-CGI261-4",
        "Exonération de TVA, art. 261-4 du CGI",  # the code's usual text
    )
    totals = selectors.invoice_totals(invoice)
    assert totals.due == Decimal("0.00") and totals.prepaid == totals.tax_inclusive > 0


def test_an_invoice_without_delivery_address_gets_its_customers(company, customer, tmp_path):
    where = {"line1": "4 rue du Quai", "postcode": "59000", "city": "Lille"}
    customers = [{"siret": BUYER_SIRET, "delivery_address": where}]

    _import(tmp_path, _data(customers=customers))

    invoice = Invoice.objects.get()
    assert (invoice.delivery_city, invoice.delivery_country_code) == ("Lille", "FR")
    assert not invoice.already_paid
    assert invoice.lines.get().nature == "services"  # the default


def test_an_empty_delivery_object_means_no_delivery_address(company, customer, tmp_path):
    Customer.objects.filter(pk=customer.pk).update(
        delivery_address_line1="4 rue du Quai", delivery_postcode="59000", delivery_city="Lille"
    )

    _import(tmp_path, _data(_invoice(delivery_address={})))

    assert not Invoice.objects.get().has_delivery_address


def test_an_exempt_line_without_code_gets_its_categorys_usual_code(company, customer, tmp_path):
    line = _line(vat_category="K", nature="goods")

    _import(tmp_path, _data(_invoice(lines=[line])))

    row = Invoice.objects.get().lines.get()
    assert (row.exemption_code, row.exemption_reason, row.nature) == (
        "VATEX-EU-IC",
        "Exonération de TVA, art. 262 ter I du CGI",
        "goods",
    )


def test_a_reason_given_is_kept_beside_the_code(company, customer, tmp_path):
    line = _line(
        vat_category="E", exemption_code="VATEX-FR-FRANCHISE", exemption_reason="Art. 293 B"
    )

    _import(tmp_path, _data(_invoice(lines=[line])))

    assert Invoice.objects.get().lines.get().exemption_reason == "Art. 293 B"


# Refusals: a precise French message, nothing imported, no customer changed.


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"nature": "biens"}, "ligne 1, nature : « biens » inconnue (goods ou services)."),
        ({"nature": ["goods"]}, "ligne 1, nature : texte attendu, reçu une liste."),
        ({"nature": True}, "ligne 1, nature : texte attendu, reçu true."),
        (
            {"vat_category": "E", "exemption_code": "VATEX-FR-X"},
            "ligne 1, exemption_code : « VATEX-FR-X » inconnu (VATEX-EU-132, VATEX-EU-AE,",
        ),
        (
            {"vat_category": "E", "exemption_code": {"code": 1}},
            "ligne 1, exemption_code : texte attendu, reçu un objet.",
        ),
        (
            {"vat_category": "E", "exemption_code": "VATEX-EU-IC"},
            "ligne 1, exemption_code : Ce code d'exonération (VATEX-EU-IC) ne correspond pas à "
            "la catégorie de TVA choisie.",
        ),
        (
            {"exemption_code": "VATEX-FR-FRANCHISE"},
            "ligne 1, exemption_code : Un code d'exonération ne va qu'avec une TVA exonérée.",
        ),
        ({"vat_category": "E"}, "ligne 1 : "),  # E has no usual code: a reason is needed
    ],
)
def test_a_bad_nature_or_exemption_code_is_named(company, customer, tmp_path, line, message):
    refused = _refused(tmp_path, _data(_invoice(lines=[_line(**line)])))

    assert f"Facture n°1 (ref EXT-1), {message}" in refused


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"already_paid": "oui"}, "already_paid : true ou false attendu, reçu « oui »."),
        ({"already_paid": 1}, "already_paid : true ou false attendu, reçu « 1 »."),
        ({"already_paid": "true"}, "already_paid : true ou false attendu, reçu « true »."),
        ({"already_paid": [True]}, "already_paid : true ou false attendu, reçu une liste."),
        (
            {"delivery_address": "2 allée des Tilleuls"},
            "delivery_address : objet attendu (name, line1, line2, postcode, city, "
            "country_code), reçu « 2 allée des Tilleuls ».",
        ),
        ({"delivery_address": ["Reims"]}, "delivery_address : objet attendu"),
        (
            {"delivery_address": {"line1": "2 allée des Tilleuls"}},
            "delivery_address : adresse incomplète, postcode, city manquant (line1, postcode "
            "et city sont obligatoires).",
        ),
        (
            {"delivery_address": {"line1": "1 rue", "postcode": "51100", "city": ["Reims"]}},
            "delivery_address, city : texte attendu, reçu une liste.",
        ),
        (
            {"delivery_address": {"street": "1 rue", "postcode": "51100", "city": "Reims"}},
            "delivery_address, street : champ inconnu.",
        ),
        (
            {
                "delivery_address": {
                    "line1": "1 rue",
                    "postcode": "1",
                    "city": "Reims",
                    "country_code": "fr",
                }
            },
            "delivery_address, country_code : « fr » n'est pas un code pays ISO",
        ),  # fmt: skip
        (
            {
                "delivery_address": {
                    "line1": "1 rue",
                    "postcode": "1",
                    "city": "Reims",
                    "country_code": "France",
                }
            },
            "delivery_address, country_code : 6 caractères, 2 au plus.",
        ),  # fmt: skip
    ],
)
def test_a_bad_already_paid_or_delivery_address_is_named(
    company, customer, tmp_path, fields, message
):
    refused = _refused(tmp_path, _data(_invoice(**fields)))

    assert f"Facture n°1 (ref EXT-1), {message}" in refused


def test_a_credit_note_cannot_be_already_paid(company, customer, tmp_path):
    credit = _invoice(ref="AV-1", kind="credit_note", credited_invoice="EXT-1", already_paid=True)

    refused = _refused(tmp_path, _data(_invoice(), credit), "--finalise")

    assert "Facture n°2 (ref AV-1), already_paid : un avoir ne peut pas être marqué" in refused


WHERE = f"Client n°1 (SIRET {BUYER_SIRET})"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"siren": "110006013"},
            f"{WHERE}, siren : « 110006013 » n'est pas un SIREN valide (9 chiffres, clé de "
            "contrôle correcte).",
        ),
        (
            {"siren": "110 006 012"},
            f"{WHERE}, siren : « 110 006 012 » n'est pas un SIREN (9 chiffres, sans espace).",
        ),
        (
            {"siren": SELLER_SIREN},
            f"{WHERE}, siren : Le SIRET doit commencer par le SIREN du client.",
        ),
        ({"siren": ["110006012"]}, f"{WHERE}, siren : texte attendu, reçu une liste."),
        (
            {"electronic_address": "adresse@exemple.fr"},
            f"{WHERE}, electronic_address : Adresse électronique de facturation invalide : "
            "SIREN, SIREN_SIRET",
        ),
        (
            {"electronic_address": SELLER_SIREN},
            f"{WHERE}, electronic_address : L'adresse électronique de facturation doit "
            "commencer par le SIREN du client.",
        ),
        (
            {"electronic_address": 110006012},
            f"{WHERE}, electronic_address : texte attendu, reçu « 110006012 ».",
        ),
        (
            {"delivery_address": {"city": "Lille"}},
            f"{WHERE}, delivery_address : adresse incomplète, line1, postcode manquant",
        ),
        ({"delivery_address": "Lille"}, f"{WHERE}, delivery_address : objet attendu"),
        ({"siret": "12345678901234"}, "aucun client du dossier avec le SIRET 12345678901234."),
        ({"siret": None}, "Client n°1, siret : obligatoire (SIRET du client à compléter)."),
        ({"sirenn": "110006012"}, f"{WHERE}, sirenn : champ inconnu"),
    ],
)
def test_a_bad_customer_value_is_named_and_changes_nothing(
    company, customer, tmp_path, fields, message
):
    entry = {"siret": BUYER_SIRET, "siren": BUYER_SIREN, **fields}

    refused = _refused(tmp_path, _data(customers=[entry]))

    assert message in refused
    customer.refresh_from_db()
    assert (customer.siren, customer.electronic_address, customer.delivery_city) == ("", "", "")


@pytest.mark.parametrize(
    ("customers", "message"),
    [
        ({"siret": BUYER_SIRET}, "customers : liste de clients attendue, reçu un objet."),
        (["11000601200014"], "Client n°1 : objet attendu, reçu « 11000601200014 »."),
        (
            [{"siret": BUYER_SIRET}, {"siret": BUYER_SIRET}],
            f"Client n°2 (SIRET {BUYER_SIRET}), siret : ce client est déjà complété par "
            f"Client n°1 (SIRET {BUYER_SIRET}).",
        ),
    ],
)
def test_a_malformed_customers_list_is_named(company, customer, tmp_path, customers, message):
    assert message in _refused(tmp_path, _data(customers=customers))


def test_a_valid_customer_is_not_changed_when_an_invoice_is_refused(company, customer, tmp_path):
    data = _data(
        _invoice(already_paid="oui"), customers=[{"siret": BUYER_SIRET, "siren": BUYER_SIREN}]
    )

    _refused(tmp_path, data)

    customer.refresh_from_db()
    assert customer.siren == ""
