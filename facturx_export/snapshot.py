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

from invoicing import fr_ctc
from invoicing.totals import Totals, compute_totals

CURRENCY = "EUR"


class Profile(enum.StrEnum):
    """Factur-X profiles we emit (BT-24). Values match Company.FacturxProfile."""

    BASIC = "BASIC"
    EN16931 = "EN 16931"
    EXTENDED = "EXTENDED"


class Flavour(enum.StrEnum):
    """Which French conventions the identifiers follow.

    FR_CTC, the default: the French 2026 reform rules (BR-FR), for every buyer, public ones
    included: SIREN in BT-30/BT-47 (scheme 0002), SIRET in BT-29/BT-46 (scheme 0009), the
    directory address in BT-34/BT-49 (scheme 0225), BT-23 (B1/S1/M1...), the BAR note, or
    the ADN « B2G » note for a public buyer.
    CHORUS, the legacy layout a company may opt into (Company.chorus_legacy_layout): what
    Chorus Pro integrated before the reform (chorus-pro-api.md §6): seller SIRET in BT-30
    (scheme 0002, as the OCA connector writes it), buyer SIRET in BT-46/BT-47 (scheme
    0009), the SIREN as BT-34/BT-49, no BT-23 (Chorus then assumes framework A1), no
    BAR/ADN note. It fails BR-FR-08/09/10/32 by design. The plain EN 16931 mentions
    (delivery address, BT-8, exemption codes chosen on the lines) are in both.
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
    electronic_address: str = ""  # BT-34 / BT-49 (scheme 0225), the directory address
    kind: str = ""  # buyer: Customer.Kind (individual, company, sole_proprietorship)
    public: bool = False  # buyer: a public entity, reached through Chorus Pro (B2G)

    @property
    def is_individual(self) -> bool:
        return self.kind == "individual"


@dataclass(frozen=True)
class DeliveryAddress:
    """BG-15, where the goods go or the service is done, when not the buyer's address."""

    name: str  # BT-70
    address_line1: str  # BT-75
    address_line2: str  # BT-76
    postcode: str  # BT-78
    city: str  # BT-77
    country_code: str  # BT-80


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
    nature: str = fr_ctc.Nature.SERVICES  # goods or services: BT-23's letter


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
    delivery_address: DeliveryAddress | None = None  # BG-15
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
    vat_on_debits: bool = False  # the seller's option, BT-8 = 5
    already_paid: bool = False  # BT-23 x2: BT-113 = BT-112, nothing due
    profile: Profile = Profile.EN16931
    flavour: Flavour = Flavour.FR_CTC
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
    def category(self) -> str:
        """B, S or M: the category of the operation (a mention since 1 Sept 2026)."""
        return fr_ctc.operation_category(line.nature for line in self.lines)

    @property
    def category_label(self) -> str:
        return str(fr_ctc.CATEGORY_LABELS[self.category])

    @property
    def business_process(self) -> str:
        """BT-23, only written for Flavour.FR_CTC."""
        return fr_ctc.billing_frame(
            (line.nature for line in self.lines), already_paid=self.already_paid
        )

    @property
    def exemption_mentions(self) -> tuple[str, ...]:
        seen: list[str] = []
        for entry in self.totals.vat_breakdown:
            if entry.exemption_reason and entry.exemption_reason not in seen:
                seen.append(entry.exemption_reason)
        return tuple(seen)


def _party_from_identity(identity: dict, *, seller: bool, public: bool = False) -> Party:
    """Identities frozen before the 2026 keys existed get them derived as finalisation
    would have: the SIREN from the SIRET, the directory address from the SIREN."""
    siret = identity.get("siret", "") or ""
    siren = identity.get("siren", "") or fr_ctc.siren_of(siret)
    address = identity.get("electronic_address", "") or fr_ctc.default_electronic_address(
        siren, siret, public=public
    )
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
        electronic_address=address,
        kind="" if seller else identity.get("kind", "") or "",
        public=public,
    )


def _delivery_address(invoice, buyer: Party) -> DeliveryAddress | None:
    if not invoice.has_delivery_address:
        return None
    return DeliveryAddress(
        name=invoice.delivery_name or buyer.name,
        address_line1=invoice.delivery_address_line1,
        address_line2=invoice.delivery_address_line2,
        postcode=invoice.delivery_postcode,
        city=invoice.delivery_city,
        country_code=invoice.delivery_country_code or buyer.country_code,
    )


def snapshot_from_invoice(
    invoice, *, profile: Profile | str | None = None, flavour: Flavour | str | None = None
) -> InvoiceSnapshot:
    """Read an invoice (and its lines) once into an `InvoiceSnapshot`.

    Identities come from the frozen JSON of a final invoice (seller_identity() and
    buyer_identity() fall back to the live rows for a provisional one). The flavour is the
    seller's (Flavour.CHORUS only for the legacy layout option); `flavour` overrides it.
    """
    from invoicing.models import Unit

    lines = list(invoice.lines.all())
    totals = compute_totals(lines, already_paid=invoice.already_paid)
    unit_labels = dict(Unit.choices)
    seller_identity = invoice.seller_identity()
    buyer_identity = invoice.buyer_identity()
    seller = _party_from_identity(seller_identity, seller=True)
    public = buyer_identity.get("public")
    if public is None:  # frozen before the key existed
        public = invoice.customer.chorus_enabled
    buyer = _party_from_identity(buyer_identity, seller=False, public=bool(public))
    if flavour is None:
        legacy = seller_identity.get("chorus_legacy_layout")
        flavour = Flavour.CHORUS if legacy else Flavour.FR_CTC
    preceding = invoice.credited_invoice if invoice.credited_invoice_id else None
    company = invoice.company
    return InvoiceSnapshot(
        number=invoice.number or "",
        is_credit_note=invoice.is_credit_note,
        issue_date=invoice.issue_date or datetime.date.today(),
        due_date=invoice.due_date,
        delivery_date=invoice.delivery_date,
        delivery_address=_delivery_address(invoice, buyer),
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
                nature=line.nature,
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
        vat_on_debits=bool(seller_identity.get("vat_on_debits")),
        already_paid=invoice.already_paid,
        profile=Profile(profile or company.facturx_profile),
        flavour=Flavour(flavour),
        created_at=invoice.finalised_at,
    )
