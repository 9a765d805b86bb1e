"""EN 16931 arithmetic: worked examples computed by hand, and properties over random invoices."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing import services
from invoicing.totals import Totals, compute_totals

D = Decimal


@dataclass
class Line:
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal = D("20.00")
    vat_category: str = "S"
    exemption_reason: str = ""


def breakdown(totals: Totals) -> dict[tuple[str, Decimal], tuple[Decimal, Decimal, str]]:
    return {
        (b.category, b.rate): (b.taxable_amount, b.tax_amount, b.exemption_reason)
        for b in totals.vat_breakdown
    }


def amounts(totals: Totals) -> list[Decimal]:
    return [
        *totals.line_nets,
        totals.line_total,
        totals.tax_exclusive,
        totals.tax_total,
        totals.tax_inclusive,
        totals.prepaid,
        totals.due,
        *(b.taxable_amount for b in totals.vat_breakdown),
        *(b.tax_amount for b in totals.vat_breakdown),
    ]


def assert_two_decimals(totals: Totals) -> None:
    for amount in amounts(totals):
        assert isinstance(amount, Decimal)
        assert amount.as_tuple().exponent == -2, amount


# Worked examples (computed by hand).


def test_mixed_rates_20_10_and_5_5_percent():
    totals = compute_totals(
        [
            Line(D("3"), D("33.3333")),  # 99.9999 -> 100.00
            Line(D("1.5"), D("12.99"), D("10.00")),  # 19.485 -> 19.49 (half-up)
            Line(D("7"), D("2.35"), D("5.50")),  # 16.45
            Line(D("2"), D("0.125")),  # 0.25
        ]
    )

    assert totals.line_nets == (D("100.00"), D("19.49"), D("16.45"), D("0.25"))
    assert breakdown(totals) == {
        ("S", D("20.00")): (D("100.25"), D("20.05"), ""),  # 100.25 x 20 % = 20.05
        ("S", D("10.00")): (D("19.49"), D("1.95"), ""),  # 1.949 -> 1.95
        ("S", D("5.50")): (D("16.45"), D("0.90"), ""),  # 0.90475 -> 0.90
    }
    assert [b.rate for b in totals.vat_breakdown] == [D("20.00"), D("10.00"), D("5.50")]
    assert totals.line_total == totals.tax_exclusive == D("136.19")
    assert totals.tax_total == D("22.90")
    assert totals.tax_inclusive == totals.due == D("159.09")
    assert_two_decimals(totals)


def test_vat_is_rounded_once_per_rate_group_not_per_line():
    # Per line: 0.13 x 20 % = 0.026 -> 0.03, three times 0.09. Per group: 0.39 x 20 % = 0.078.
    totals = compute_totals([Line(D("1"), D("0.13"))] * 3)

    assert breakdown(totals) == {("S", D("20.00")): (D("0.39"), D("0.08"), "")}
    assert totals.tax_total == D("0.08")
    assert totals.tax_inclusive == D("0.47")


def test_rounding_is_half_up_on_line_amounts_and_on_vat():
    # 0.125 -> 0.13 (half-even would give 0.12); 0.25 x 10 % = 0.025 -> 0.03.
    totals = compute_totals([Line(D("1"), D("0.125")), Line(D("1"), D("0.25"), D("10.00"))])

    assert totals.line_nets == (D("0.13"), D("0.25"))
    assert breakdown(totals)[("S", D("10.00"))][1] == D("0.03")
    assert breakdown(totals)[("S", D("20.00"))][1] == D("0.03")  # 0.026 -> 0.03


def test_quantities_and_unit_prices_with_four_decimals():
    totals = compute_totals(
        [
            Line(D("1.2345"), D("99.99")),  # 123.437655 -> 123.44
            Line(D("3"), D("0.3333")),  # 0.9999 -> 1.00
            Line(D("0.0001"), D("49.9999")),  # 0.00499999 -> 0.00
            Line(D("2.5005"), D("1.0001")),  # 2.50075005 -> 2.50
        ]
    )

    assert totals.line_nets == (D("123.44"), D("1.00"), D("0.00"), D("2.50"))
    assert totals.line_total == D("126.94")
    assert totals.tax_total == D("25.39")  # 25.388 -> 25.39
    assert totals.tax_inclusive == D("152.33")
    assert_two_decimals(totals)


def test_exempt_and_reverse_charge_groups_carry_their_reason_and_no_vat():
    exempt = "Exonération de TVA, article 261 C du CGI"
    totals = compute_totals(
        [
            Line(D("1"), D("100")),
            Line(D("2"), D("250"), D("0"), "E", exempt),
            Line(D("1"), D("1200"), D("0"), "AE", "Autoliquidation"),
            Line(D("1"), D("0.5"), D("0"), "E", ""),  # joins the E group, keeps its reason
        ]
    )

    assert breakdown(totals) == {
        ("S", D("20.00")): (D("100.00"), D("20.00"), ""),
        ("E", D("0.00")): (D("500.50"), D("0.00"), exempt),
        ("AE", D("0.00")): (D("1200.00"), D("0.00"), "Autoliquidation"),
    }
    assert totals.vat_breakdown[0].category == "S"  # standard rate first
    assert totals.tax_exclusive == D("1800.50")
    assert totals.tax_total == D("20.00")
    assert totals.tax_inclusive == D("1820.50")
    assert_two_decimals(totals)


def test_amounts_in_the_millions_stay_exact():
    totals = compute_totals(
        [
            Line(D("12"), D("123456.7891")),  # 1481481.4692 -> 1481481.47
            Line(D("1"), D("2500000.00"), D("5.50")),
        ]
    )

    assert breakdown(totals) == {
        ("S", D("20.00")): (D("1481481.47"), D("296296.29"), ""),  # 296296.294
        ("S", D("5.50")): (D("2500000.00"), D("137500.00"), ""),
    }
    assert totals.tax_exclusive == D("3981481.47")
    assert totals.tax_total == D("433796.29")
    assert totals.tax_inclusive == D("4415277.76")


def test_a_prepaid_amount_reduces_the_amount_due():
    totals = compute_totals([Line(D("1"), D("100"))], prepaid=D("30"))

    assert (totals.tax_inclusive, totals.prepaid, totals.due) == (
        D("120.00"),
        D("30.00"),
        D("90.00"),
    )
    assert_two_decimals(totals)


def test_totals_of_stored_invoice_lines(make_invoice):
    invoice = make_invoice(
        lines=[
            services.LineInput(
                label="Conseil", quantity=D("1.5"), unit_price=D("12.99"), vat_rate=D("10")
            ),
            services.LineInput(label="Forfait", quantity=D("3"), unit_price=D("33.3333")),
        ]
    )

    totals = compute_totals(invoice.lines.all())

    assert totals.line_nets == (D("19.49"), D("100.00"))
    assert totals.tax_inclusive == D("141.44")  # 119.49 + 1.95 + 20.00
    assert_two_decimals(totals)


# Properties.

VAT_GROUPS = [
    ("S", D("20.00"), ""),
    ("S", D("10.00"), ""),
    ("S", D("5.50"), ""),
    ("S", D("2.10"), ""),
    ("Z", D("0.00"), ""),
    ("E", D("0.00"), "Exonération, article 261 du CGI"),
    ("AE", D("0.00"), "Autoliquidation"),
]

quantities = st.decimals(
    min_value=D("-9999.9999"), max_value=D("99999.9999"), places=4, allow_nan=False
).filter(lambda q: q != 0)
unit_prices = st.decimals(min_value=D("0"), max_value=D("999999.9999"), places=4, allow_nan=False)
lines_strategy = st.lists(
    st.builds(
        lambda q, p, vat: Line(q, p, vat[1], vat[0], vat[2]),
        quantities,
        unit_prices,
        st.sampled_from(VAT_GROUPS),
    ),
    min_size=1,
    max_size=30,
)


def half_up(value: Fraction) -> Decimal:
    """Round an exact rational to the cent, half away from zero (the oracle)."""
    return (D(value.numerator) / D(value.denominator)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@settings(max_examples=300, deadline=None)
@given(lines_strategy)
def test_line_nets_sum_to_the_total_of_lines(lines):
    totals = compute_totals(lines)

    assert sum(totals.line_nets, D("0")) == totals.line_total == totals.tax_exclusive


@settings(max_examples=300, deadline=None)
@given(lines_strategy)
def test_vat_breakdown_sums_to_the_net_and_vat_totals(lines):
    totals = compute_totals(lines)

    assert sum((b.taxable_amount for b in totals.vat_breakdown), D("0")) == totals.tax_exclusive
    assert sum((b.tax_amount for b in totals.vat_breakdown), D("0")) == totals.tax_total


@settings(max_examples=300, deadline=None)
@given(lines_strategy, st.decimals(min_value=D("0"), max_value=D("1000"), places=2))
def test_grand_total_is_net_plus_vat_and_every_amount_has_two_decimals(lines, prepaid):
    totals = compute_totals(lines, prepaid=prepaid)

    assert totals.tax_inclusive == totals.tax_exclusive + totals.tax_total
    assert totals.due == totals.tax_inclusive - totals.prepaid
    assert_two_decimals(totals)


@settings(max_examples=300, deadline=None)
@given(lines_strategy)
def test_each_group_vat_is_its_exactly_rounded_base_times_rate(lines):
    totals = compute_totals(lines)

    groups = {(line.vat_category, line.vat_rate) for line in lines}
    assert {(b.category, b.rate) for b in totals.vat_breakdown} == groups
    for group in totals.vat_breakdown:
        members = [
            line
            for line in lines
            if (line.vat_category, line.vat_rate) == (group.category, group.rate)
        ]
        base = sum(
            (half_up(Fraction(line.quantity) * Fraction(line.unit_price)) for line in members),
            D("0"),
        )
        assert group.taxable_amount == base
        assert group.tax_amount == half_up(Fraction(base) * Fraction(group.rate) / 100)
        if group.category in {"E", "AE"}:
            assert group.exemption_reason


@pytest.mark.parametrize("rate", [D("20"), D("20.0"), D("20.00")])
def test_rates_written_differently_fall_in_one_group(rate):
    totals = compute_totals([Line(D("1"), D("10"), rate), Line(D("1"), D("10"), D("20.00"))])

    assert breakdown(totals) == {("S", D("20.00")): (D("20.00"), D("4.00"), "")}
