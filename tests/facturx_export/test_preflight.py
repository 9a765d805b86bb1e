"""The pre-flight: nothing is numbered before the file it makes is known to pass."""

import datetime
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from invoicing import services
from invoicing.models import Invoice, InvoiceLine, NumberingCounter
from invoicing.preflight import PreflightError
from invoicing.services import LineInput

pytestmark = pytest.mark.django_db


def _line(label="Prestation", quantity="1", price="100"):
    return LineInput(label=label, quantity=Decimal(quantity), unit_price=Decimal(price))


def _sneak_label(invoice, label):
    """A label stored before entry refused it (data from an older version)."""
    InvoiceLine.objects.filter(invoice=invoice).update(label=label)


@pytest.mark.parametrize("char", ["\x01", "\x0b", "\ufffe"])
def test_a_control_character_is_refused_at_entry_and_named(make_invoice, char):
    with pytest.raises(ValidationError) as refused:
        make_invoice(lines=[_line(f"Conseil{char}")])
    assert f"U+{ord(char):04X}" in " ".join(refused.value.messages)


def test_a_character_no_font_draws_is_refused_at_entry_and_named(make_invoice):
    with pytest.raises(ValidationError) as refused:
        make_invoice(lines=[_line("Hiéroglyphe \U00013000")])
    message = " ".join(refused.value.messages)
    assert "U+13000" in message and "police" in message


@pytest.mark.parametrize(
    "label",
    [
        "Ελληνικά",
        "Кириллица",
        "東京の会議",
        "北京咨询服务",
        "خدمات استشارية",
        "שירותי ייעוץ",
        "한국어",
    ],
)
def test_every_script_the_fonts_cover_is_accepted(make_invoice, label):
    assert make_invoice(lines=[_line(label)]).lines.get().label == label


def test_an_invoice_that_breaks_a_rule_is_not_numbered_and_uses_no_number(make_invoice):
    bad = make_invoice()
    _sneak_label(bad, "Conseil\x01")
    with pytest.raises(PreflightError) as refused:
        services.invoice_finalise(invoice_id=bad.pk)
    problem = refused.value.problems[0]
    assert problem.line == 1 and "U+0001" in problem.message
    bad.refresh_from_db()
    assert not bad.is_final and bad.number is None
    assert not NumberingCounter.objects.filter(last_number__gt=0).exists()
    good = services.invoice_finalise(invoice_id=make_invoice().pk)
    assert good.number.endswith("00001")


def test_a_seller_rule_broken_is_found_before_the_number(make_invoice, company):
    company.iban = ""
    company.save()
    invoice = make_invoice()
    problems, _ = services.invoice_check(invoice)
    assert [(p.rule, p.field) for p in problems] == [("CHORALE-03", "company.iban")]
    with pytest.raises(PreflightError):
        services.invoice_finalise(invoice_id=invoice.pk)
    assert not Invoice.objects.get(pk=invoice.pk).is_final


def test_a_clean_invoice_has_no_problem_and_its_check_is_fast_enough(make_invoice):
    invoice = make_invoice(lines=[_line(f"Ligne {n}") for n in range(10)])
    services.invoice_check(invoice)  # warms the rules up
    started = time.perf_counter()
    problems, fingerprint = services.invoice_check(invoice)
    assert problems == [] and len(fingerprint) == 64
    assert time.perf_counter() - started < 5  # the real figure is in docs/benchmarks.md


def test_a_fingerprint_checked_earlier_does_not_cover_a_change_made_since(make_invoice):
    invoice = make_invoice()
    problems, fingerprint = services.invoice_check(invoice)
    assert problems == []
    _sneak_label(invoice, "Conseil\x01")
    with pytest.raises(PreflightError):
        services.invoice_finalise(invoice_id=invoice.pk, checked_fingerprint=fingerprint)
    assert not Invoice.objects.get(pk=invoice.pk).is_final


def test_the_fingerprint_ignores_the_number_and_dates_only(make_invoice):
    invoice = make_invoice()
    _, before = services.invoice_check(invoice)
    services.invoice_finalise(invoice_id=make_invoice().pk)  # the next number changes
    assert services.invoice_check(invoice)[1] == before
    invoice.note = "Autre note"
    invoice.save()
    assert services.invoice_check(invoice)[1] != before


def test_an_issue_date_after_today_is_refused(make_invoice):
    invoice = make_invoice()
    with pytest.raises(ValidationError) as refused:
        services.invoice_finalise(
            invoice_id=invoice.pk, issue_date=datetime.date.today() + datetime.timedelta(days=2)
        )
    assert "postérieure à aujourd'hui" in " ".join(refused.value.messages)
    assert not Invoice.objects.get(pk=invoice.pk).is_final


# --- The French 2026 rules (BR-FR) in the pre-flight -----------------------------------


def _problems(invoice) -> set[tuple[str, str]]:
    problems, _fingerprint = services.invoice_check(invoice)
    return {(problem.rule, problem.field) for problem in problems}


def test_a_french_business_buyer_without_siren_is_refused_pointing_at_its_siren(
    make_invoice, dossier
):
    from tests.factories import CustomerFactory

    buyer = CustomerFactory(dossier=dossier, chorus_enabled=False, siret="")
    invoice = make_invoice(customer=buyer)
    problems, _ = services.invoice_check(invoice)
    french = {(p.rule, p.field) for p in problems if p.rule.startswith("BR-FR")}
    assert french == {(rule, "customer.siren") for rule in ("BR-FR-11", "BR-FR-12", "BR-FR-21")}
    assert any("SIREN" in p.message and "client" in p.message for p in problems)
    with pytest.raises(PreflightError):
        services.invoice_finalise(invoice_id=invoice.pk)
    assert not Invoice.objects.get(pk=invoice.pk).is_final


def test_an_individual_without_e_mail_is_refused_pointing_at_the_e_mail(make_invoice, dossier):
    from invoicing.models import Customer
    from tests.factories import CustomerFactory

    buyer = CustomerFactory(
        dossier=dossier, kind=Customer.Kind.INDIVIDUAL, chorus_enabled=False, siret="", email=""
    )
    problems, _ = services.invoice_check(make_invoice(customer=buyer))
    assert [(p.rule, p.field) for p in problems] == [("BR-FR-12", "customer.email")]
    assert "son e-mail" in problems[0].message
    buyer.email = "jeanne@example.fr"
    buyer.save()
    assert _problems(make_invoice(customer=buyer)) == set()


def test_a_legacy_layout_company_is_not_held_to_the_french_rules(make_invoice, company, dossier):
    from tests.factories import CustomerFactory

    buyer = CustomerFactory(dossier=dossier, chorus_enabled=False, siret="")
    assert ("BR-FR-11", "customer.siren") in _problems(make_invoice(customer=buyer))
    company.chorus_legacy_layout = True
    company.save()
    assert not {rule for rule, _field in _problems(make_invoice(customer=buyer))} & {
        "BR-FR-11",
        "BR-FR-12",
    }


def test_a_bad_character_in_the_delivery_address_names_its_field(make_invoice):
    invoice = make_invoice(
        delivery_address={
            "delivery_address_line1": "1 rue du Port",
            "delivery_postcode": "13002",
            "delivery_city": "Marseille",
        }
    )
    Invoice.objects.filter(pk=invoice.pk).update(delivery_city="Marseille\x01")
    invoice.refresh_from_db()
    problems, _ = services.invoice_check(invoice)
    assert {(p.rule, p.field) for p in problems} == {("CHORALE-10", "delivery_city")}
    assert "Adresse de livraison, ville : caractère(s) de contrôle" in problems[0].message
