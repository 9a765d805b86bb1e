"""EN 16931 invoice arithmetic, in Decimal, computed once for the screen, the PDF and the XML.

- line net amount (BT-131) = quantity x unit net price, rounded to the cent;
- VAT breakdown (BG-23): per VAT category and rate, taxable amount (BT-116) = sum of the
  line nets, VAT (BT-117) = taxable amount x rate, rounded to the cent (BR-CO-17);
- sum of line nets (BT-106), total excl. VAT (BT-109), VAT total (BT-110, sum of BT-117),
  total incl. VAT (BT-112 = BT-109 + BT-110), amount due (BT-115).
No document-level allowances or charges: BT-109 = BT-106.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class LineLike(Protocol):
    quantity: Decimal
    unit_price: Decimal
    vat_category: str
    vat_rate: Decimal
    exemption_reason: str


@dataclass(frozen=True)
class VatBreakdown:
    category: str  # BT-118
    rate: Decimal  # BT-119
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str  # BT-120
    exemption_code: str = ""  # BT-121


@dataclass(frozen=True)
class Totals:
    line_nets: tuple[Decimal, ...]  # BT-131, in line order
    line_total: Decimal  # BT-106
    tax_exclusive: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    due: Decimal  # BT-115
    vat_breakdown: tuple[VatBreakdown, ...]


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return round_cents(Decimal(quantity) * Decimal(unit_price))


def compute_totals(
    lines: Iterable[LineLike], prepaid: Decimal = Decimal("0.00"), *, already_paid: bool = False
) -> Totals:
    """`already_paid`: the buyer paid everything before the invoice (BT-113 = BT-112)."""
    lines = list(lines)
    nets = tuple(line_net(line.quantity, line.unit_price) for line in lines)
    groups: dict[tuple[str, Decimal], list] = {}
    for line, net in zip(lines, nets, strict=True):
        rate = Decimal(line.vat_rate).quantize(CENT)
        entry = groups.setdefault((line.vat_category, rate), [Decimal("0.00"), "", ""])
        entry[0] += net
        if not entry[1] and line.exemption_reason:
            entry[1] = line.exemption_reason
        if not entry[2]:
            entry[2] = getattr(line, "exemption_code", "") or ""
    breakdown = tuple(
        VatBreakdown(
            category=category,
            rate=rate,
            taxable_amount=round_cents(base),
            tax_amount=round_cents(base * rate / HUNDRED),
            exemption_reason=reason,
            exemption_code=code,
        )
        for (category, rate), (base, reason, code) in sorted(
            groups.items(), key=lambda item: (item[0][0] != "S", -item[0][1], item[0][0])
        )
    )
    line_total = round_cents(sum(nets, Decimal("0.00")))
    tax_total = round_cents(sum((b.tax_amount for b in breakdown), Decimal("0.00")))
    tax_inclusive = line_total + tax_total
    prepaid = tax_inclusive if already_paid else round_cents(prepaid)
    return Totals(
        line_nets=nets,
        line_total=line_total,
        tax_exclusive=line_total,
        tax_total=tax_total,
        tax_inclusive=tax_inclusive,
        prepaid=prepaid,
        due=tax_inclusive - prepaid,
        vat_breakdown=breakdown,
    )
