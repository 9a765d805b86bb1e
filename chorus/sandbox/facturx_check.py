"""Reading deposited files the way Chorus Pro does (§8.9 steps 1-2): unpack archives, find the
`factur-x.xml` embedded in the PDF, and read the CII data the business checks need.

Two layouts of the party identifiers are read (README, "What the sandbox reads"):
- French 2026 CTC (BR-FR): SIRET in `GlobalID[@schemeID='0009']` (BT-29 / BT-46), SIREN in
  `SpecifiedLegalOrganization/ID[@schemeID='0002']` (BT-30 / BT-47);
- legacy Chorus Pro: the SIRET in `SpecifiedLegalOrganization/ID` (scheme 0002 or 0009), no
  GlobalID.

Messages imitate the real style ("L'element ... est obligatoire."); their exact texts beyond the
PaymentMeans one (§4.4, confirmed) are invented.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pikepdf
from lxml import etree

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EMBEDDED_NAMES = ("factur-x.xml", "factur-x.XML", "zugferd-invoice.xml")
SCHEME_SIRET = "0009"
SCHEME_SIREN = "0002"

# BT-23 ("cadre de facturation"): Chorus Pro's A1..A25, and the 2026 reform codes (BR-FR-08).
LEGACY_FRAMES = frozenset(f"A{n}" for n in range(1, 26))
REFORM_FRAMES = frozenset("B1 S1 M1 B2 S2 M2 S3 B4 S4 M4 S5 S6 B7 S7 B8 S8 M8 B9 S9 M9".split())
ALREADY_PAID_FRAMES = frozenset({"A2", "B2", "S2", "M2"})  # the amount due must be 0


class FileError(Exception):
    """A technical error that makes one file unreadable (a `listeErreurTechnique` entry)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CiiInvoice:
    number: str
    type_code: str
    issue_date: str  # YYYY-MM-DD or ""
    business_process: str
    seller_siret: str  # GlobalID@0009, else the legacy SpecifiedLegalOrganization/ID
    buyer_siret: str
    buyer_reference: str  # BT-10, the service code
    order_reference: str  # BT-13, the engagement number
    contract_reference: str  # BT-12
    currency: str
    payment_means_codes: tuple[str, ...]
    iban: str
    total_ht: Decimal | None
    total_tax: Decimal | None
    total_ttc: Decimal | None
    amount_due: Decimal | None
    has_negative_amount: bool
    seller_siren: str = ""  # SpecifiedLegalOrganization/ID, 9 digits (BT-30)
    buyer_siren: str = ""  # BT-47


def unpack(file_name: str, content: bytes) -> list[tuple[str, bytes]]:
    """One (name, bytes) per invoice: archives are unpacked, any other file is one invoice."""
    lower = file_name.lower()
    try:
        if lower.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                members = [
                    (i.filename, archive.read(i)) for i in archive.infolist() if not i.is_dir()
                ]
        elif lower.endswith((".tar.gz", ".tgz")) or content[:2] == b"\x1f\x8b":
            raw = gzip.decompress(content)
            if lower.endswith((".tar.gz", ".tgz")) or tarfile.is_tarfile(io.BytesIO(raw)):
                with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
                    members = []
                    for member in archive.getmembers():
                        if member.isfile():
                            handle = archive.extractfile(member)
                            members.append((member.name, handle.read() if handle else b""))
            else:
                members = [(file_name.removesuffix(".gz"), raw)]
        else:
            members = [(file_name, content)]
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise FileError("FICHIER_ILLISIBLE", "Fichier illisible") from exc
    if not members:
        raise FileError("FICHIER_ILLISIBLE", "Fichier illisible")
    return members


def extract_facturx_xml(content: bytes) -> bytes:
    """The embedded `factur-x.xml` of a Factur-X PDF, or FileError."""
    if not content.startswith(b"%PDF-"):
        raise FileError("FORMAT_INVALIDE", "Le fichier n'est pas un PDF (Factur-X attendu).")
    try:
        with pikepdf.open(io.BytesIO(content)) as pdf:
            attachments = pdf.attachments
            for name in EMBEDDED_NAMES:
                if name in attachments:
                    return attachments[name].get_file().read_bytes()
    except pikepdf.PdfError as exc:
        raise FileError("FICHIER_ILLISIBLE", "Fichier illisible") from exc
    raise FileError(
        "FACTURX_XML_ABSENT",
        "Le fichier PDF ne contient pas de fichier factur-x.xml : ce n'est pas une Factur-X.",
    )


def parse_cii(xml: bytes) -> CiiInvoice:
    """The CII data Chorus reads (§6.2), or FileError when the XML is not CII."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise FileError("XML_INVALIDE", "Le fichier factur-x.xml n'est pas un XML valide.") from exc
    qname = etree.QName(root)
    if qname.localname != "CrossIndustryInvoice" or qname.namespace != NS["rsm"]:
        raise FileError("XML_INVALIDE", "Le fichier factur-x.xml n'est pas une facture CII.")

    def text(path: str) -> str:
        found = root.xpath(f"string({path})", namespaces=NS)
        return str(found).strip()

    ta = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    st = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    summation = f"{st}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    raw_date = text("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    issue_date = (
        f"{raw_date[:4]}-{raw_date[4:6]}-{raw_date[6:8]}" if len(raw_date) == 8 else raw_date
    )
    amounts = [_decimal(str(value)) for value in root.xpath(f"{summation}/*/text()", namespaces=NS)]
    seller_siret, seller_siren = _party_ids(root, f"{ta}/ram:SellerTradeParty")
    buyer_siret, buyer_siren = _party_ids(root, f"{ta}/ram:BuyerTradeParty")
    return CiiInvoice(
        number=text("rsm:ExchangedDocument/ram:ID"),
        type_code=text("rsm:ExchangedDocument/ram:TypeCode"),
        issue_date=issue_date,
        business_process=text(
            "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
        ),
        seller_siret=seller_siret,
        buyer_siret=buyer_siret,
        buyer_reference=text(f"{ta}/ram:BuyerReference"),
        order_reference=text(f"{ta}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
        contract_reference=text(f"{ta}/ram:ContractReferencedDocument/ram:IssuerAssignedID"),
        currency=text(f"{st}/ram:InvoiceCurrencyCode"),
        payment_means_codes=tuple(
            str(code).strip()
            for code in root.xpath(
                f"{st}/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()",
                namespaces=NS,
            )
            if str(code).strip()
        ),
        iban=text(
            f"{st}/ram:SpecifiedTradeSettlementPaymentMeans/"
            "ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
        ),
        total_ht=_decimal(text(f"{summation}/ram:TaxBasisTotalAmount")),
        total_tax=_decimal(text(f"{summation}/ram:TaxTotalAmount")),
        total_ttc=_decimal(text(f"{summation}/ram:GrandTotalAmount")),
        amount_due=_decimal(text(f"{summation}/ram:DuePayableAmount")),
        has_negative_amount=any(a is not None and a < 0 for a in amounts),
        seller_siren=seller_siren,
        buyer_siren=buyer_siren,
    )


def _party_ids(root: etree._Element, party: str) -> tuple[str, str]:
    """(SIRET, SIREN) of a trade party. The SIRET is the first `GlobalID@0009` (2026 layout);
    without one, the `SpecifiedLegalOrganization/ID` unless it is a 9-digit SIREN (legacy
    layout: Chorus Pro reads the SIRET there, whatever its scheme). The SIREN is a 9-digit
    `SpecifiedLegalOrganization/ID` under scheme 0002 (or without a scheme)."""
    global_ids = root.xpath(f"{party}/ram:GlobalID[@schemeID='{SCHEME_SIRET}']", namespaces=NS)
    siret = next((v for v in ((e.text or "").strip() for e in global_ids) if v), "")
    legal = root.xpath(f"{party}/ram:SpecifiedLegalOrganization/ram:ID", namespaces=NS)
    legal_id = (legal[0].text or "").strip() if legal else ""
    scheme = legal[0].get("schemeID", "") if legal else ""
    is_siren = len(legal_id) == 9 and legal_id.isdigit() and scheme in {SCHEME_SIREN, ""}
    if not siret and not is_siren:
        siret = legal_id
    return siret, legal_id if is_siren else ""


def party_id_errors(cii: CiiInvoice) -> list[str]:
    """BR-FR-09: a SIRET given next to a SIREN starts with that SIREN (invented texts)."""
    errors = []
    for role, tag, siret, siren in (
        ("fournisseur", "SellerTradeParty", cii.seller_siret, cii.seller_siren),
        ("destinataire", "BuyerTradeParty", cii.buyer_siret, cii.buyer_siren),
    ):
        if siret and siren and not siret.startswith(siren):
            errors.append(
                f"Le SIRET {role} {siret} (balise : {tag}.GlobalID.value) ne commence pas par "
                f"le SIREN {siren} (balise : {tag}.SpecifiedLegalOrganization.ID.value)."
            )
    return errors


def business_process_errors(cii: CiiInvoice) -> list[str]:
    """BT-23: absent (A1), A1..A25 or a 2026 reform code; x2 ("already paid") wants 0 due."""
    frame = cii.business_process
    if not frame:
        return []
    if frame not in LEGACY_FRAMES | REFORM_FRAMES:
        return [
            f"Le cadre de facturation {frame} (balise : "
            "BusinessProcessSpecifiedDocumentContextParameter.ID.value) n'est pas valide."
        ]
    if frame in ALREADY_PAID_FRAMES and (cii.amount_due is None or cii.amount_due != 0):
        due = "absent" if cii.amount_due is None else f"de {cii.amount_due}"
        return [
            f"Le cadre de facturation {frame} (balise : "
            "BusinessProcessSpecifiedDocumentContextParameter.ID.value) est reserve aux factures "
            "deja payees : le montant net a payer (balise : SpecifiedTradeSettlementHeader"
            f"MonetarySummation.DuePayableAmount.value) doit etre 0, il est {due}."
        ]
    return []


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None
