"""Helpers for tests (of any issue) that need a running Chorus Pro sandbox.

    with run_sandbox() as sandbox:
        client = ChorusClient(sandbox.client_settings())
        sandbox.platform_state("unavailable")      # every call now gets 503
        sandbox.stats()["deposits_by_invoice_number"]

`make_facturx_pdf()` builds a small Factur-X PDF (CII XML embedded as factur-x.xml) that the
sandbox accepts, with switches to break each rule Chorus Pro checks, in the French 2026 CTC
layout (default, `layout="fr-ctc"`) or the legacy Chorus Pro one (`layout="legacy"`).
"""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pikepdf

from chorus.sandbox import seed
from chorus.sandbox.server import TOKEN_PATH, SandboxServer, create_server
from chorus.sandbox.state import SandboxConfig


class SandboxControlError(Exception):
    pass


@dataclass
class SandboxHandle:
    """A running sandbox: its URLs, its seed and typed shortcuts to the `/_sim` control API."""

    server: SandboxServer
    seed: dict[str, Any]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_base_url(self) -> str:
        return self.server.base_url

    @property
    def token_url(self) -> str:
        return f"{self.server.base_url}{TOKEN_PATH}"

    @property
    def piste_client(self) -> dict[str, str]:
        return self.seed["piste_client"]

    def account(self, scenario: str = "ok") -> dict[str, str]:
        """The seeded technical account of a scenario (ok, ok_non_ascii_password,
        ldap_auth_failure, gp_not_found, recently_created, password_expired)."""
        return next(a for a in self.seed["technical_accounts"] if a["scenario"] == scenario)

    def structure(self, requires: str) -> dict[str, Any]:
        """The seeded public structure requiring none | service | engagement |
        service_and_engagement | service_or_engagement, or the inactive one ("inactive")."""
        return next(
            s
            for s in self.seed["structures"]
            if s["requires"] == requires and s["type"] == "PUBLIQUE"
        )

    def client_settings(self, scenario: str = "ok", **overrides: Any) -> Any:
        """`ChorusSettings` for the seeded PISTE client and the account of `scenario`, with
        fast retries (override anything, e.g. password=..., max_retries=0)."""
        from chorus.client import ChorusSettings

        account = self.account(scenario)
        values: dict[str, Any] = {
            "api_base_url": self.api_base_url,
            "token_url": self.token_url,
            "client_id": self.piste_client["client_id"],
            "client_secret": self.piste_client["client_secret"],
            "login": account["login"],
            "password": account["password"],
            "timeout": (2.0, 5.0),
            "max_retries": 2,
            "retry_backoff": 0.01,
            "retry_backoff_max": 0.05,
        }
        values.update(overrides)
        return ChorusSettings(**values)

    # --- control API ---------------------------------------------------------------------

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call `/_sim/<path>` and return its JSON answer (raises on a non-200)."""
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_sim/{path.lstrip('/')}",
            data=data if method != "GET" else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SandboxControlError(f"{method} /_sim/{path}: {exc.read()!r}") from None

    def reset(self) -> None:
        self.control("POST", "reset")

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")

    def requests(self) -> list[dict[str, Any]]:
        """Recent calls as received (method, path, headers lower-cased, body text)."""
        return self.control("GET", "requests")["requests"]

    def configure(self, **values: Any) -> dict[str, Any]:
        return self.control("POST", "config", values)

    def advance_clock(self, seconds: float) -> str:
        return self.control("POST", "clock/advance", {"seconds": seconds})["now"]

    def platform_state(self, state: str, *, delay: float = 5.0) -> None:
        """up | down | unavailable | failing | slow | rate_limited."""
        self.control("POST", "platform", {"state": state, "delay": delay})

    def add_fault(
        self,
        kind: str = "status",
        *,
        route: str | None = None,
        count: int | None = None,
        status: int = 503,
        delay: float = 0.0,
        phase: str = "before",
    ) -> None:
        """Make calls fail: kind close | status | delay | rate_limit, for `count` calls (None:
        until cleared) on paths starting with `route`; phase "after" processes the call first
        (a deposit is recorded, its answer is lost or late)."""
        self.control(
            "POST",
            "faults",
            {
                "kind": kind,
                "route": route,
                "count": count,
                "status": status,
                "delay": delay,
                "phase": phase,
            },
        )

    def clear_faults(self) -> None:
        self.control("POST", "faults/clear")

    def expire_tokens(self) -> None:
        self.control("POST", "tokens/expire")

    def set_subscriptions(self, client_id: str, subscriptions: list[str]) -> None:
        self.control("POST", f"piste/{client_id}", {"subscriptions": subscriptions})

    def update_account(self, login: str, **values: Any) -> dict[str, Any]:
        return self.control("POST", f"accounts/{login}", values)

    def process_flows(self) -> int:
        return self.control("POST", "flows/process")["processed"]

    def set_flow_state(self, flow_number: str, state: str) -> None:
        self.control("POST", f"flows/{flow_number}/state", {"etat": state})

    def flows(self) -> list[dict[str, Any]]:
        return self.control("GET", "flows")["flows"]

    def invoices(self) -> list[dict[str, Any]]:
        return self.control("GET", "invoices")["invoices"]

    def set_invoice_status(
        self,
        status: str,
        *,
        invoice_id: int | None = None,
        invoice_number: str | None = None,
        comment: str = "",
    ) -> dict[str, Any]:
        return self.control(
            "POST",
            "invoices/status",
            {
                "statut": status,
                "identifiantFactureCPP": invoice_id,
                "numeroFacture": invoice_number,
                "commentaire": comment,
            },
        )

    def deposit_count(self, invoice_number: str) -> int:
        """How many flows carried this invoice number (the "no duplicate deposit" check)."""
        return self.stats()["deposits_by_invoice_number"].get(invoice_number, 0)


@contextmanager
def run_sandbox(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    config: SandboxConfig | None = None,
    speed: float = 1.0,
) -> Iterator[SandboxHandle]:
    """Start a sandbox in a background thread (port 0: a free port) and stop it afterwards."""
    server = create_server(host, port, config=config, speed=speed)
    thread = threading.Thread(target=server.serve_forever, name="chorus-sandbox", daemon=True)
    thread.start()
    try:
        yield SandboxHandle(server=server, seed=server.platform.seed_data())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- sample Factur-X files -----------------------------------------------------------------------

_OMIT: Any = object()
LAYOUTS = ("fr-ctc", "legacy")


def make_cii_xml(
    *,
    layout: str = "fr-ctc",
    number: str = "F2024-0001",
    type_code: str = "380",
    issue_date: str = "20240115",
    seller_siret: str | None = seed.SUPPLIER_SIRET,
    buyer_siret: str | None = seed.BUYER_NONE,
    service_code: str = "",
    engagement_number: str = "",
    payment_means: str | None = "30",
    iban: str | None = "FR7630006000011234567890189",
    currency: str = "EUR",
    business_process: str | None = _OMIT,
    total_ht: Decimal = Decimal("100.00"),
    vat_rate: Decimal = Decimal("20.00"),
    amount_due: Decimal | None = None,
    seller_siren: str | None = _OMIT,
    buyer_siren: str | None = _OMIT,
) -> bytes:
    """A minimal EN 16931-style CII invoice with the data Chorus Pro reads (§6.2).

    `layout="fr-ctc"` (French 2026 CTC, BR-FR): each party's SIRET in `GlobalID@0009`
    (BT-29/BT-46) and its SIREN (default: the SIRET's first 9 digits) in
    `SpecifiedLegalOrganization/ID@0002` (BT-30/BT-47), an `ADN`/`B2G` note, BT-23 `M1` unless
    `business_process` is given (None: no BT-23). `layout="legacy"`: the SIRET in
    `SpecifiedLegalOrganization/ID@0002`, no GlobalID, no note, no BT-23 unless given.
    `amount_due` defaults to the total with VAT (BT-115)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    fr_ctc = layout == "fr-ctc"
    if business_process is _OMIT:
        business_process = "M1" if fr_ctc else None
    tax = (total_ht * vat_rate / 100).quantize(Decimal("0.01"))
    ttc = total_ht + tax
    due = ttc if amount_due is None else amount_due

    def opt(value: str | None, template: str) -> str:
        return template.format(value) if value else ""

    business = opt(
        business_process,
        "<ram:BusinessProcessSpecifiedDocumentContextParameter><ram:ID>{}</ram:ID>"
        "</ram:BusinessProcessSpecifiedDocumentContextParameter>",
    )
    payment = ""
    if payment_means:
        payment = (
            "<ram:SpecifiedTradeSettlementPaymentMeans>"
            f"<ram:TypeCode>{payment_means}</ram:TypeCode>"
            + opt(
                iban,
                "<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{}</ram:IBANID>"
                "</ram:PayeePartyCreditorFinancialAccount>",
            )
            + "</ram:SpecifiedTradeSettlementPaymentMeans>"
        )
    legal = '<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{}</ram:ID>'
    legal += "</ram:SpecifiedLegalOrganization>"
    global_id = '<ram:GlobalID schemeID="0009">{}</ram:GlobalID>'

    def party(name: str, siret: str | None, siren: str | None) -> str:
        if not fr_ctc:
            return f"<ram:Name>{name}</ram:Name>{opt(siret, legal)}"
        if siren is _OMIT:
            siren = siret[:9] if siret else None
        return f"{opt(siret, global_id)}<ram:Name>{name}</ram:Name>{opt(siren, legal)}"

    note = ""
    if fr_ctc:  # a public buyer (B2G), fr-2026-data.md §2
        note = "<ram:IncludedNote><ram:Content>B2G</ram:Content>"
        note += "<ram:SubjectCode>ADN</ram:SubjectCode></ram:IncludedNote>"
    buyer_ref = opt(service_code, "<ram:BuyerReference>{}</ram:BuyerReference>")
    order_ref = opt(
        engagement_number,
        "<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>{}</ram:IssuerAssignedID>"
        "</ram:BuyerOrderReferencedDocument>",
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext>{business}
<ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID>
</ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>
<ram:IssueDateTime><udt:DateTimeString format="102">{issue_date}</udt:DateTimeString>
</ram:IssueDateTime>{note}</rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:ApplicableHeaderTradeAgreement>{buyer_ref}
<ram:SellerTradeParty>{party("Chorale Démo SARL", seller_siret, seller_siren)}
</ram:SellerTradeParty>
<ram:BuyerTradeParty>{party("Acheteur public", buyer_siret, buyer_siren)}
</ram:BuyerTradeParty>
{order_ref}
</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
{payment}
<ram:SpecifiedTradeSettlementHeaderMonetarySummation>
<ram:LineTotalAmount>{total_ht}</ram:LineTotalAmount>
<ram:TaxBasisTotalAmount>{total_ht}</ram:TaxBasisTotalAmount>
<ram:TaxTotalAmount currencyID="{currency}">{tax}</ram:TaxTotalAmount>
<ram:GrandTotalAmount>{ttc}</ram:GrandTotalAmount>
<ram:DuePayableAmount>{due}</ram:DuePayableAmount>
</ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""
    return xml.encode("utf-8")


def make_facturx_pdf(xml: bytes | None = None, **xml_options: Any) -> bytes:
    """A one-page PDF with `xml` (default: `make_cii_xml(**xml_options)`) embedded as
    factur-x.xml. Pass `xml=b""` and `embed=False` to get a plain PDF without XML."""
    embed = xml_options.pop("embed", True)
    content = xml if xml is not None else make_cii_xml(**xml_options)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    if embed:
        pdf.attachments["factur-x.xml"] = pikepdf.AttachedFileSpec(
            pdf, content, mime_type="text/xml", description="Factur-X invoice"
        )
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()
