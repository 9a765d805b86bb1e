"""An invoice read once from the database into frozen values: the only input of the export.

Everything downstream (XML, PDF, checks) works from an `InvoiceSnapshot` and never touches
the ORM. Amounts come from `invoicing.totals.compute_totals`, the single place where
EN 16931 arithmetic is done, so the PDF and the XML show the same numbers as the screen.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field
from decimal import Decimal

from invoicing.totals import Totals, compute_totals

CURRENCY = "EUR"


class Profile(enum.StrEnum):
    """Factur-X profiles we emit (BT-24). Values match Company.FacturxProfile."""

    BASIC = "BASIC"
    EN16931 = "EN 16931"
    EXTENDED = "EXTENDED"


class Flavour(enum.StrEnum):
    """Which French conventions the identifiers follow.

    CHORUS: what Chorus Pro is known to integrate (chorus-pro-api.md §6): seller SIRET in
    BT-30 (scheme 0002, as the OCA connector writes it), buyer SIRET in BT-46/BT-47
    (scheme 0009), no BT-23 (Chorus then assumes framework A1).
    FR_CTC: the French 2026 reform rules (BR-FR): SIREN in BT-30/BT-47 (scheme 0002),
    SIRET in BT-29/BT-46 (scheme 0009), BT-23 with a reform code (B1/S1/M1...).
    """

    CHORUS = "chorus"
    FR_CTC = "fr-ctc"


@dataclass(frozen=True)
class Party:
    name: str  # BT-27 / BT-44
    siret: str = ""  # BT-29 / BT-46 (scheme 0009)
    siren: str = ""  # BT-30 / BT-47
    vat_number: str = ""  # BT-31 / BT-48
    tax_registration_id: str = ""  # BT-32 (seller only)
    trade_name: str = ""  # BT-28
    legal_form: str = ""
    share_capital: str = ""
    rcs: str = ""
    email: str = ""
    phone: str = ""
    address_line1: str = ""  # BT-35 / BT-50
    address_line2: str = ""  # BT-36 / BT-51
    postcode: str = ""  # BT-38 / BT-53
    city: str = ""  # BT-37 / BT-52
    country_code: str = "FR"  # BT-40 / BT-55


@dataclass(frozen=True)
class Line:
    position: int  # BT-126
    label: str  # BT-153
    unit: str  # BT-130 (UN/ECE rec. 20)
    unit_label: str
    quantity: Decimal  # BT-129
    unit_price: Decimal  # BT-146
    vat_category: str  # BT-151
    vat_rate: Decimal  # BT-152
    net_amount: Decimal  # BT-131, from compute_totals


@dataclass(frozen=True)
class InvoiceSnapshot:
    number: str  # BT-1
    is_credit_note: bool  # BT-3: 381 (positive amounts) or 380
    issue_date: datetime.date  # BT-2
    due_date: datetime.date | None  # BT-9
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    totals: Totals
    delivery_date: datetime.date | None = None  # BT-72
    buyer_reference: str = ""  # BT-10, Chorus Pro service code
    order_reference: str = ""  # BT-13, Chorus Pro engagement number
    preceding_number: str = ""  # BT-25
    preceding_date: datetime.date | None = None  # BT-26
    payment_terms: str = ""  # BT-20
    note: str = ""  # BT-22
    iban: str = ""  # BT-84
    bic: str = ""  # BT-86
    late_penalty_rate: Decimal = Decimal("0")
    vat_franchise: bool = False  # art. 293 B CGI
    profile: Profile = Profile.EN16931
    flavour: Flavour = Flavour.CHORUS
    business_process: str = "M1"  # BT-23, only written for Flavour.FR_CTC
    created_at: datetime.datetime | None = None  # document metadata; fixed for a final invoice
    currency: str = CURRENCY
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def type_code(self) -> str:
        return "381" if self.is_credit_note else "380"

    @property
    def title(self) -> str:
        return "Avoir" if self.is_credit_note else "Facture"

    @property
    def exemption_mentions(self) -> tuple[str, ...]:
        seen: list[str] = []
        for entry in self.totals.vat_breakdown:
            if entry.exemption_reason and entry.exemption_reason not in seen:
                seen.append(entry.exemption_reason)
        return tuple(seen)


def _party_from_identity(identity: dict, *, seller: bool) -> Party:
    siret = identity.get("siret", "") or ""
    siren = identity.get("siren", "") or (siret[:9] if len(siret) == 14 else "")
    return Party(
        name=identity.get("name", ""),
        siret=siret,
        siren=siren,
        vat_number=identity.get("vat_number", "") or "",
        tax_registration_id=(identity.get("tax_registration_id", "") or "") if seller else "",
        trade_name=identity.get("trade_name", "") or "",
        legal_form=identity.get("legal_form", "") or "",
        share_capital=identity.get("share_capital", "") or "",
        rcs=identity.get("rcs", "") or "",
        email=identity.get("email", "") or "",
        phone=identity.get("phone", "") or "",
        address_line1=identity.get("address_line1", "") or "",
        address_line2=identity.get("address_line2", "") or "",
        postcode=identity.get("postcode", "") or "",
        city=identity.get("city", "") or "",
        country_code=identity.get("country_code", "") or "FR",
    )


def snapshot_from_invoice(
    invoice, *, profile: Profile | str | None = None, flavour: Flavour | str = Flavour.CHORUS
) -> InvoiceSnapshot:
    """Read an invoice (and its lines) once into an `InvoiceSnapshot`.

    Identities come from the frozen JSON of a final invoice (seller_identity() and
    buyer_identity() fall back to the live rows for a provisional one).
    """
    from invoicing.models import Unit

    lines = list(invoice.lines.all())
    totals = compute_totals(lines)
    unit_labels = dict(Unit.choices)
    seller_identity = invoice.seller_identity()
    seller = _party_from_identity(seller_identity, seller=True)
    buyer = _party_from_identity(invoice.buyer_identity(), seller=False)
    preceding = invoice.credited_invoice if invoice.credited_invoice_id else None
    company = invoice.company
    return InvoiceSnapshot(
        number=invoice.number or "",
        is_credit_note=invoice.is_credit_note,
        issue_date=invoice.issue_date or datetime.date.today(),
        due_date=invoice.due_date,
        delivery_date=invoice.delivery_date,
        seller=seller,
        buyer=buyer,
        lines=tuple(
            Line(
                position=index,
                label=line.label,
                unit=line.unit,
                unit_label=str(unit_labels.get(line.unit, line.unit)),
                quantity=Decimal(line.quantity),
                unit_price=Decimal(line.unit_price),
                vat_category=line.vat_category,
                vat_rate=Decimal(line.vat_rate),
                net_amount=net,
            )
            for index, (line, net) in enumerate(zip(lines, totals.line_nets, strict=True), 1)
        ),
        totals=totals,
        buyer_reference=invoice.buyer_reference,
        order_reference=invoice.order_reference,
        preceding_number=(preceding.number or "") if preceding else "",
        preceding_date=preceding.issue_date if preceding else None,
        payment_terms=invoice.payment_terms,
        note=invoice.note,
        iban=seller_identity.get("iban", "") or "",
        bic=seller_identity.get("bic", "") or "",
        late_penalty_rate=Decimal(seller_identity.get("late_penalty_rate") or "0"),
        vat_franchise=seller_identity.get("vat_regime") == "franchise",
        profile=Profile(profile or company.facturx_profile),
        flavour=Flavour(flavour),
        created_at=invoice.finalised_at,
    )
