"""The CII XML (UN/CEFACT D16B, Factur-X 1.0) of an invoice snapshot, built with lxml.

Element order follows the Factur-X XSD. Amounts are the ones of `invoicing.totals`, formatted
only (never recomputed). Where Chorus Pro reads what: reference/chorus-pro-api.md §6.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from facturx_export.snapshot import DeliveryAddress, Flavour, InvoiceSnapshot, Party, Profile
from invoicing import fr_ctc

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": NS_RSM, "qdt": NS_QDT, "ram": NS_RAM, "udt": NS_UDT}

GUIDELINE_ID = {  # BT-24
    Profile.BASIC: "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    Profile.EN16931: "urn:cen.eu:en16931:2017",
    Profile.EXTENDED: "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
}

# BT-121 when the line gave none (VATEX, CEF code list). E has several reasons: none by
# default, but the franchise en base of a franchise seller (Flavour.FR_CTC only: the legacy
# layout keeps its former output).
EXEMPTION_CODES = {category: str(code) for category, code in fr_ctc.DEFAULT_CODES.items()}
FRANCHISE_CODE = str(fr_ctc.ExemptionCode.FRANCHISE)
VAT_ON_DEBITS = "5"  # BT-8, UNTDID 2005: VAT due on the invoice date (« débits »)

SCHEME_SIRET = "0009"  # ISO 6523 ICD: SIRET
SCHEME_SIREN = "0002"  # ISO 6523 ICD: SIRENE
SCHEME_FR_ADDRESS = "0225"  # EAS: French e-invoicing directory (SIREN-based address)
PAYMENT_MEANS_TRANSFER = "30"  # BT-81, UNTDID 4461 credit transfer
PAYMENT_MEANS_SEPA_TRANSFER = "58"
PAYMENT_MEANS_NOT_DEFINED = "1"

FOUR_PLACES = Decimal("0.0001")

_RSM = f"{{{NS_RSM}}}"
_RAM = f"{{{NS_RAM}}}"
_UDT = f"{{{NS_UDT}}}"
_QDT = f"{{{NS_QDT}}}"
_SE = etree.SubElement


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def decimal_text(value: Decimal, min_places: int = 0) -> str:
    """At most 4 decimals (Chorus Pro limit on quantities), no exponent, no useless zeros."""
    text = f"{Decimal(value).quantize(FOUR_PLACES):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if min_places:
        whole, _, frac = text.partition(".")
        text = f"{whole}.{frac.ljust(min_places, '0')}"
    return text


def rate_text(value: Decimal) -> str:
    return f"{value:.2f}"


def date_102(value) -> str:
    return value.strftime("%Y%m%d")


def legal_mention(party: Party) -> str:
    parts = []
    if party.legal_form and party.share_capital:
        capital = Decimal(party.share_capital)
        parts.append(f"{party.legal_form} au capital de {capital:,.2f} €".replace(",", " "))
    elif party.legal_form:
        parts.append(party.legal_form)
    if party.rcs and party.siren:
        parts.append(f"RCS {party.rcs} {party.siren}")
    return " – ".join(parts)


def buyer_treatment(buyer: Party) -> tuple[str, str]:
    """The note (BT-21, BT-22) saying who the buyer is: ADN « B2G » for a public buyer
    (the Chorus Pro rules then apply, and no BAR note), else BAR with B2B (a French
    business, BR-FR-11 then wants its SIREN), B2BINT, B2C or B2CINT (BR-FR-20)."""
    if buyer.public:
        return "ADN", "B2G"
    abroad = (buyer.country_code or "FR") != "FR"
    if buyer.is_individual:
        return "BAR", "B2CINT" if abroad else "B2C"
    return "BAR", "B2BINT" if abroad and not buyer.siren else "B2B"


def notes(snapshot: InvoiceSnapshot) -> list[tuple[str, str]]:
    """BG-1: (subject code BT-21, text BT-22). PMD/PMT/AAB are the French mandatory mentions
    (Code de commerce L441-10, D441-5); BR-FR-05 wants them for every buyer."""
    rate = f"{snapshot.late_penalty_rate:.2f}".replace(".", ",")
    result = []
    if snapshot.note:
        result.append(("AAI", snapshot.note))
    if snapshot.flavour == Flavour.FR_CTC:
        result.append(buyer_treatment(snapshot.buyer))
    result += [
        (
            "PMD",
            f"En cas de retard de paiement, des pénalités de retard sont exigibles au taux "
            f"annuel de {rate} %.",
        ),
        (
            "PMT",
            "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : "
            "40 € (art. D441-5 du Code de commerce).",
        ),
        ("AAB", "Pas d'escompte pour paiement anticipé."),
    ]
    mention = legal_mention(snapshot.seller)
    if mention:
        result.append(("REG", mention))
    return result


def _text(parent, tag: str, value: str, **attrib) -> etree._Element:
    el = _SE(parent, tag, attrib) if attrib else _SE(parent, tag)
    el.text = value
    return el


def _date(parent, tag: str, value, ns=_UDT) -> None:
    wrapper = _SE(parent, tag)
    _text(wrapper, ns + "DateTimeString", date_102(value), format="102")


def _party(parent, tag: str, party: Party, *, seller: bool, snapshot: InvoiceSnapshot):
    el = _SE(parent, tag)
    reform = snapshot.flavour == Flavour.FR_CTC
    if party.siret:  # BT-29 / BT-46
        _text(el, _RAM + "GlobalID", party.siret, schemeID=SCHEME_SIRET)
    _text(el, _RAM + "Name", party.name)
    # BT-30 / BT-47. Chorus Pro reads the SIRET here (§6.2); the 2026 rules want the SIREN.
    legal_id, scheme = "", ""
    if reform:
        legal_id, scheme = party.siren, SCHEME_SIREN
    elif seller:
        legal_id, scheme = party.siret or party.siren, SCHEME_SIREN
    elif party.siret:
        legal_id, scheme = party.siret, SCHEME_SIRET
    if legal_id or (seller and party.trade_name):
        org = _SE(el, _RAM + "SpecifiedLegalOrganization")
        if legal_id:
            _text(org, _RAM + "ID", legal_id, schemeID=scheme)
        if seller and party.trade_name and snapshot.profile != Profile.BASIC:
            _text(org, _RAM + "TradingBusinessName", party.trade_name)
    _address(el, party)
    # BT-34 / BT-49: the directory address (SIREN-based), else the e-mail (an individual,
    # a business abroad: BR-FR-12/13 want one for every buyer and seller).
    directory = (party.electronic_address or party.siren) if reform else party.siren
    if directory:
        uri = _SE(el, _RAM + "URIUniversalCommunication")
        _text(uri, _RAM + "URIID", directory, schemeID=SCHEME_FR_ADDRESS)
    elif party.email:
        uri = _SE(el, _RAM + "URIUniversalCommunication")
        _text(uri, _RAM + "URIID", party.email, schemeID="EM")
    if party.vat_number:  # BT-31 / BT-48
        reg = _SE(el, _RAM + "SpecifiedTaxRegistration")
        _text(reg, _RAM + "ID", party.vat_number, schemeID="VA")
    if seller and party.tax_registration_id:  # BT-32
        reg = _SE(el, _RAM + "SpecifiedTaxRegistration")
        _text(reg, _RAM + "ID", party.tax_registration_id, schemeID="FC")
    return el


def _address(parent, place: Party | DeliveryAddress) -> None:
    """PostalTradeAddress: BG-5 / BG-8 / BG-15."""
    address = _SE(parent, _RAM + "PostalTradeAddress")
    if place.postcode:
        _text(address, _RAM + "PostcodeCode", place.postcode)
    if place.address_line1:
        _text(address, _RAM + "LineOne", place.address_line1)
    if place.address_line2:
        _text(address, _RAM + "LineTwo", place.address_line2)
    if place.city:
        _text(address, _RAM + "CityName", place.city)
    _text(address, _RAM + "CountryID", place.country_code or "FR")


def exemption_code(snapshot: InvoiceSnapshot, category: str, code: str) -> str:
    """BT-121 of a VAT breakdown: the code chosen on its lines, else the category's own."""
    if code:
        return code
    if category in EXEMPTION_CODES:
        return EXEMPTION_CODES[category]
    if category == "E" and snapshot.vat_franchise and snapshot.flavour == Flavour.FR_CTC:
        return FRANCHISE_CODE
    return ""


def _tax(parent, category: str, rate: Decimal) -> None:
    _text(parent, _RAM + "TypeCode", "VAT")
    _text(parent, _RAM + "CategoryCode", category)
    if category != "O":  # BR-O-05: no rate for "not subject to VAT"
        _text(parent, _RAM + "RateApplicablePercent", rate_text(rate))


def build_xml_tree(snapshot: InvoiceSnapshot) -> etree._Element:
    root = etree.Element(_RSM + "CrossIndustryInvoice", nsmap=NSMAP)
    context = _SE(root, _RSM + "ExchangedDocumentContext")
    if snapshot.flavour == Flavour.FR_CTC and snapshot.business_process:
        bp = _SE(context, _RAM + "BusinessProcessSpecifiedDocumentContextParameter")
        _text(bp, _RAM + "ID", snapshot.business_process)  # BT-23
    guideline = _SE(context, _RAM + "GuidelineSpecifiedDocumentContextParameter")
    _text(guideline, _RAM + "ID", GUIDELINE_ID[snapshot.profile])

    document = _SE(root, _RSM + "ExchangedDocument")
    _text(document, _RAM + "ID", snapshot.number)
    _text(document, _RAM + "TypeCode", snapshot.type_code)
    _date(document, _RAM + "IssueDateTime", snapshot.issue_date)
    for code, content in notes(snapshot):
        note = _SE(document, _RAM + "IncludedNote")
        _text(note, _RAM + "Content", content)
        _text(note, _RAM + "SubjectCode", code)

    transaction = _SE(root, _RSM + "SupplyChainTradeTransaction")
    for line in snapshot.lines:
        item = _SE(transaction, _RAM + "IncludedSupplyChainTradeLineItem")
        _text(
            _SE(item, _RAM + "AssociatedDocumentLineDocument"), _RAM + "LineID", str(line.position)
        )
        _text(_SE(item, _RAM + "SpecifiedTradeProduct"), _RAM + "Name", line.label)
        price = _SE(
            _SE(item, _RAM + "SpecifiedLineTradeAgreement"), _RAM + "NetPriceProductTradePrice"
        )
        _text(price, _RAM + "ChargeAmount", decimal_text(line.unit_price, 2))
        delivery = _SE(item, _RAM + "SpecifiedLineTradeDelivery")
        _text(delivery, _RAM + "BilledQuantity", decimal_text(line.quantity), unitCode=line.unit)
        settlement = _SE(item, _RAM + "SpecifiedLineTradeSettlement")
        _tax(_SE(settlement, _RAM + "ApplicableTradeTax"), line.vat_category, line.vat_rate)
        summation = _SE(settlement, _RAM + "SpecifiedTradeSettlementLineMonetarySummation")
        _text(summation, _RAM + "LineTotalAmount", amount(line.net_amount))

    agreement = _SE(transaction, _RAM + "ApplicableHeaderTradeAgreement")
    if snapshot.buyer_reference:
        _text(agreement, _RAM + "BuyerReference", snapshot.buyer_reference)  # BT-10
    _party(agreement, _RAM + "SellerTradeParty", snapshot.seller, seller=True, snapshot=snapshot)
    _party(agreement, _RAM + "BuyerTradeParty", snapshot.buyer, seller=False, snapshot=snapshot)
    if snapshot.order_reference:  # BT-13
        order = _SE(agreement, _RAM + "BuyerOrderReferencedDocument")
        _text(order, _RAM + "IssuerAssignedID", snapshot.order_reference)

    delivery = _SE(transaction, _RAM + "ApplicableHeaderTradeDelivery")
    if snapshot.delivery_address:  # BG-15
        ship_to = _SE(delivery, _RAM + "ShipToTradeParty")
        _text(ship_to, _RAM + "Name", snapshot.delivery_address.name)  # BT-70
        _address(ship_to, snapshot.delivery_address)
    if snapshot.delivery_date:  # BT-72
        event = _SE(delivery, _RAM + "ActualDeliverySupplyChainEvent")
        _date(event, _RAM + "OccurrenceDateTime", snapshot.delivery_date)

    settlement = _SE(transaction, _RAM + "ApplicableHeaderTradeSettlement")
    _text(settlement, _RAM + "InvoiceCurrencyCode", snapshot.currency)
    means = _SE(settlement, _RAM + "SpecifiedTradeSettlementPaymentMeans")  # BG-16, BT-81
    if snapshot.is_credit_note:
        # Always a BT-81, as Chorus Pro wants (fr-2026-data.md §6): the refund by credit
        # transfer, with the seller's account only if it was entered (BR-50 then).
        _text(means, _RAM + "TypeCode", PAYMENT_MEANS_TRANSFER)
        if snapshot.iban:
            account = _SE(means, _RAM + "PayeePartyCreditorFinancialAccount")
            _text(account, _RAM + "IBANID", snapshot.iban.replace(" ", ""))  # BT-84
    elif snapshot.iban:
        _text(means, _RAM + "TypeCode", PAYMENT_MEANS_SEPA_TRANSFER)
        account = _SE(means, _RAM + "PayeePartyCreditorFinancialAccount")
        _text(account, _RAM + "IBANID", snapshot.iban.replace(" ", ""))  # BT-84
        if snapshot.bic and snapshot.profile != Profile.BASIC:
            bank = _SE(means, _RAM + "PayeeSpecifiedCreditorFinancialInstitution")
            _text(bank, _RAM + "BICID", snapshot.bic)  # BT-86
    else:
        _text(means, _RAM + "TypeCode", PAYMENT_MEANS_NOT_DEFINED)
    for entry in snapshot.totals.vat_breakdown:  # BG-23
        tax = _SE(settlement, _RAM + "ApplicableTradeTax")
        _text(tax, _RAM + "CalculatedAmount", amount(entry.tax_amount))
        _text(tax, _RAM + "TypeCode", "VAT")
        if entry.exemption_reason and entry.category != "S":
            _text(tax, _RAM + "ExemptionReason", entry.exemption_reason)  # BT-120
        _text(tax, _RAM + "BasisAmount", amount(entry.taxable_amount))
        _text(tax, _RAM + "CategoryCode", entry.category)
        code = exemption_code(snapshot, entry.category, entry.exemption_code)
        if code and entry.category != "S":
            _text(tax, _RAM + "ExemptionReasonCode", code)  # BT-121
        if snapshot.vat_on_debits:  # BT-8 (excludes BT-7, BR-CO-3; the same in every BG-23)
            _text(tax, _RAM + "DueDateTypeCode", VAT_ON_DEBITS)
        if entry.category != "O":
            _text(tax, _RAM + "RateApplicablePercent", rate_text(entry.rate))
    if snapshot.payment_terms or snapshot.due_date:  # BT-20, BT-9
        terms = _SE(settlement, _RAM + "SpecifiedTradePaymentTerms")
        if snapshot.payment_terms:
            _text(terms, _RAM + "Description", snapshot.payment_terms)
        if snapshot.due_date:
            _date(terms, _RAM + "DueDateDateTime", snapshot.due_date)
    totals = snapshot.totals
    summation = _SE(settlement, _RAM + "SpecifiedTradeSettlementHeaderMonetarySummation")
    _text(summation, _RAM + "LineTotalAmount", amount(totals.line_total))  # BT-106
    _text(summation, _RAM + "TaxBasisTotalAmount", amount(totals.tax_exclusive))  # BT-109
    _text(
        summation, _RAM + "TaxTotalAmount", amount(totals.tax_total), currencyID=snapshot.currency
    )  # BT-110
    _text(summation, _RAM + "GrandTotalAmount", amount(totals.tax_inclusive))  # BT-112
    if totals.prepaid:
        _text(summation, _RAM + "TotalPrepaidAmount", amount(totals.prepaid))  # BT-113
    _text(summation, _RAM + "DuePayableAmount", amount(totals.due))  # BT-115
    if snapshot.preceding_number:  # BG-3: BT-25, BT-26
        ref = _SE(settlement, _RAM + "InvoiceReferencedDocument")
        _text(ref, _RAM + "IssuerAssignedID", snapshot.preceding_number)
        if snapshot.preceding_date:
            _date(ref, _RAM + "FormattedIssueDateTime", snapshot.preceding_date, ns=_QDT)
    return root


def build_xml(snapshot: InvoiceSnapshot) -> bytes:
    """The factur-x.xml bytes (UTF-8, with declaration, indented for human readers)."""
    return etree.tostring(
        build_xml_tree(snapshot), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
