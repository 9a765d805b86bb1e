"""The Chorus Pro API client: the only code that speaks HTTP to Chorus Pro (through PISTE).

Contract: `shared/reference/chorus-pro-api.md` §1-§5. Typed requests and responses, no ORM.

    client = ChorusClient(ChorusSettings(
        api_base_url=PISTE_QUALIFICATION.api_base_url, token_url=PISTE_QUALIFICATION.token_url,
        client_id=..., client_secret=..., login="TECH_1_...@cpro.fr", password=...))
    structure = client.find_structure_by_siret("21750001600019")
    detail = client.get_structure(structure.id_structure_cpp)
    deposit = client.deposit_facturx(pdf_bytes, invoice_number="F2024-0001")
    report = client.get_flow_report(deposit.flow_number)

Every failure raises a `chorus.errors.ChorusError`: `ChorusTransientError` (network, 5xx, 429,
unknown outcome) or `ChorusPermanentError` (someone must act). Transient faults are retried
here with exponential back-off, except where a retry could deposit twice (see `deposit_flow`).
No secret (client secret, technical password, `cpro-account` value, bearer token) ever reaches
an exception, a repr or a log line.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from chorus.errors import ChorusError, ChorusTransientError, chorus_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

# §3.6: the only syntax for a Factur-X PDF/A-3 ("E2" mixed flow). Not IN_DP_E1_CII_FACTURX.
FACTURX_SYNTAX = "IN_DP_E2_CII_FACTURX"
# §3.3: reserved for invoicing between public entities; a supplier invoice sent there is
# rejected, so it is never offered as a choice.
PUBLIC_INVOICES_SERVICE_CODE = "FACTURES_PUBLIQUES"
JSON_CONTENT_TYPE = "application/json;charset=utf-8"

# §3.7 flow states.
FLOW_SUCCESS_STATES = frozenset({"IN_INTEGRE"})
FLOW_PARTIAL_STATES = frozenset({"IN_INTEGRE_PARTIEL"})
FLOW_FAILURE_STATES = frozenset({"IN_REJETE", "IN_INCIDENTE", "IN_ERREUR_INTERNE"})
FLOW_FINAL_STATES = FLOW_SUCCESS_STATES | FLOW_PARTIAL_STATES | FLOW_FAILURE_STATES
# §3.12: statuses after which polling an invoice's history can stop.
INVOICE_FINAL_STATUSES = frozenset({"MANDATEE", "MISE_EN_PAIEMENT", "REJETEE"})

# §2: "nothing found" answers of searches come with HTTP 200 and this code (or code 0).
_NO_RESULT_CODE = 20000
_NOT_FOUND_CODE = 20001
_GP_MARKER = "Impossible de trouver le GP"
_LDAP_MARKER = "dans le LDAP"
_MAX_PAGES = 1000


@dataclass(frozen=True)
class PisteEnvironment:
    api_base_url: str
    token_url: str


# §1.1 [C]
PISTE_QUALIFICATION = PisteEnvironment(
    api_base_url="https://sandbox-api.piste.gouv.fr",
    token_url="https://sandbox-oauth.piste.gouv.fr/api/oauth/token",
)
PISTE_PRODUCTION = PisteEnvironment(
    api_base_url="https://api.piste.gouv.fr",
    token_url="https://oauth.piste.gouv.fr/api/oauth/token",
)


@dataclass(frozen=True)
class ChorusSettings:
    """Everything the client needs. Secrets are kept out of `repr`.

    `api_base_url` is the host without `/cpro` (e.g. https://sandbox-api.piste.gouv.fr or a
    local sandbox http://127.0.0.1:8070). `timeout` is (connect, read) seconds for every call.
    `max_retries` extra attempts are made for transient faults, sleeping
    `retry_backoff * 2**attempt` seconds (capped by `retry_backoff_max`). A token is renewed
    `token_expiry_margin` seconds before it expires (OCA uses 240 s).
    """

    api_base_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    login: str
    password: str = field(repr=False)
    timeout: tuple[float, float] = (5.0, 30.0)
    max_retries: int = 3
    retry_backoff: float = 1.0
    retry_backoff_max: float = 30.0
    token_expiry_margin: float = 240.0
    scope: str = "openid"


class Requirement(enum.StrEnum):
    """What a public buyer requires on an invoice (§3.2; values as OCA's `fr_chorus_required`)."""

    NONE = "none"
    SERVICE_CODE = "service"
    ENGAGEMENT = "engagement"
    BOTH = "service_and_engagement"
    EITHER = "service_or_engagement"

    @classmethod
    def from_flags(
        cls, *, service_code_required: bool, engagement_required: bool, service_or_engagement: bool
    ) -> Requirement:
        # Order matters [C] (OCA `_fr_chorus_api_structures_consulter`).
        if service_or_engagement:
            return cls.EITHER
        if service_code_required and engagement_required:
            return cls.BOTH
        if service_code_required:
            return cls.SERVICE_CODE
        if engagement_required:
            return cls.ENGAGEMENT
        return cls.NONE

    def is_satisfied_by(self, *, service_code: str, engagement_number: str) -> bool:
        """Whether an invoice with these references meets the requirement."""
        has_service, has_ej = bool(service_code.strip()), bool(engagement_number.strip())
        return {
            Requirement.NONE: True,
            Requirement.SERVICE_CODE: has_service,
            Requirement.ENGAGEMENT: has_ej,
            Requirement.BOTH: has_service and has_ej,
            Requirement.EITHER: has_service or has_ej,
        }[self]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int
    per_page: int


@dataclass(frozen=True)
class StructureSummary:
    id_structure_cpp: int
    siret: str
    designation: str
    status: str
    identifier_type: str

    @property
    def is_active(self) -> bool:
        return self.status.upper() in {"ACTIVE", "ACTIF"}


@dataclass(frozen=True)
class StructureDetail:
    id_structure_cpp: int
    siret: str
    name: str
    is_public: bool
    requirement: Requirement
    service_code_required: bool
    engagement_required: bool
    service_or_engagement: bool
    payment_status_not_reported: bool


@dataclass(frozen=True)
class Service:
    id_service: int
    code: str
    name: str
    is_active: bool
    starts: str
    ends: str

    @property
    def is_selectable(self) -> bool:
        """Active and not the reserved FACTURES_PUBLIQUES service."""
        return self.is_active and self.code != PUBLIC_INVOICES_SERVICE_CODE


@dataclass(frozen=True)
class ServiceDetail:
    id_service: int
    code: str
    name: str
    description: str
    engagement_required: bool
    valid_from: str
    valid_until: str


@dataclass(frozen=True)
class Engagement:
    id_engagement: int
    number: str
    type: str
    receiving_structure: str
    service_code: str
    service_name: str
    notified_at: str
    state: str
    amount_ttc: Decimal | None


@dataclass(frozen=True)
class DepositResult:
    flow_number: str
    deposit_date: str
    syntax: str


@dataclass(frozen=True)
class FlowInvoiceError:
    invoice_number: str
    supplier_id: str
    recipient_id: str
    message: str


@dataclass(frozen=True)
class FlowTechnicalError:
    code: str
    nature: str
    message: str


@dataclass(frozen=True)
class FlowReport:
    state: str
    state_at: str
    deposited_at: str
    interface_code: str
    file_name: str
    invoice_errors: list[FlowInvoiceError]
    technical_errors: list[FlowTechnicalError]

    @property
    def is_final(self) -> bool:
        return self.state in FLOW_FINAL_STATES

    @property
    def is_success(self) -> bool:
        return self.state in FLOW_SUCCESS_STATES

    @property
    def is_failure(self) -> bool:
        return self.state in FLOW_FAILURE_STATES

    def messages(self) -> list[str]:
        """Every error text of the report, invoice errors first."""
        return [e.message for e in self.invoice_errors] + [e.message for e in self.technical_errors]


@dataclass(frozen=True)
class SupplierInvoice:
    id_invoice_cpp: int
    number: str
    status: str
    flow_number: str
    deposit_date: str
    invoice_date: str
    status_at: str
    recipient_siret: str
    recipient_name: str
    service_code: str
    engagement_number: str
    amount_ht: Decimal | None
    amount_ttc: Decimal | None
    amount_due: Decimal | None
    currency: str
    invoice_type: str
    status_comment: str


@dataclass(frozen=True)
class StatusEntry:
    code: str
    at: str
    comment: str


@dataclass(frozen=True)
class StatusHistory:
    id_invoice_cpp: int
    number: str
    current_status: str
    entries: list[StatusEntry]

    @property
    def last_comment(self) -> str:
        """The reason of a rejection or suspension, when Chorus gives one."""
        for entry in reversed(self.entries):
            if entry.comment:
                return entry.comment
        return ""


@dataclass(frozen=True)
class AttachedStructure:
    id_structure: int
    siret: str
    designation: str
    role: str
    user_status: str
    attachment_status: str
    services: list[Service]


@dataclass(frozen=True)
class HealthStatus:
    ok: bool
    status: str
    body: str


# --- token cache shared by all clients of the process, keyed per credentials --------------


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # time.monotonic()


_token_cache: dict[tuple[str, str, str], _CachedToken] = {}
_token_lock = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached PISTE token (tests, or after changing credentials)."""
    with _token_lock:
        _token_cache.clear()


# --- the client ------------------------------------------------------------------------------

_WWW_ERROR_RE = re.compile(r'error="([^"]*)"')
_API_FAMILY_RE = re.compile(r"^/cpro/([^/]+)/")


class ChorusClient:
    """Typed access to the Chorus Pro API. Thread-safe for concurrent calls."""

    def __init__(
        self,
        settings: ChorusSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`sleep` and `clock` (a monotonic clock, used for token expiry) can be replaced in
        tests; `session` lets callers share connection pools."""
        self.settings = settings
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._base = settings.api_base_url.rstrip("/")
        account = f"{settings.login}:{settings.password}".encode()
        # §1.3 [C]: base64 of the UTF-8 bytes of "login:password".
        self._cpro_account = base64.b64encode(account).decode("ascii")
        secret_digest = hashlib.sha256(settings.client_secret.encode()).hexdigest()
        self._token_key = (settings.token_url, settings.client_id, secret_digest)

    def __repr__(self) -> str:
        return f"ChorusClient(api={self._base!r}, login={self.settings.login!r})"

    # --- structures ----------------------------------------------------------------------

    def search_structures(
        self, siret: str, *, page: int = 1, per_page: int = 10
    ) -> Page[StructureSummary]:
        """`structures/v1/rechercher` by SIRET (§3.1). "Nothing found" gives an empty page."""
        body = {
            "structure": {"identifiantStructure": siret, "typeIdentifiantStructure": "SIRET"},
            "parametres": {"pageResultatDemandee": page, "nbResultatsParPage": per_page},
        }
        data = self._call("/cpro/structures/v1/rechercher", body, empty_ok=True)
        items = [_structure_summary(item) for item in _list(data, "listeStructures")]
        return _page(data, items, page, per_page)

    def find_structure_by_siret(self, siret: str) -> StructureSummary:
        """The one active structure of `siret` (the buyer check before sending).

        Raises `structure_unknown`, `structure_inactive`, or `siret_check_failed` when Chorus
        answers something unreadable (the seed's "problème technique lors de la vérification
        du SIRET").
        """
        try:
            found = self.search_structures(siret, per_page=10)
        except ChorusError as exc:
            if exc.code == "malformed_response":
                raise chorus_error(
                    "siret_check_failed", exc.detail_en, http_status=exc.http_status
                ) from None
            raise
        matches = [s for s in found.items if s.siret == siret] or found.items
        if not matches:
            raise chorus_error("structure_unknown", f"no structure for SIRET {siret}", siret=siret)
        active = [s for s in matches if s.is_active]
        if not active:
            raise chorus_error(
                "structure_inactive", f"structure {siret} is {matches[0].status}", siret=siret
            )
        return active[0]

    def get_structure(self, id_structure_cpp: int) -> StructureDetail:
        """`structures/v1/consulter` (§3.2), with the flags mapped to a `Requirement`."""
        data = self._call(
            "/cpro/structures/v1/consulter",
            {"idStructureCPP": id_structure_cpp, "codeLangue": "FR"},
            not_found_code="structure_unknown",
        )
        info = _dict(data, "informationGenerales")
        # Third-party clients read `parametresStructure`; the official example has `parametres`.
        flags = data.get("parametres") or data.get("parametresStructure")
        if not isinstance(flags, dict):
            raise _malformed("structures/v1/consulter: no 'parametres'")
        service = bool(flags.get("codeServiceDoitEtreRenseigne"))
        ej = bool(flags.get("numeroEJDoitEtreRenseigne"))
        either = bool(flags.get("gestionNumeroEJOuCodeService"))
        return StructureDetail(
            id_structure_cpp=_int(info.get("idStructureCPP", id_structure_cpp)),
            siret=str(info.get("identifiantStructure") or ""),
            name=str(info.get("raisonSocialeStructure") or info.get("libelleStructure") or ""),
            is_public=str(info.get("structurePriveePublique", "")).upper() == "PUBLIQUE",
            requirement=Requirement.from_flags(
                service_code_required=service,
                engagement_required=ej,
                service_or_engagement=either,
            ),
            service_code_required=service,
            engagement_required=ej,
            service_or_engagement=either,
            payment_status_not_reported=bool(flags.get("statutMiseEnPaiementNestPasRemonte")),
        )

    def search_services(
        self, id_structure_cpp: int, *, page: int = 1, per_page: int = 100
    ) -> Page[Service]:
        """One page of `structures/v1/rechercher/services` (§3.3)."""
        body = {
            "idStructure": id_structure_cpp,
            "parametresRechercherServicesStructure": {
                "pageResultatDemandee": page,
                "nbResultatsParPage": per_page,
            },
        }
        data = self._call(
            "/cpro/structures/v1/rechercher/services",
            body,
            empty_ok=True,
            not_found_code="structure_unknown",
        )
        return _page(
            data, [_service(item) for item in _list(data, "listeServices")], page, per_page
        )

    def list_services(self, id_structure_cpp: int, *, per_page: int = 100) -> list[Service]:
        """Every service of a structure, all pages (inactive and FACTURES_PUBLIQUES included)."""
        return list(
            _all_pages(lambda p: self.search_services(id_structure_cpp, page=p, per_page=per_page))
        )

    def get_service(self, id_structure_cpp: int, id_service: int) -> ServiceDetail:
        """`structures/v1/consulter/service` (§3.4): tells whether the service needs an EJ."""
        data = self._call(
            "/cpro/structures/v1/consulter/service",
            {"idStructure": id_structure_cpp, "idService": id_service, "codeLangue": "FR"},
            not_found_code="service_unknown",
        )
        info = _dict(data, "informationsGenerales")
        params = _dict(data, "parametres")
        return ServiceDetail(
            id_service=id_service,
            code=str(info.get("codeService") or ""),
            name=str(info.get("nomService") or ""),
            description=str(info.get("descriptionService") or ""),
            engagement_required=bool(params.get("numeroEngagement")),
            valid_from=str(params.get("dateDebutValidite") or ""),
            valid_until=str(params.get("dateFinValidite") or ""),
        )

    # --- engagements -----------------------------------------------------------------------

    def search_engagements(
        self,
        number: str,
        *,
        receiving_structure_id: int | None = None,
        state: str | None = "COMMANDE",
        page: int = 1,
        per_page: int = 10,
    ) -> Page[Engagement]:
        """`engagementsJuridiques/v1/rechercher` (§3.5). The receiving structure of an EJ is the
        *supplier's* own idStructureCPP, sent as text."""
        body: dict[str, Any] = {
            "numeroEngagementJuridique": number,
            "parametresRecherche": {"pageResultatDemandee": page, "nbResultatsParPage": per_page},
        }
        if receiving_structure_id is not None:
            body["structureReceptriceEngagementJuridique"] = str(receiving_structure_id)
        if state:
            body["etatCourantEngagementJuridique"] = state
        data = self._call("/cpro/engagementsJuridiques/v1/rechercher", body, empty_ok=True)
        items = [_engagement(item) for item in _list(data, "listeEngagementJuridique")]
        return _page(data, items, page, per_page)

    # --- invoices ------------------------------------------------------------------------------

    def deposit_flow(
        self, content: bytes, file_name: str, *, syntax: str = FACTURX_SYNTAX
    ) -> DepositResult:
        """`factures/v1/deposer/flux` (§3.6): returns the flow number; integration is async.

        Chorus has no idempotency key: every call creates a new flow. So this call is retried
        only when the request surely did not reach Chorus (connection refused, connect
        timeout, 429 or 503). Any other fault after sending raises `deposit_outcome_unknown`:
        look for the invoice with `find_supplier_invoice` before depositing again.
        """
        body = {
            "fichierFlux": base64.b64encode(content).decode("ascii"),
            "nomFichier": file_name,
            "syntaxeFlux": syntax,
            "avecSignature": False,
        }
        data = self._call("/cpro/factures/v1/deposer/flux", body, idempotent=False)
        flow_number = data.get("numeroFluxDepot")
        if not isinstance(flow_number, str) or not flow_number:
            raise chorus_error(
                "deposit_outcome_unknown", "deposer/flux answered without numeroFluxDepot"
            )
        return DepositResult(
            flow_number=flow_number,
            deposit_date=str(data.get("dateDepot") or ""),
            syntax=str(data.get("syntaxeFlux") or syntax),
        )

    def deposit_facturx(self, pdf: bytes, *, invoice_number: str) -> DepositResult:
        """Deposit one Factur-X PDF/A-3, named like OCA does: factur-x_chorus_facture_<n>.pdf."""
        safe_number = re.sub(r"[^A-Za-z0-9._-]", "-", invoice_number)
        return self.deposit_flow(pdf, f"factur-x_chorus_facture_{safe_number}.pdf")

    def get_flow_report(self, flow_number: str, *, syntax: str | None = None) -> FlowReport:
        """`transverses/v1/consulterCRDetaille` (§3.7): the flow's state and its errors."""
        body: dict[str, Any] = {"numeroFluxDepot": flow_number}
        if syntax:
            body["syntaxeFlux"] = syntax
        data = self._call(
            "/cpro/transverses/v1/consulterCRDetaille", body, not_found_code="flow_unknown"
        )
        state = data.get("etatCourantDepotFlux")
        if not isinstance(state, str) or not state:
            raise _malformed("consulterCRDetaille: no etatCourantDepotFlux")
        return FlowReport(
            state=state,
            state_at=str(data.get("dateHeureEtatCourantFlux") or ""),
            deposited_at=str(data.get("dateDepotFlux") or ""),
            interface_code=str(data.get("codeInterfaceDepotFlux") or ""),
            file_name=str(data.get("nomFichier") or ""),
            invoice_errors=[
                FlowInvoiceError(
                    invoice_number=str(e.get("numeroDP") or ""),
                    supplier_id=str(e.get("identifiantFournisseur") or ""),
                    recipient_id=str(e.get("identifiantDestinataire") or ""),
                    message=str(e.get("libelleErreurDP") or ""),
                )
                for e in _list(data, "listeErreurDP")
            ],
            technical_errors=[
                FlowTechnicalError(
                    code=str(e.get("codeErreur") or ""),
                    nature=str(e.get("natureErreur") or ""),
                    message=str(e.get("libelleErreur") or ""),
                )
                for e in _list(data, "listeErreurTechnique")
            ],
        )

    def search_supplier_invoices(
        self,
        *,
        flow_number: str | None = None,
        invoice_number: str | None = None,
        statuses: list[str] | None = None,
        deposited_from: date | None = None,
        deposited_to: date | None = None,
        page: int = 1,
        per_page: int = 10,
    ) -> Page[SupplierInvoice]:
        """One page of `factures/v1/rechercher/fournisseur` (§3.9). Only integrated invoices
        appear (a flow still being processed shows nothing yet)."""
        body: dict[str, Any] = {
            "rechercheFactureParFournisseur": {
                "pageResultatDemandee": page,
                "nbResultatsParPage": per_page,
            }
        }
        if flow_number:
            body["numeroFluxDepot"] = flow_number
        if invoice_number:
            body["numeroFacture"] = invoice_number
        if statuses:
            body["statutCourant"] = list(statuses)
        if deposited_from:
            body["periodeDateDepotDu"] = deposited_from.isoformat()
        if deposited_to:
            body["periodeDateDepotAu"] = deposited_to.isoformat()
        data = self._call("/cpro/factures/v1/rechercher/fournisseur", body, empty_ok=True)
        items = [_supplier_invoice(item) for item in _list(data, "listeFactures")]
        return _page(data, items, page, per_page)

    def list_supplier_invoices(
        self,
        *,
        flow_number: str | None = None,
        invoice_number: str | None = None,
        statuses: list[str] | None = None,
        deposited_from: date | None = None,
        deposited_to: date | None = None,
        per_page: int = 100,
    ) -> list[SupplierInvoice]:
        """Every matching supplier invoice, all pages (a flow may hold more than 10)."""
        return list(
            _all_pages(
                lambda p: self.search_supplier_invoices(
                    flow_number=flow_number,
                    invoice_number=invoice_number,
                    statuses=statuses,
                    deposited_from=deposited_from,
                    deposited_to=deposited_to,
                    page=p,
                    per_page=per_page,
                )
            )
        )

    def find_supplier_invoice(
        self,
        invoice_number: str,
        *,
        recipient_siret: str | None = None,
        deposited_from: date | None = None,
    ) -> SupplierInvoice | None:
        """The invoice `invoice_number` already in Chorus for this supplier, or None.

        Ask this before depositing again after `deposit_outcome_unknown`. When several
        invoices carry the number (one rejected, then sent again), the most recent wins.
        """
        found = [
            invoice
            for invoice in self.list_supplier_invoices(
                invoice_number=invoice_number, deposited_from=deposited_from
            )
            if invoice.number == invoice_number
            and (recipient_siret is None or invoice.recipient_siret == recipient_siret)
        ]
        return max(found, key=lambda inv: inv.id_invoice_cpp) if found else None

    def get_invoice_history(self, id_invoice_cpp: int) -> StatusHistory:
        """`factures/v1/consulter/historique` (§3.11): current status and its history."""
        data = self._call(
            "/cpro/factures/v1/consulter/historique",
            {"idFacture": id_invoice_cpp, "nbResultatsMaximum": 50},
            not_found_code="invoice_unknown",
        )
        if _int(data.get("idFacture", -1)) != id_invoice_cpp:
            # OCA checks this too: an answer about another invoice must not be recorded.
            raise _malformed("consulter/historique answered about another invoice")
        current = data.get("statutCourantCode")
        if not isinstance(current, str) or not current:
            raise _malformed("consulter/historique: no statutCourantCode")
        histo = data.get("historiquesDesStatuts") or {}
        entries = [
            StatusEntry(
                code=str(h.get("histoStatutCode") or ""),
                at=str(h.get("histoStatutDatePassage") or ""),
                comment=str(h.get("histoStatutCommentaire") or ""),
            )
            for h in _list(histo if isinstance(histo, dict) else {}, "histoStatut")
        ]
        return StatusHistory(
            id_invoice_cpp=id_invoice_cpp,
            number=str(data.get("numeroFacture") or ""),
            current_status=current,
            entries=entries,
        )

    # --- account and platform ------------------------------------------------------------------

    def get_my_attachments(self, *, page: int = 1, per_page: int = 100) -> Page[AttachedStructure]:
        """`utilisateurs/v1/monCompte/recuperer/rattachements` (§3.13): the structures the
        technical account may act for. Needs a valid token *and* `cpro-account`, so it is also
        the best "test the connection" call."""
        body = {
            "parametresRecherche": {
                "pageResultatDemandee": page,
                "nbResultatsParPage": per_page,
                "triColonne": "IdStructure",
                "triSens": "Descendant",
            }
        }
        data = self._call("/cpro/utilisateurs/v1/monCompte/recuperer/rattachements", body)
        items = [
            AttachedStructure(
                id_structure=_int(item.get("idStructure")),
                siret=str(item.get("identifiantStructure") or ""),
                designation=str(item.get("designationStructure") or ""),
                role=str(item.get("roleUtilisateur") or ""),
                user_status=str(item.get("statutUtilisateur") or ""),
                attachment_status=str(item.get("statutRattachementStructure") or ""),
                services=[_service(s) for s in _list(item, "listeServicesRattache")],
            )
            for item in _list(data, "listeStructureRattachement")
        ]
        return _page(data, items, page, per_page)

    def list_my_attachments(self) -> list[AttachedStructure]:
        """Every structure the technical account is attached to, all pages."""
        return list(_all_pages(lambda p: self.get_my_attachments(page=p)))

    def check_connection(self) -> list[AttachedStructure]:
        """Token + technical account check; returns the attachments (raises otherwise)."""
        return self.list_my_attachments()

    def health_check(self) -> HealthStatus:
        """`GET transverses/v1/health-check` (§3.14). Raises when the platform is down."""
        data = self._call("/cpro/transverses/v1/health-check", None, method="GET")
        status = str(data.get("statusCode") or "")
        value = data.get("statusCodeValue")
        ok = status in {"OK", "200"} or value == 200
        return HealthStatus(ok=ok, status=status, body=str(data.get("body") or ""))

    # --- HTTP machinery ----------------------------------------------------------------------

    def _call(
        self,
        path: str,
        body: dict[str, Any] | None,
        *,
        method: str = "POST",
        idempotent: bool = True,
        empty_ok: bool = False,
        not_found_code: str | None = None,
    ) -> dict[str, Any]:
        """Send one API call (token, retries, 401 renewal) and return the checked JSON."""
        self._check_settings()
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        renewed = False
        while True:
            response = self._send_with_retries(
                method, path, payload, idempotent=idempotent, api=True
            )
            if response.status_code == 401 and not renewed and not _is_ldap_answer(response):
                # Expired or revoked token: renew once (§5.2), then give up.
                logger.info("chorus: 401 on %s, renewing the PISTE token once", path)
                self._forget_token()
                renewed = True
                continue
            return self._check_answer(
                path,
                response,
                idempotent=idempotent,
                empty_ok=empty_ok,
                not_found_code=not_found_code,
            )

    def _send_with_retries(
        self, method: str, path: str, payload: bytes | None, *, idempotent: bool, api: bool
    ) -> requests.Response:
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._send_once(method, path, payload, api=api)
            except requests.RequestException as exc:
                safe_to_retry = idempotent or _request_not_sent(exc)
                detail = self._scrub(f"{method} {path}: {type(exc).__name__}: {exc}")
                if not safe_to_retry:
                    raise chorus_error("deposit_outcome_unknown", detail) from None
                if last:
                    raise chorus_error("platform_unreachable", detail) from None
                self._backoff(attempt, path, type(exc).__name__, None)
                continue
            status = response.status_code
            if 300 <= status < 400:
                raise self._redirected(f"{method} {path}", response)
            transient = status == 429 or status >= 500
            if not transient:
                return response
            detail = f"{method} {path}: HTTP {status}"
            if not idempotent and status not in (429, 503):
                # A 500/502/504 may come after Chorus recorded the deposit.
                raise chorus_error("deposit_outcome_unknown", detail, http_status=status)
            if last:
                code = "rate_limited" if status == 429 else "platform_error"
                raise chorus_error(code, detail, http_status=status)
            self._backoff(attempt, path, f"HTTP {status}", response.headers.get("Retry-After"))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self, method: str, path: str, payload: bytes | None, *, api: bool
    ) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "cpro-account": self._cpro_account,
            "Content-Type": JSON_CONTENT_TYPE,
            "Accept": JSON_CONTENT_TYPE,
        }
        started = time.monotonic()
        response = self._session.request(
            method,
            f"{self._base}{path}",
            data=payload,
            headers=headers,
            timeout=self.settings.timeout,
            # Never follow: requests would resend cpro-account (and, to the same host, the
            # bearer token) to wherever the Location points. A 3xx is an error (_redirected).
            allow_redirects=False,
        )
        logger.debug(
            "chorus: %s %s -> HTTP %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _backoff(self, attempt: int, path: str, reason: str, retry_after: str | None) -> None:
        delay = min(self.settings.retry_backoff * (2**attempt), self.settings.retry_backoff_max)
        if retry_after and retry_after.isdigit():
            delay = min(max(delay, float(retry_after)), self.settings.retry_backoff_max)
        logger.warning("chorus: %s on %s, retry %d in %.2fs", reason, path, attempt + 1, delay)
        self._sleep(delay)

    def _check_answer(
        self,
        path: str,
        response: requests.Response,
        *,
        idempotent: bool,
        empty_ok: bool,
        not_found_code: str | None,
    ) -> dict[str, Any]:
        status = response.status_code
        if status == 401:
            www = response.headers.get("WWW-Authenticate", "")
            error = _WWW_ERROR_RE.search(www)
            www_error = error.group(1) if error else ""
            if (
                _is_ldap_answer(response)
                or www_error == "Unauthorized"
                or "login or password" in www
            ):
                raise chorus_error(
                    "auth_ldap",
                    f"{path}: HTTP 401 ({www_error or 'LDAP'})",
                    http_status=401,
                    login=self.settings.login,
                )
            raise chorus_error(
                "piste_token_rejected", f"{path}: HTTP 401 after token renewal", http_status=401
            )
        if status == 403:
            family = _API_FAMILY_RE.match(path)
            api = family.group(1) if family else path
            raise chorus_error(
                "api_not_subscribed", f"{path}: HTTP 403 (API {api})", http_status=403, api=api
            )
        if status == 404:
            raise chorus_error("route_not_found", f"{path}: HTTP 404", http_status=404)
        data = self._json(path, response, idempotent=idempotent)
        code_retour = data.get("codeRetour")
        libelle = self._scrub(str(data.get("libelle") or ""))
        if status == 400:
            code = "deposit_rejected" if not idempotent else "request_rejected"
            raise chorus_error(
                code,
                f"{path}: HTTP 400 codeRetour={code_retour} {libelle}",
                http_status=400,
                code_retour=_int_or_none(code_retour),
                libelle=libelle,
            )
        if status != 200:
            raise chorus_error(
                "unexpected_http_status", f"{path}: HTTP {status}", http_status=status
            )
        if code_retour is None and path.endswith("health-check"):
            return data
        if not isinstance(code_retour, int):
            raise _malformed(f"{path}: codeRetour missing or not an integer")
        if code_retour == 0:
            return data
        # §2 [C]: HTTP 200 with a non-zero codeRetour is a failure.
        detail = f"{path}: codeRetour={code_retour} {libelle}"
        if _GP_MARKER in libelle:
            raise chorus_error("gp_not_found", detail, code_retour=code_retour)
        if _LDAP_MARKER in libelle:
            raise chorus_error(
                "auth_ldap", detail, code_retour=code_retour, login=self.settings.login
            )
        if empty_ok and code_retour == _NO_RESULT_CODE:
            return {**data, "codeRetour": 0}
        if not_found_code and code_retour in (_NOT_FOUND_CODE, _NO_RESULT_CODE):
            raise chorus_error(not_found_code, detail, code_retour=code_retour)
        raise chorus_error("business_error", detail, code_retour=code_retour, libelle=libelle)

    def _json(self, path: str, response: requests.Response, *, idempotent: bool) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
        detail = f"{path}: HTTP {response.status_code}, body is not a JSON object"
        if not idempotent and response.status_code == 200:
            raise chorus_error("deposit_outcome_unknown", detail, http_status=200)
        raise _malformed(detail, http_status=response.status_code)

    # --- token -----------------------------------------------------------------------------

    def _token(self) -> str:
        now = self._clock()
        with _token_lock:
            cached = _token_cache.get(self._token_key)
            if cached and cached.expires_at - self.settings.token_expiry_margin > now:
                return cached.value
        token, expires_in = self._request_token()
        with _token_lock:
            _token_cache[self._token_key] = _CachedToken(token, now + expires_in)
        return token

    def _forget_token(self) -> None:
        with _token_lock:
            _token_cache.pop(self._token_key, None)

    def _request_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "scope": self.settings.scope,
        }
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._session.post(
                    self.settings.token_url,
                    data=form,
                    timeout=self.settings.timeout,
                    allow_redirects=False,  # a 307/308 would resend the client secret
                )
            except requests.RequestException as exc:
                if last:
                    detail = self._scrub(f"token: {type(exc).__name__}: {exc}")
                    raise chorus_error("platform_unreachable", detail) from None
                self._backoff(attempt, "token", type(exc).__name__, None)
                continue
            status = response.status_code
            if 300 <= status < 400:
                raise self._redirected("token", response)
            if status == 429 or status >= 500:
                if last:
                    code = "rate_limited" if status == 429 else "platform_error"
                    raise chorus_error(code, f"token: HTTP {status}", http_status=status)
                self._backoff(
                    attempt, "token", f"HTTP {status}", response.headers.get("Retry-After")
                )
                continue
            break
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _malformed(f"token: HTTP {status}, body is not a JSON object", http_status=status)
        if status != 200:
            error = self._scrub(str(data.get("error") or ""))
            description = self._scrub(str(data.get("error_description") or ""))
            code = (
                "piste_bad_client"
                if error in {"invalid_client", "unauthorized_client"}
                else "piste_token_error"
            )
            raise chorus_error(
                code, f"token: HTTP {status} {error}: {description}", http_status=status
            )
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise _malformed("token: no access_token or expires_in", http_status=status)
        logger.debug("chorus: new PISTE token, expires in %ss", expires_in)
        return token, float(expires_in)

    # --- hygiene ---------------------------------------------------------------------------

    def _redirected(self, what: str, response: requests.Response) -> ChorusError:
        """A 3xx answer, never followed: the configured URL is wrong (or answered by
        something else than Chorus Pro). Nothing was done, so a deposit can be sent again."""
        location = self._scrub(response.headers.get("Location", ""))[:200]
        status = response.status_code
        return chorus_error(
            "redirected", f"{what}: HTTP {status} to {location!r}", http_status=status
        )

    def _check_settings(self) -> None:
        s = self.settings
        missing = [
            name
            for name in (
                "api_base_url",
                "token_url",
                "client_id",
                "client_secret",
                "login",
                "password",
            )
            if not getattr(s, name)
        ]
        if missing:
            raise chorus_error("credentials_missing", f"missing settings: {', '.join(missing)}")

    def _scrub(self, text: str) -> str:
        """Remove every secret from a text before it reaches an exception or a log line."""
        secrets = (
            self.settings.client_secret,
            self.settings.password,
            self._cpro_account,
            f"{self.settings.login}:{self.settings.password}",
        )
        with _token_lock:
            cached = _token_cache.get(self._token_key)
        if cached:
            secrets += (cached.value,)
        for secret in sorted((s for s in secrets if s), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


# --- helpers -----------------------------------------------------------------------------------


def _request_not_sent(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (safe to resend a deposit)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _is_ldap_answer(response: requests.Response) -> bool:
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and _LDAP_MARKER in str(data.get("libelle") or "")


def _malformed(detail: str, *, http_status: int | None = None) -> ChorusError:
    return chorus_error("malformed_response", detail, http_status=http_status)


def _all_pages(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    page = 1
    while True:
        result = fetch(page)
        yield from result.items
        if page >= result.pages or not result.items or page >= _MAX_PAGES:
            return
        page += 1


def _page(data: dict[str, Any], items: list[T], page: int, per_page: int) -> Page[T]:
    meta = data.get("parametresRetour")
    meta = meta if isinstance(meta, dict) else {}
    return Page(
        items=items,
        page=_int(meta.get("pageCourante", page)),
        pages=_int(meta.get("pages", 1 if items else 0)),
        total=_int(meta.get("total", len(items))),
        per_page=_int(meta.get("nbResultatsParPage", per_page)),
    )


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _malformed(f"'{key}' is not a list of objects")
    return value


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _malformed(f"'{key}' is missing or not an object")
    return value


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _malformed(f"expected an integer, got {type(value).__name__}") from None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _amount_or_none(value: Any) -> Decimal | None:
    # JSON gives amounts as numbers; str() keeps the decimal digits Chorus Pro sent.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(str(value))


def _structure_summary(item: dict[str, Any]) -> StructureSummary:
    return StructureSummary(
        id_structure_cpp=_int(item.get("idStructureCPP")),
        siret=str(item.get("identifiantStructure") or ""),
        designation=str(item.get("designationStructure") or ""),
        status=str(item.get("statut") or ""),
        identifier_type=str(item.get("typeIdentifiantStructure") or ""),
    )


def _service(item: dict[str, Any]) -> Service:
    return Service(
        id_service=_int(item.get("idService")),
        code=str(item.get("codeService") or ""),
        name=str(item.get("libelleService") or ""),
        is_active=bool(item.get("estActif")),
        starts=str(item.get("dateDbtService") or ""),
        ends=str(item.get("dateFinService") or ""),
    )


def _engagement(item: dict[str, Any]) -> Engagement:
    return Engagement(
        id_engagement=_int(item.get("idEngagementJuridique")),
        number=str(item.get("numeroEngagementJuridique") or ""),
        type=str(item.get("libelleTypeEngagementJuridique") or ""),
        receiving_structure=str(item.get("structureReceptrice") or ""),
        service_code=str(item.get("codeServiceExecutant") or ""),
        service_name=str(item.get("libelleServiceExecutant") or ""),
        notified_at=str(item.get("dateNotificationEJ") or ""),
        state=str(item.get("libelleEtatCourantEJ") or ""),
        amount_ttc=_amount_or_none(item.get("montantTotalTtc")),
    )


def _supplier_invoice(item: dict[str, Any]) -> SupplierInvoice:
    return SupplierInvoice(
        id_invoice_cpp=_int(item.get("identifiantFactureCPP")),
        number=str(item.get("numeroFacture") or ""),
        status=str(item.get("statut") or ""),
        flow_number=str(item.get("numeroFluxDepot") or ""),
        deposit_date=str(item.get("dateDepot") or ""),
        invoice_date=str(item.get("dateFacture") or ""),
        status_at=str(item.get("dateHeureEtatCourant") or ""),
        recipient_siret=str(item.get("codeDestinataire") or ""),
        recipient_name=str(item.get("designationDestinataire") or ""),
        service_code=str(item.get("codeServiceExecutant") or ""),
        engagement_number=str(item.get("numeroBonCommande") or ""),
        amount_ht=_amount_or_none(item.get("montantHT")),
        amount_ttc=_amount_or_none(item.get("montantTTC")),
        amount_due=_amount_or_none(item.get("montantAPayer")),
        currency=str(item.get("devise") or ""),
        invoice_type=str(item.get("typeFacture") or ""),
        status_comment=str(item.get("commentaireEtatCourant") or ""),
    )


__all__ = [
    "FACTURX_SYNTAX",
    "FLOW_FAILURE_STATES",
    "FLOW_FINAL_STATES",
    "FLOW_PARTIAL_STATES",
    "FLOW_SUCCESS_STATES",
    "INVOICE_FINAL_STATUSES",
    "PISTE_PRODUCTION",
    "PISTE_QUALIFICATION",
    "PUBLIC_INVOICES_SERVICE_CODE",
    "AttachedStructure",
    "ChorusClient",
    "ChorusSettings",
    "ChorusTransientError",
    "DepositResult",
    "Engagement",
    "FlowInvoiceError",
    "FlowReport",
    "FlowTechnicalError",
    "HealthStatus",
    "Page",
    "PisteEnvironment",
    "Requirement",
    "Service",
    "ServiceDetail",
    "StatusEntry",
    "StatusHistory",
    "StructureDetail",
    "StructureSummary",
    "SupplierInvoice",
    "clear_token_cache",
]
