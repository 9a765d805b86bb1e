"""The sandbox's platform: its state, clock, gateway checks and API operations.

No HTTP here: `server.py` turns requests into calls of `Platform.handle_api()` /
`Platform.handle_token()` and the `/_sim` control methods. Every public method takes the
platform lock, so the threaded server stays consistent.

Contract: `shared/reference/chorus-pro-api.md` §8. Values the reference calls "invented" live in
`SandboxConfig` (changeable at run time through `POST /_sim/config`).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from chorus.sandbox import facturx_check, seed

try:  # pragma: no cover - depends on the system tz database
    from zoneinfo import ZoneInfo

    PARIS: timezone | ZoneInfo = ZoneInfo("Europe/Paris")
except Exception:  # noqa: BLE001
    PARIS = timezone(timedelta(hours=1))

JSON = dict[str, Any]

SYNTAXES = {
    "IN_DP_E1_UBL_INVOICE": "1100",
    "IN_DP_E1_CII": "1105",  # invented
    "IN_DP_E1_PES_FACTURE": "1101",  # invented
    "IN_DP_E1_XCBL": "1102",  # invented
    "IN_DP_E1_CII_16B": "1106",
    "IN_DP_E2_UBL_INVOICE_MIN": "1111",  # invented
    "IN_DP_E2_CII_MIN": "1112",  # invented
    "IN_DP_E2_PES_FACTURE_MIN": "1113",  # invented
    "IN_DP_E2_CPP_FACTURE_MIN": "1110",
    "IN_DP_E2_CII_FACTURX": "1117",
    "IN_DP_E2_CII_MIN_16B": "1114",  # invented
}
IDENTIFIER_TYPES = {"SIRET", "UE_HORS_FRANCE", "HORS_UE", "RIDET", "TAHITI", "AUTRE", "PARTICULIER"}

WAITING = "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"
PROCESSING = "IN_EN_COURS_TRAITEMENT_CPP"
FLOW_STATES = {
    "IN_RECU",
    WAITING,
    "IN_TRAITE_SE_CPP",
    "IN_EN_ATTENTE_TRAITEMENT_CPP",
    PROCESSING,
    "IN_EN_ATTENTE_RETRAITEMENT_CPP",
    "IN_A_RELANCER",
    "IN_INTEGRE",
    "IN_INTEGRE_PARTIEL",
    "IN_REJETE",
    "IN_INCIDENTE",
    "IN_ERREUR_INTERNE",
}

# §8.9 step 4: the status graph an invoice follows (later statuses only through /_sim).
INVOICE_GRAPH: dict[str, tuple[str, ...]] = {
    "DEPOSEE": ("EN_COURS_ACHEMINEMENT",),
    "EN_COURS_ACHEMINEMENT": ("MISE_A_DISPOSITION",),
    "MISE_A_DISPOSITION": (
        "SUSPENDUE",
        "REJETEE",
        "SERVICE_FAIT",
        "MANDATEE",
        "A_RECYCLER",
        "COMPTABILISEE",
        "MISE_A_DISPOSITION_COMPTABLE",
        "MISE_EN_PAIEMENT",
    ),
    "SUSPENDUE": ("COMPLETEE",),
    "COMPLETEE": ("MISE_A_DISPOSITION",),
    "SERVICE_FAIT": ("MANDATEE",),
    "MANDATEE": ("MISE_A_DISPOSITION_COMPTABLE",),
    "MISE_A_DISPOSITION_COMPTABLE": ("COMPTABILISEE",),
    "COMPTABILISEE": ("MISE_EN_PAIEMENT",),
}

PAYMENT_MEANS_MESSAGE = (
    "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement."
    "SpecifiedTradeSettlementPaymentMeans.TypeCode.value est obligatoire."
)
_TA = "FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeAgreement"
LIBELLE_OK = "TRA_MSG_00.000"
LIBELLE_OK_GCU = "GCU_MSG_01_000"
WWW_DEFAULT = 'Bearer realm="DefaultRealm"'
WWW_CPRO = (
    'Bearer realm="PISTE",error="Unauthorized",error_description="login or password incorrects"'
)


@dataclass
class SandboxConfig:
    """Behaviour switches; "invented" values of the contract are all here."""

    token_lifetime: int = 3600  # [C] expires_in
    page_size_default: int = 10  # [C] the real default
    empty_search_code: int = 20000  # invented placement; 0 = empty list with codeRetour 0
    unknown_route_status: int = 404  # 403 is also seen live
    recent_account_answer: str = "ldap"  # "ldap" (§8.2 step 5) or "gp" (the seed's reading)
    account_activation_seconds: float = 30 * 60
    password_lifetime_days: int = 424  # [C]
    processing_delay: float = 0.0  # sandbox seconds from deposit to integration
    availability_delay: float = 60.0  # DEPOSEE -> MISE_A_DISPOSITION
    auto_statuses: list[str] = field(default_factory=list)  # e.g. ["SERVICE_FAIT", "MANDATEE"]
    auto_status_delay: float = 60.0
    duplicate_check: bool = True  # invented rule: same number, same supplier, integrated
    check_seller_siret: bool = True
    rate_limit_per_second: int = 0  # 0 = off (real PISTE quotas are unknown)
    max_flux_bytes: int = 120 * 1024 * 1024
    attachment_role: str = "UTILISATEUR"  # invented vocabulary


class SimClock:
    """Sandbox time: wall time times `speed`, plus whatever `advance()` added."""

    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._base_sim = datetime.now(tz=PARIS)
        self._base_real = time.monotonic()
        self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._base_real) * self._speed
            return self._base_sim + timedelta(seconds=elapsed)

    def _rebase(self) -> None:
        now = time.monotonic()
        self._base_sim += timedelta(seconds=(now - self._base_real) * self._speed)
        self._base_real = now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._rebase()
            self._base_sim += timedelta(seconds=seconds)
        return self.now()

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._rebase()
            self._speed = speed


@dataclass
class Reply:
    status: int
    body: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """An injected failure. kind: close | status | delay | rate_limit."""

    kind: str
    route: str | None = None  # path prefix; None = every API and token call
    remaining: int | None = None  # None = until cleared
    status: int = 503
    delay: float = 0.0
    phase: str = "before"  # before: nothing is processed; after: processed, answer lost/late

    def matches(self, path: str) -> bool:
        return self.route is None or path.startswith(self.route)


@dataclass
class PisteClient:
    client_id: str
    client_secret: str
    subscriptions: set[str]


@dataclass
class Token:
    value: str
    client_id: str
    expires_at: datetime


@dataclass
class Account:
    login: str
    password: str
    scenario: str
    id_utilisateur: int
    structure_ids: list[int]
    created_at: datetime
    password_changed_at: datetime
    active: bool
    password_expired: bool


@dataclass
class Service:
    id: int
    structure_id: int
    code: str
    name: str
    active: bool
    engagement_required: bool


@dataclass
class Structure:
    id: int
    siret: str
    name: str
    public: bool
    active: bool
    has_gp: bool
    service_required: bool
    engagement_required: bool
    either: bool
    payment_status_not_reported: bool
    service_ids: list[int]


@dataclass
class Engagement:
    id: int
    number: str
    supplier_id: int
    buyer_id: int
    service_code: str
    amount_ttc: float
    state: str = "COMMANDE"


@dataclass
class Invoice:
    id: int
    number: str
    supplier_id: int
    supplier_siret: str
    buyer_siret: str
    buyer_name: str
    service_code: str
    engagement: str
    contract: str
    invoice_type: str
    invoice_date: str
    currency: str
    total_ht: float | None
    total_tax: float | None
    total_ttc: float | None
    amount_due: float | None
    flow_number: str
    deposited_at: datetime
    status: str
    status_at: datetime
    history: list[tuple[str, datetime, str]]


@dataclass
class Flow:
    number: str
    syntax: str
    file_name: str
    content: bytes
    deposited_at: datetime
    login: str
    owner_structure_ids: list[int]
    state: str
    state_at: datetime
    errors_dp: list[JSON] = field(default_factory=list)
    errors_tech: list[JSON] = field(default_factory=list)
    invoice_ids: list[int] = field(default_factory=list)
    processed: bool = False
    _invoice_numbers: list[str] | None = field(default=None, repr=False)

    @property
    def invoice_numbers(self) -> list[str]:
        """The invoice numbers read from the file, for the `/_sim` statistics: read when
        asked, so that a deposit does not pay for the harness's instrumentation."""
        if self._invoice_numbers is None:
            self._invoice_numbers = _invoice_numbers_hint(self.file_name, self.content)
        return self._invoice_numbers


def _fmt_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _fmt_minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _paging(body: JSON, key: str, default: int) -> tuple[int, int]:
    params = body.get(key)
    params = params if isinstance(params, dict) else {}
    page = params.get("pageResultatDemandee", 1)
    size = params.get("nbResultatsParPage", default)
    page = page if isinstance(page, int) and page >= 1 else 1
    size = size if isinstance(size, int) and size >= 1 else default
    return page, size


def _paged(items: list[Any], page: int, size: int) -> tuple[list[Any], JSON]:
    total = len(items)
    pages = (total + size - 1) // size
    chunk = items[(page - 1) * size : page * size]
    return chunk, {"nbResultatsParPage": size, "pageCourante": page, "pages": pages, "total": total}


def _ok(libelle: str = LIBELLE_OK, **values: Any) -> Reply:
    return Reply(200, {"codeRetour": 0, "libelle": libelle, **values})


def _refusal(code: int, libelle: str, status: int = 200, **values: Any) -> Reply:
    return Reply(status, {"codeRetour": code, "libelle": libelle, **values})


class Platform:
    """PISTE + Chorus Pro, in memory."""

    def __init__(self, config: SandboxConfig | None = None, *, speed: float = 1.0) -> None:
        self._lock = threading.RLock()
        self._initial_config = config or SandboxConfig()
        self._initial_speed = speed
        self.clock = SimClock(speed)
        # Sequences survive resets, so a flow number is never handed out twice by one process,
        # and they start from the wall clock so restarts do not reuse numbers either.
        self._flow_seq = int(time.time() * 10)
        self._invoice_seq = int(time.time()) % 10**9
        self.reset()

    # --- seed and control ---------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed: data, config, faults, counters, clock speed."""
        with self._lock:
            self.config = SandboxConfig(**asdict(self._initial_config))
            self.clock.set_speed(self._initial_speed)
            now = self.clock.now()
            self.faults: list[Fault] = []
            self.requests: deque[JSON] = deque(maxlen=200)
            self.calls: Counter[str] = Counter()
            self.tokens_issued = 0
            self._rate_window: deque[float] = deque()
            self.piste_clients = {
                c.client_id: PisteClient(c.client_id, c.client_secret, set(c.subscriptions))
                for c in seed.PISTE_CLIENTS
            }
            self.tokens: dict[str, Token] = {}
            self.structures: dict[int, Structure] = {}
            self.services: dict[int, Service] = {}
            service_id = 200_001
            for index, item in enumerate(seed.STRUCTURES):
                structure = Structure(
                    id=100_001 + index,
                    siret=item.siret,
                    name=item.name,
                    public=item.public,
                    active=item.active,
                    has_gp=item.has_gp,
                    service_required=item.requires in {"service", "service_and_engagement"},
                    engagement_required=item.requires in {"engagement", "service_and_engagement"},
                    either=item.requires == "service_or_engagement",
                    payment_status_not_reported=item.payment_status_not_reported,
                    service_ids=[],
                )
                for svc in item.services:
                    self.services[service_id] = Service(
                        service_id,
                        structure.id,
                        svc.code,
                        svc.name,
                        svc.active,
                        svc.engagement_required,
                    )
                    structure.service_ids.append(service_id)
                    service_id += 1
                self.structures[structure.id] = structure
            by_siret = {s.siret: s.id for s in self.structures.values()}
            self.accounts = {
                a.login: Account(
                    login=a.login,
                    password=a.password,
                    scenario=a.scenario,
                    id_utilisateur=a.id_utilisateur,
                    structure_ids=[by_siret[s] for s in a.structure_sirets],
                    created_at=now - timedelta(seconds=a.created_seconds_ago),
                    password_changed_at=now - timedelta(seconds=a.created_seconds_ago),
                    active=a.active,
                    password_expired=a.password_expired,
                )
                for a in seed.ACCOUNTS
            }
            self.engagements = [
                Engagement(
                    300_001 + i,
                    e.number,
                    by_siret[e.supplier_siret],
                    by_siret[e.buyer_siret],
                    e.service_code,
                    e.amount_ttc,
                )
                for i, e in enumerate(seed.ENGAGEMENTS)
            ]
            self.flows: dict[str, Flow] = {}
            self.invoices: dict[int, Invoice] = {}

    def seed_data(self) -> JSON:
        """The --list JSON plus ids and the extra PISTE clients (for tests and scripts)."""
        with self._lock:
            listing = seed.seed_listing()
            by_siret = {s.siret: s for s in self.structures.values()}
            for item in listing["structures"]:  # type: ignore[union-attr]
                item["id_structure_cpp"] = by_siret[item["siret"]].id
            listing["piste_clients"] = [
                {
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "description": c.description,
                }
                for c in seed.PISTE_CLIENTS
            ]
            listing["engagements"] = [
                {
                    "number": e.number,
                    "supplier_siret": e.supplier_siret,
                    "buyer_siret": e.buyer_siret,
                    "service_code": e.service_code,
                }
                for e in seed.ENGAGEMENTS
            ]
            listing["supplier_siret"] = seed.SUPPLIER_SIRET
            return listing

    def set_config(self, values: JSON) -> JSON:
        with self._lock:
            known = {f.name for f in fields(SandboxConfig)}
            unknown = set(values) - known - {"clock_speed"}
            if unknown:
                raise ValueError(f"unknown config keys: {sorted(unknown)}")
            for key, value in values.items():
                if key == "clock_speed":
                    self.clock.set_speed(float(value))
                else:
                    setattr(self.config, key, value)
            return self.get_config()

    def get_config(self) -> JSON:
        with self._lock:
            return {**asdict(self.config), "clock_speed": self.clock.speed}

    def add_fault(self, fault: Fault) -> None:
        if fault.kind not in {"close", "status", "delay", "rate_limit"}:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        if fault.phase not in {"before", "after"}:
            raise ValueError(f"unknown fault phase {fault.phase!r}")
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, path: str) -> Fault | None:
        """The fault that applies to this call, consuming one of its uses."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record_request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        with self._lock:
            self.calls[path] += 1
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "headers": headers,
                    "body": body.decode("utf-8", errors="replace"),
                }
            )

    def stats(self) -> JSON:
        with self._lock:
            self._tick()
            deposits: Counter[str] = Counter()
            for flow in self.flows.values():
                for number in set(flow.invoice_numbers):
                    deposits[number] += 1
            return {
                "calls": dict(self.calls),
                "tokens_issued": self.tokens_issued,
                "flows": len(self.flows),
                "invoices": len(self.invoices),
                "deposits_by_invoice_number": dict(deposits),
                "flows_by_state": dict(Counter(f.state for f in self.flows.values())),
                "invoices_by_status": dict(Counter(i.status for i in self.invoices.values())),
            }

    def expire_tokens(self) -> None:
        with self._lock:
            past = self.clock.now() - timedelta(seconds=1)
            for token in self.tokens.values():
                token.expires_at = past

    def set_subscriptions(self, client_id: str, subscriptions: list[str]) -> None:
        with self._lock:
            self.piste_clients[client_id].subscriptions = set(subscriptions)

    def update_account(self, login: str, values: JSON) -> JSON:
        """Change a technical account: password, active, password_expired, has_gp,
        created_seconds_ago (recreate it that long ago)."""
        with self._lock:
            account = self.accounts[login]
            now = self.clock.now()
            if "password" in values:
                account.password = str(values["password"])
                account.password_changed_at = now
                account.password_expired = False
            if "active" in values:
                account.active = bool(values["active"])
            if "password_expired" in values:
                account.password_expired = bool(values["password_expired"])
            if "created_seconds_ago" in values:
                account.created_at = now - timedelta(seconds=float(values["created_seconds_ago"]))
                account.password_changed_at = account.created_at
            if "has_gp" in values:
                for structure_id in account.structure_ids:
                    self.structures[structure_id].has_gp = bool(values["has_gp"])
            return {
                "login": login,
                "active": account.active,
                "password_expired": account.password_expired,
            }

    def dump_flows(self) -> list[JSON]:
        with self._lock:
            self._tick()
            return [
                {
                    "numeroFluxDepot": f.number,
                    "etat": f.state,
                    "nomFichier": f.file_name,
                    "syntaxeFlux": f.syntax,
                    "login": f.login,
                    "invoice_numbers": f.invoice_numbers,
                    "invoice_ids": f.invoice_ids,
                    "listeErreurDP": f.errors_dp,
                    "listeErreurTechnique": f.errors_tech,
                    "dateDepot": _fmt_iso(f.deposited_at),
                }
                for f in self.flows.values()
            ]

    def dump_invoices(self) -> list[JSON]:
        with self._lock:
            self._tick()
            return [
                {
                    **self._invoice_json(i),
                    "history": [
                        {"code": c, "at": _fmt_minute(at), "comment": m} for c, at, m in i.history
                    ],
                }
                for i in self.invoices.values()
            ]

    def process_flows_now(self) -> int:
        """Integrate every waiting flow now, whatever the processing delay."""
        with self._lock:
            pending = [f for f in self.flows.values() if not f.processed]
            for flow in pending:
                self._process_flow(flow)
            return len(pending)

    def set_flow_state(self, number: str, state: str) -> None:
        if state not in FLOW_STATES:
            raise ValueError(f"unknown flow state {state!r}")
        with self._lock:
            flow = self.flows[number]
            if state in {"IN_INTEGRE", "IN_INTEGRE_PARTIEL", "IN_REJETE"} and not flow.processed:
                self._process_flow(flow)
            flow.processed = True
            flow.state, flow.state_at = state, self.clock.now()

    def set_invoice_status(
        self,
        *,
        status: str,
        invoice_id: int | None = None,
        number: str | None = None,
        comment: str = "",
    ) -> JSON:
        """Move an invoice to a later status, recording the intermediate ones (§8.9 graph)."""
        with self._lock:
            self._tick()
            if invoice_id is None:
                matches = [i for i in self.invoices.values() if i.number == number]
                if not matches:
                    raise KeyError(f"no invoice numbered {number!r}")
                invoice = max(matches, key=lambda i: i.id)
            else:
                invoice = self.invoices[invoice_id]
            path = _status_path(invoice.status, status)
            if path is None:
                raise ValueError(f"{status} is not reachable from {invoice.status}")
            now = self.clock.now()
            for step in path:
                invoice.history.append((step, now, comment if step == status else ""))
            invoice.status, invoice.status_at = status, now
            return self._invoice_json(invoice)

    # --- time ---------------------------------------------------------------------------------

    def _tick(self) -> None:
        """Move flows and invoices on according to the sandbox clock (lazy, under the lock)."""
        now = self.clock.now()
        for flow in self.flows.values():
            if flow.processed:
                continue
            age = (now - flow.deposited_at).total_seconds()
            if age >= self.config.processing_delay:
                self._process_flow(flow)
            elif age >= self.config.processing_delay / 2 and flow.state == WAITING:
                flow.state, flow.state_at = (
                    PROCESSING,
                    flow.deposited_at + timedelta(seconds=self.config.processing_delay / 2),
                )
        for invoice in self.invoices.values():
            self._advance_invoice(invoice, now)

    def _advance_invoice(self, invoice: Invoice, now: datetime) -> None:
        if invoice.status in {"DEPOSEE", "EN_COURS_ACHEMINEMENT"}:
            due = invoice.deposited_at + timedelta(seconds=self.config.availability_delay)
            if now < due:
                return
            if invoice.status == "DEPOSEE":
                invoice.history.append(("EN_COURS_ACHEMINEMENT", due, ""))
            invoice.history.append(("MISE_A_DISPOSITION", due, ""))
            invoice.status, invoice.status_at = "MISE_A_DISPOSITION", due
        plan = self.config.auto_statuses
        while plan:
            done = [code for code, _, _ in invoice.history]
            upcoming = [s for s in plan if s not in done]
            if not upcoming:
                return
            due = invoice.status_at + timedelta(seconds=self.config.auto_status_delay)
            path = _status_path(invoice.status, upcoming[0])
            if now < due or path is None:
                return
            for step in path:
                invoice.history.append((step, due, ""))
            invoice.status, invoice.status_at = upcoming[0], due

    # --- gateway (§8.2) ---------------------------------------------------------------------------

    def handle_token(self, headers: dict[str, str], body: bytes) -> Reply:
        """`POST /api/oauth/token` (§8.1)."""
        with self._lock:
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded":
                return Reply(
                    400,
                    {"error": "invalid_request", "error_description": "form-encoded body expected"},
                )
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            if form.get("grant_type") != "client_credentials":
                return Reply(
                    400,
                    {
                        "error": "unsupported_grant_type",
                        "error_description": "grant_type must be client_credentials",
                    },
                )
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            basic = headers.get("authorization", "")
            if basic.lower().startswith("basic ") and not client_id:
                try:
                    decoded = base64.b64decode(basic[6:].strip()).decode("utf-8")
                    client_id, _, secret = decoded.partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    pass
            client = self.piste_clients.get(client_id)
            if client is None or not secrets.compare_digest(
                client.client_secret.encode(), secret.encode()
            ):
                return Reply(
                    400,
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed",
                    },
                )
            value = secrets.token_urlsafe(32)
            lifetime = self.config.token_lifetime
            self.tokens[value] = Token(
                value, client.client_id, self.clock.now() + timedelta(seconds=lifetime)
            )
            self.tokens_issued += 1
            return Reply(
                200,
                {
                    "access_token": value,
                    "token_type": "Bearer",
                    "expires_in": lifetime,
                    "scope": "openid",
                },
            )

    def handle_api(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """One `/cpro/...` call: gateway checks in the §8.2 order, then the operation."""
        with self._lock:
            self._tick()
            route = ROUTES.get((method, path))
            if route is None:
                return Reply(
                    self.config.unknown_route_status, headers={"WWW-Authenticate": WWW_DEFAULT}
                )
            family, operation = route
            auth = headers.get("authorization", "")
            token = self.tokens.get(auth[7:].strip()) if auth.startswith("Bearer ") else None
            if token is None or token.expires_at <= self.clock.now():
                return Reply(
                    401,
                    headers={
                        "WWW-Authenticate": (
                            'Bearer realm="PISTE",error="invalid_token",'
                            'error_description="The access token is missing, invalid or expired"'
                        )
                    },
                )
            if family not in self.piste_clients[token.client_id].subscriptions:
                return Reply(403)
            account = self._account_from_header(headers.get("cpro-account", ""))
            if account is None:
                return Reply(401, headers={"WWW-Authenticate": WWW_CPRO})
            ldap = self._ldap_refusal(account)
            if ldap is not None:
                return ldap
            if operation != "health_check" and not self._has_gp(account):
                return _refusal(
                    1,
                    "Impossible de trouver le GP (Gestionnaire principal) correspondant à "
                    f"l'utilisateur {account.login}",
                )
            payload: JSON = {}
            if method == "POST":
                try:
                    parsed = json.loads(body.decode("utf-8") or "null")
                except (UnicodeDecodeError, ValueError):
                    parsed = None
                if not isinstance(parsed, dict):
                    return _refusal(1, "Requête mal formée", status=400)
                payload = parsed
            if self._rate_limited():
                return Reply(429, headers={"Retry-After": "1"})
            return getattr(self, f"op_{operation}")(account, payload)

    def _account_from_header(self, value: str) -> Account | None:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        login, sep, password = decoded.partition(":")
        account = self.accounts.get(login)
        if not sep or account is None:
            return None
        if not secrets.compare_digest(account.password.encode(), password.encode()):
            return None
        return account

    def _ldap_refusal(self, account: Account) -> Reply | None:
        now = self.clock.now()
        expired = account.password_expired or now - account.password_changed_at > timedelta(
            days=self.config.password_lifetime_days
        )
        too_new = now - account.created_at < timedelta(
            seconds=self.config.account_activation_seconds
        )
        if too_new and self.config.recent_account_answer == "gp":
            return _refusal(
                1,
                "Impossible de trouver le GP (Gestionnaire principal) correspondant à "
                f"l'utilisateur {account.login}",
            )
        if expired or too_new or not account.active:
            return Reply(
                401,
                {
                    "codeRetour": 1,
                    "libelle": f"Impossible d'authentifier l'utilisateur {account.login} "
                    "dans le LDAP",
                },
                {"WWW-Authenticate": WWW_CPRO},
            )
        return None

    def _has_gp(self, account: Account) -> bool:
        return any(
            self.structures[s].has_gp and self.structures[s].active for s in account.structure_ids
        )

    def _rate_limited(self) -> bool:
        limit = self.config.rate_limit_per_second
        if limit <= 0:
            return False
        now = time.monotonic()
        while self._rate_window and now - self._rate_window[0] > 1.0:
            self._rate_window.popleft()
        if len(self._rate_window) >= limit:
            return True
        self._rate_window.append(now)
        return False

    # --- structures ---------------------------------------------------------------------------

    def _visible(self, account: Account, structure: Structure, restrict_private: bool) -> bool:
        return structure.public or not restrict_private or structure.id in account.structure_ids

    def _nothing_found(self, list_key: str, size: int) -> Reply:
        meta = {"nbResultatsParPage": size, "pageCourante": 1, "pages": 0, "total": 0}
        if self.config.empty_search_code:
            return _refusal(
                self.config.empty_search_code,
                "TRA_MSG_00.015",
                **{list_key: [], "parametresRetour": meta},
            )
        return _ok(**{list_key: [], "parametresRetour": meta})

    def op_structures_search(self, account: Account, body: JSON) -> Reply:
        criteria = body.get("structure")
        if not isinstance(criteria, dict):
            return _refusal(1, "Le critère 'structure' est obligatoire", status=400)
        id_type = criteria.get("typeIdentifiantStructure")
        if id_type is not None and id_type not in IDENTIFIER_TYPES:
            return _refusal(1, f"typeIdentifiantStructure invalide : {id_type}", status=400)
        restrict = body.get("restreindreStructuresPrivees", True) is not False
        page, size = _paging(body, "parametres", self.config.page_size_default)
        siret = criteria.get("identifiantStructure")
        name = str(criteria.get("raisonSocialeStructure") or "").lower()
        kind = criteria.get("typeStructure")
        status = criteria.get("statutStructure")
        found = [
            s
            for s in self.structures.values()
            if self._visible(account, s, restrict)
            and (not siret or s.siret == siret)
            and (id_type in (None, "SIRET"))
            and (not name or name in s.name.lower())
            and (not kind or kind == ("PUBLIQUE" if s.public else "PRIVEE"))
            and (not status or (status in {"ACTIF", "ACTIVE"}) == s.active)
        ]
        if not found:
            return self._nothing_found("listeStructures", size)
        chunk, meta = _paged(found, page, size)
        return _ok(
            listeStructures=[
                {
                    "idStructureCPP": s.id,
                    "identifiantStructure": s.siret,
                    "designationStructure": s.name,
                    "statut": "ACTIVE" if s.active else "INACTIVE",
                    "typeIdentifiantStructure": "SIRET",
                }
                for s in chunk
            ],
            parametresRetour=meta,
        )

    def _structure_for(self, account: Account, structure_id: Any) -> Structure | None:
        structure = self.structures.get(structure_id) if isinstance(structure_id, int) else None
        if structure is None or not self._visible(account, structure, True):
            return None
        return structure

    def op_structure_get(self, account: Account, body: JSON) -> Reply:
        structure_id = body.get("idStructureCPP", body.get("idStructure"))
        if structure_id is None:
            return _refusal(1, "Le paramètre idStructureCPP est obligatoire", status=400)
        s = self._structure_for(account, structure_id)
        if s is None:
            return _refusal(20001, "Structure inconnue")
        return _ok(
            LIBELLE_OK_GCU,
            adressePostaleDuSiege={
                "adresse": "1 place de la République",
                "codePostal": "75000",
                "complementAdresse1": "",
                "complementAdresse2": "",
                "fax": "",
                "indicatifFax": "+33",
                "indicatifTelephone": "+33",
                "pays": "France",
                "telephone": "0100000000",
                "ville": "Bac-à-Sable",
            },
            informationGenerales={
                "emailStructure": "",
                "idStructureCPP": s.id,
                "identifiantStructure": s.siret,
                "libelleStructure": s.name,
                "raisonSocialeStructure": s.name,
                "structurePriveePublique": "PUBLIQUE" if s.public else "PRIVEE",
                "typeIdentifiantStructure": "SIRET",
                "numeroTVA": "",
                "numeroRcsStructure": "",
                "nomStructure": "",
                "prenomStructure": "",
                "dateExpirationMotPasseCompteTech": None,
                "estValideurDeleguee": False,
                "idStructureOrigine": None,
                "listeStructureDupliquees": [],
            },
            parametres={
                "codeServiceDoitEtreRenseigne": s.service_required,
                "numeroEJDoitEtreRenseigne": s.engagement_required,
                "gestionNumeroEJOuCodeService": s.either,
                "connexionEDI": True,
                "recevoirDonneesViaEDI": True,
                "statutMiseEnPaiementNestPasRemonte": s.payment_status_not_reported,
                "estMoaUniquement": False,
                "estValideurDelegue": False,
                "getaMoa": False,
                "nonDiffusibleInsee": False,
            },
        )

    def _service_json(self, svc: Service) -> JSON:
        return {
            "codeService": svc.code,
            "libelleService": svc.name,
            "estActif": svc.active,
            "idService": svc.id,
            "dateDbtService": "2016-10-25 17:40",
            "dateFinService": "2050-12-31 00:00",
            "statutService": "ACTIF" if svc.active else "INACTIF",
        }

    def op_services_search(self, account: Account, body: JSON) -> Reply:
        if not isinstance(body.get("idStructure"), int):
            return _refusal(1, "Le paramètre idStructure est obligatoire", status=400)
        s = self._structure_for(account, body["idStructure"])
        if s is None:
            return _refusal(20001, "Structure inconnue")
        page, size = _paging(
            body, "parametresRechercherServicesStructure", self.config.page_size_default
        )
        chunk, meta = _paged([self.services[i] for i in s.service_ids], page, size)
        return _ok(listeServices=[self._service_json(svc) for svc in chunk], parametresRetour=meta)

    def op_service_get(self, account: Account, body: JSON) -> Reply:
        structure_id, service_id = body.get("idStructure"), body.get("idService")
        if not isinstance(structure_id, int) or not isinstance(service_id, int):
            return _refusal(
                1, "Les paramètres idStructure et idService sont obligatoires", status=400
            )
        s = self._structure_for(account, structure_id)
        svc = self.services.get(service_id)
        if s is None or svc is None or svc.structure_id != s.id:
            return _refusal(20001, "Service inconnu")
        return _ok(
            adressePostale={
                "adresse": "1 place de la République",
                "codePostal": "75000",
                "ville": "Bac-à-Sable",
                "pays": "France",
            },
            informationsGenerales={
                "codeService": svc.code,
                "descriptionService": svc.name,
                "nomService": svc.name,
            },
            parametres={
                "dateCreation": "2017-01-03T10:55:48.859+01:00",
                "dateDebutValidite": "2017-01-03T00:00:00.000+01:00",
                "dateFinValidite": "2050-12-31T00:00:00.000+01:00",
                "dateModification": "2017-01-03T10:55:48.859+01:00",
                "numeroEngagement": svc.engagement_required,
                "miseEnPaiement": False,
            },
        )

    def op_engagements_search(self, account: Account, body: JSON) -> Reply:
        number = body.get("numeroEngagementJuridique")
        receiver = body.get("structureReceptriceEngagementJuridique")
        state = body.get("etatCourantEngagementJuridique")
        page, size = _paging(body, "parametresRecherche", self.config.page_size_default)
        found = [
            e
            for e in self.engagements
            if (not number or e.number == number)
            and (receiver in (None, "") or str(receiver) == str(e.supplier_id))
            and (not state or state == e.state)
        ]
        chunk, meta = _paged(found, page, size)
        items = []
        for e in chunk:
            buyer = self.structures[e.buyer_id]
            service = next(
                (
                    self.services[i]
                    for i in buyer.service_ids
                    if self.services[i].code == e.service_code
                ),
                None,
            )
            items.append(
                {
                    "idEngagementJuridique": e.id,
                    "numeroEngagementJuridique": e.number,
                    "libelleTypeEngagementJuridique": "BON_DE_COMMANDE",
                    "structureReceptrice": str(e.supplier_id),
                    "codeServiceExecutant": e.service_code,
                    "libelleServiceExecutant": service.name if service else "",
                    "dateNotificationEJ": "2024-01-15T00:00:00+01:00",
                    "libelleEtatCourantEJ": e.state,
                    "montantTotalTtc": e.amount_ttc,
                }
            )
        return _ok(listeEngagementJuridique=items, parametresRetour=meta)

    # --- flows ------------------------------------------------------------------------------------

    def op_flow_deposit(self, account: Account, body: JSON) -> Reply:
        content_b64 = body.get("fichierFlux")
        if not isinstance(content_b64, str) or not content_b64:
            return _refusal(1, "Le fichier du flux (fichierFlux) est obligatoire", status=400)
        try:
            content = base64.b64decode(content_b64, validate=True)
        except (binascii.Error, ValueError):
            return _refusal(2, "Le fichier du flux n'est pas encodé en base 64", status=400)
        name = body.get("nomFichier")
        if not isinstance(name, str) or not name or len(name) > 200 or "." not in name.strip("."):
            return _refusal(
                3,
                "Le nom du fichier (nomFichier) est obligatoire, avec une extension, "
                "200 caractères au plus",
                status=400,
            )
        syntax = body.get("syntaxeFlux")
        if syntax not in SYNTAXES:
            return _refusal(4, f"La syntaxe du flux {syntax!r} n'est pas reconnue", status=400)
        if "avecSignature" in body and not isinstance(body["avecSignature"], bool):
            return _refusal(5, "avecSignature doit être un booléen", status=400)
        user_id = body.get("idUtilisateurCourant")
        # Real clients send 0 (GO) or nothing (OCA): only another user's id is refused.
        if user_id not in (None, 0) and user_id != account.id_utilisateur:
            return _refusal(6, "idUtilisateurCourant ne correspond pas au compte", status=400)
        if len(content) > self.config.max_flux_bytes:
            return _refusal(7, "Le fichier du flux dépasse la taille maximale", status=400)
        self._flow_seq += 1
        number = f"CPP001{SYNTAXES[syntax]}{self._flow_seq:015d}"
        now = self.clock.now()
        self.flows[number] = Flow(
            number=number,
            syntax=syntax,
            file_name=name,
            content=content,
            deposited_at=now,
            login=account.login,
            owner_structure_ids=list(account.structure_ids),
            state=WAITING,
            state_at=now,
        )
        return _ok(
            LIBELLE_OK_GCU,
            numeroFluxDepot=number,
            dateDepot=now.date().isoformat(),
            syntaxeFlux=syntax,
        )

    def _process_flow(self, flow: Flow) -> None:
        """§8.9: unpack, read, check each invoice, create the good ones, set the final state."""
        flow.processed = True
        now = self.clock.now()
        try:
            members = facturx_check.unpack(flow.file_name, flow.content)
        except facturx_check.FileError as exc:
            self._reject_technical(flow, exc, now)
            return
        created = 0
        for member_name, data in members:
            try:
                if flow.syntax == "IN_DP_E2_CII_FACTURX":
                    xml = facturx_check.extract_facturx_xml(data)
                elif flow.syntax in {"IN_DP_E1_CII_16B", "IN_DP_E1_CII"}:
                    xml = data
                else:
                    raise facturx_check.FileError(
                        "SYNTAXE_NON_SIMULEE",
                        f"La syntaxe {flow.syntax} n'est pas traitée par le bac à sable.",
                    )
                cii = facturx_check.parse_cii(xml)
            except facturx_check.FileError as exc:
                flow.errors_tech.append(
                    {
                        "codeErreur": exc.code,
                        "natureErreur": "TECHNIQUE",
                        "libelleErreur": f"{member_name} : {exc.message}",
                    }
                )
                continue
            errors = self._business_errors(flow, cii)
            if errors:
                flow.errors_dp.extend(
                    {
                        "identifiantFournisseur": cii.seller_siret,
                        "identifiantDestinataire": cii.buyer_siret,
                        "numeroDP": cii.number,
                        "libelleErreurDP": message,
                    }
                    for message in errors
                )
                continue
            self._create_invoice(flow, cii, now)
            created += 1
        total = len(members)
        if created == total:
            flow.state = "IN_INTEGRE"
        elif created:
            flow.state = "IN_INTEGRE_PARTIEL"
        else:
            flow.state = "IN_REJETE"
        flow.state_at = now

    def _reject_technical(self, flow: Flow, exc: facturx_check.FileError, now: datetime) -> None:
        flow.errors_tech.append(
            {"codeErreur": exc.code, "natureErreur": "TECHNIQUE", "libelleErreur": exc.message}
        )
        flow.state, flow.state_at = "IN_REJETE", now

    def _business_errors(self, flow: Flow, cii: facturx_check.CiiInvoice) -> list[str]:
        errors: list[str] = []
        seller = self._structure_by_siret(cii.seller_siret)
        if not cii.seller_siret:
            errors.append(
                f"L'element {_TA}.SellerTradeParty.SpecifiedLegalOrganization.ID.value "
                "est obligatoire."
            )
        elif self.config.check_seller_siret and (
            seller is None or seller.id not in flow.owner_structure_ids
        ):
            errors.append(
                "L'identifiant fournisseur de la demande de paiement (balise : SellerTradeParty."
                "SpecifiedLegalOrganization.ID.value) n'est pas reference dans notre systeme."
            )
        buyer = self._structure_by_siret(cii.buyer_siret)
        if not cii.buyer_siret:
            errors.append(
                f"L'element {_TA}.BuyerTradeParty.SpecifiedLegalOrganization.ID.value "
                "est obligatoire."
            )
        elif buyer is None or not buyer.public:
            errors.append(
                "L'identifiant destinataire de la demande de paiement (balise : BuyerTradeParty."
                "SpecifiedLegalOrganization.ID.value) n'est pas reference dans notre systeme."
            )
        elif not buyer.active:
            errors.append(f"La structure destinataire {buyer.siret} n'est pas active.")
        errors.extend(facturx_check.party_id_errors(cii))
        if buyer is not None and buyer.public and buyer.active:
            errors.extend(self._reference_errors(buyer, cii))
        if cii.type_code == "380" and not cii.payment_means_codes:
            errors.append(PAYMENT_MEANS_MESSAGE)
        transfer = set(cii.payment_means_codes) & {"30", "31", "42", "58"}
        if transfer and not cii.iban and cii.type_code == "380":  # a 381 refund needs none
            errors.append(
                "L'element FichierXml.SupplyChainTradeTransaction.ApplicableHeaderTradeSettlement."
                "SpecifiedTradeSettlementPaymentMeans.PayeePartyCreditorFinancialAccount.IBANID."
                "value est obligatoire pour un paiement par virement."
            )
        if cii.type_code == "381" and cii.has_negative_amount:
            errors.append("Un avoir (TypeCode 381) doit porter des montants positifs.")
        errors.extend(facturx_check.business_process_errors(cii))
        if cii.currency and cii.currency != "EUR":
            errors.append(f"La devise {cii.currency} n'est pas acceptee sans taux de change.")
        if not cii.number:
            errors.append("L'element FichierXml.ExchangedDocument.ID.value est obligatoire.")
        elif (
            self.config.duplicate_check
            and seller is not None
            and any(
                i.number == cii.number and i.supplier_id == seller.id
                for i in self.invoices.values()
            )
        ):
            errors.append(f"La facture numero {cii.number} existe deja pour ce fournisseur.")
        return errors

    def _reference_errors(self, buyer: Structure, cii: facturx_check.CiiInvoice) -> list[str]:
        errors: list[str] = []
        service_code, ej = cii.buyer_reference, cii.order_reference
        service = None
        if service_code:
            service = next(
                (
                    self.services[i]
                    for i in buyer.service_ids
                    if self.services[i].code == service_code
                ),
                None,
            )
            if service_code == "FACTURES_PUBLIQUES":
                errors.append(
                    "Le service FACTURES_PUBLIQUES est reserve a la facturation entre "
                    "entites publiques."
                )
            elif service is None:
                errors.append(
                    f"Le code service {service_code} (balise : BuyerReference.value) n'est pas "
                    f"reference dans notre systeme pour le destinataire {buyer.siret}."
                )
            elif not service.active:
                errors.append(
                    f"Le service {service_code} du destinataire {buyer.siret} n'est pas actif."
                )
        if buyer.service_required and not service_code:
            errors.append(f"L'element {_TA}.BuyerReference.value est obligatoire.")
        needs_ej = buyer.engagement_required or (
            service is not None and service.engagement_required
        )
        if needs_ej and not ej:
            errors.append(
                f"L'element {_TA}.BuyerOrderReferencedDocument.IssuerAssignedID.value est "
                "obligatoire."
            )
        if buyer.either and not service_code and not ej:
            errors.append(
                "Le code service (balise : BuyerReference.value) ou le numero d'engagement "
                "(balise : BuyerOrderReferencedDocument.IssuerAssignedID.value) doit etre "
                "renseigne."
            )
        return errors

    def _structure_by_siret(self, siret: str) -> Structure | None:
        return next((s for s in self.structures.values() if s.siret == siret), None)

    def _create_invoice(self, flow: Flow, cii: facturx_check.CiiInvoice, now: datetime) -> None:
        seller = self._structure_by_siret(cii.seller_siret)
        supplier_id = seller.id if seller else flow.owner_structure_ids[0]
        buyer = self._structure_by_siret(cii.buyer_siret)
        self._invoice_seq += 1

        def as_float(value: Any) -> float | None:
            return float(value) if value is not None else None

        invoice = Invoice(
            id=self._invoice_seq,
            number=cii.number,
            supplier_id=supplier_id,
            supplier_siret=cii.seller_siret,
            buyer_siret=cii.buyer_siret,
            buyer_name=buyer.name if buyer else "",
            service_code=cii.buyer_reference,
            engagement=cii.order_reference,
            contract=cii.contract_reference,
            invoice_type="AVOIR" if cii.type_code == "381" else "FACTURE",
            invoice_date=cii.issue_date,
            currency=cii.currency or "EUR",
            total_ht=as_float(cii.total_ht),
            total_tax=as_float(cii.total_tax),
            total_ttc=as_float(cii.total_ttc),
            amount_due=as_float(cii.amount_due),
            flow_number=flow.number,
            deposited_at=now,
            status="DEPOSEE",
            status_at=now,
            history=[("DEPOSEE", now, "")],
        )
        self.invoices[invoice.id] = invoice
        flow.invoice_ids.append(invoice.id)

    def _flow_for(self, account: Account, number: Any) -> Flow | None:
        flow = self.flows.get(number) if isinstance(number, str) else None
        if flow is None or not set(flow.owner_structure_ids) & set(account.structure_ids):
            return None
        return flow

    def op_flow_report(self, account: Account, body: JSON) -> Reply:
        number = body.get("numeroFluxDepot")
        if not number:
            return _refusal(1, "Le paramètre numeroFluxDepot est obligatoire", status=400)
        flow = self._flow_for(account, number)
        if flow is None or (body.get("syntaxeFlux") and body["syntaxeFlux"] != flow.syntax):
            return _refusal(20001, "Flux inconnu")
        interface = f"FSO{SYNTAXES[flow.syntax]}A"
        return _ok(
            codeInterfaceDepotFlux=interface,
            dateDepotFlux=_fmt_iso(flow.deposited_at),
            dateHeureEtatCourantFlux=_fmt_iso(flow.state_at),
            etatCourantDepotFlux=flow.state,
            nomFichier=f"{interface}_CPP001_{flow.number}",
            listeErreurDP=list(flow.errors_dp),
            listeErreurTechnique=list(flow.errors_tech),
        )

    def op_flow_report_pdf(self, account: Account, body: JSON) -> Reply:
        number = body.get("numeroFluxDepot")
        if not number:
            return _refusal(1, "Le paramètre numeroFluxDepot est obligatoire", status=400)
        flow = self._flow_for(account, number)
        if flow is None:
            return _refusal(20001, "Flux inconnu")
        return _ok(
            numeroFluxDepot=flow.number,
            codeInterfaceFlux=f"FSO{SYNTAXES[flow.syntax]}A",
            codeAppliPartenaire="CPP001",
            designationPartenaire="Bac à sable Chorale",
            dateDepotFlux=_fmt_iso(flow.deposited_at),
            dateHeureEtatCourantFlux=_fmt_iso(flow.state_at),
            etatCourantFlux=flow.state,
            nomFichierFlux=flow.file_name,
            fichierCR=base64.b64encode(b"%PDF-1.4\n% compte rendu du bac a sable\n").decode(),
        )

    # --- invoices ---------------------------------------------------------------------------------

    def _invoice_json(self, i: Invoice) -> JSON:
        return {
            "identifiantFactureCPP": i.id,
            "numeroFacture": i.number,
            "statut": i.status,
            "numeroFluxDepot": i.flow_number,
            "dateDepot": i.deposited_at.date().isoformat(),
            "dateFacture": i.invoice_date,
            "dateHeureEtatCourant": _fmt_minute(i.status_at),
            "codeDestinataire": i.buyer_siret,
            "designationDestinataire": i.buyer_name,
            "codeServiceExecutant": i.service_code,
            "montantHT": i.total_ht,
            "montantTTC": i.total_ttc,
            "montantAPayer": i.amount_due,
            "devise": i.currency,
            "typeFacture": i.invoice_type,
            "typeDemandePaiement": "FACTURE",
            "modeDepot": "DEPOT_FLUX_API",
            "numeroBonCommande": i.engagement,
            "numeroMarche": i.contract,
            "commentaireEtatCourant": i.history[-1][2],
            "rejetTraite": False,
        }

    def op_supplier_invoices_search(self, account: Account, body: JSON) -> Reply:
        page, size = _paging(body, "rechercheFactureParFournisseur", self.config.page_size_default)
        statuses = body.get("statutCourant")
        date_from, date_to = body.get("periodeDateDepotDu"), body.get("periodeDateDepotAu")
        found = [
            i
            for i in sorted(self.invoices.values(), key=lambda i: i.id)
            if i.supplier_id in account.structure_ids
            and (not body.get("numeroFluxDepot") or i.flow_number == body["numeroFluxDepot"])
            and (not body.get("numeroFacture") or i.number == body["numeroFacture"])
            and (not statuses or i.status in statuses)
            and (not date_from or i.deposited_at.date().isoformat() >= date_from)
            and (not date_to or i.deposited_at.date().isoformat() <= date_to)
            and (not body.get("typeFacture") or i.invoice_type == body["typeFacture"])
            and (not body.get("idFournisseur") or i.supplier_id == body["idFournisseur"])
        ]
        if not found:
            return self._nothing_found("listeFactures", size)
        chunk, meta = _paged(found, page, size)
        return _ok(listeFactures=[self._invoice_json(i) for i in chunk], parametresRetour=meta)

    def _invoice_for(self, account: Account, invoice_id: Any) -> Invoice | None:
        invoice = self.invoices.get(invoice_id) if isinstance(invoice_id, int) else None
        if invoice is None or invoice.supplier_id not in account.structure_ids:
            return None
        return invoice

    def op_supplier_invoice_get(self, account: Account, body: JSON) -> Reply:
        if "identifiantFactureCPP" not in body:
            return _refusal(1, "Le paramètre identifiantFactureCPP est obligatoire", status=400)
        i = self._invoice_for(account, body["identifiantFactureCPP"])
        if i is None:
            return _refusal(20001, "Facture inconnue")
        supplier = self.structures[i.supplier_id]
        return _ok(
            facture={
                "identifiantFactureCPP": i.id,
                "numeroFacture": i.number,
                "statutFacture": i.status,
                "modeDepot": "DEPOT_FLUX_API",
                "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
                "destinataire": {
                    "codeDestinataire": i.buyer_siret,
                    "codeServiceExecutant": i.service_code,
                    "libelleDestinataire": i.buyer_name,
                },
                "fournisseur": {
                    "codeFournisseur": supplier.siret,
                    "idFournisseur": supplier.id,
                    "designationFournisseur": supplier.name,
                },
                "references": {
                    "typeFacture": i.invoice_type,
                    "typeTva": "TVA_SUR_DEBIT",
                    "numeroBonCommande": i.engagement,
                    "numeroMarche": i.contract,
                    "dateFacture": i.invoice_date,
                    "dateDepot": i.deposited_at.date().isoformat(),
                    "codeDeviseFacture": i.currency,
                },
                "montantTotal": {
                    "montantHtTotal": i.total_ht,
                    "montantTVA": i.total_tax,
                    "montantTtcTotal": i.total_ttc,
                    "montantAPayer": i.amount_due,
                },
                "commentaire": "",
            }
        )

    def op_invoice_history(self, account: Account, body: JSON) -> Reply:
        if "idFacture" not in body:
            return _refusal(1, "Le paramètre idFacture est obligatoire", status=400)
        i = self._invoice_for(account, body["idFacture"])
        if i is None:
            return _refusal(20001, "Facture inconnue")
        entries = [
            {
                "histoStatutId": n + 1,
                "histoStatutCode": code,
                "histoStatutDatePassage": _fmt_minute(at),
                "histoStatutCommentaire": comment,
                "histoStatutUtilisateurNom": "",
                "histoStatutUtilisateurPrenom": "",
                "histoStatutUtilisateurEmail": "",
                "histoStatutUtilisateurTelephone": "",
            }
            for n, (code, at, comment) in enumerate(i.history)
        ]
        return _ok(
            idFacture=i.id,
            numeroFacture=i.number,
            modeDepot="DEPOT_FLUX_API",
            statutCourantCode=i.status,
            derniereAction={"derniereActionCode": "DEPOT", "derniereActionId": 1},
            historiquesDesStatuts={
                "histoStatut": entries,
                "nbResultatsParPageHistoStatut": len(entries),
                "pageCouranteHistoStatut": 1,
                "pagesHistoStatut": 1,
                "totalHistoStatut": len(entries),
            },
            historiquesDesActionsUtilisateurs={"histoAction": []},
            historiquesDesEvenementsComplementaires={"evenement": []},
        )

    # --- account and platform ----------------------------------------------------------------

    def op_my_attachments(self, account: Account, body: JSON) -> Reply:
        page, size = _paging(body, "parametresRecherche", self.config.page_size_default)
        structures = [self.structures[i] for i in account.structure_ids]
        chunk, meta = _paged(structures, page, size)
        return _ok(
            listeStructureRattachement=[
                {
                    "idStructure": s.id,
                    "identifiantStructure": s.siret,
                    "typeIdentifiantStructure": "SIRET",
                    "designationStructure": s.name,
                    "idRattachementStructure": 500_000 + s.id,
                    "roleUtilisateur": self.config.attachment_role,
                    "statutUtilisateur": "ACTIF",
                    "statutRattachementStructure": "ACTIF",
                    "listeServicesRattache": [
                        self._service_json(self.services[i]) for i in s.service_ids
                    ],
                }
                for s in chunk
            ],
            parametresRetour=meta,
        )

    def op_active_supplier_structures(self, account: Account, body: JSON) -> Reply:
        return _ok(
            listeStructures=[
                {"idStructureCPP": s.id, "identifiant": s.siret, "designationStructure": s.name}
                for s in (self.structures[i] for i in account.structure_ids)
            ]
        )

    def op_vat_rates(self, account: Account, body: JSON) -> Reply:
        rates = [("TVA20", 20.0), ("TVA10", 10.0), ("TVA5_5", 5.5), ("TVA2_1", 2.1)]
        return _ok(
            listeTauxTva=[
                {"codeTauxTva": code, "libelleTauxTva": f"{value} %", "valeurTauxTva": value}
                for code, value in rates
            ]
        )

    def op_health_check(self, account: Account, body: JSON) -> Reply:
        return Reply(200, {"headers": {}, "body": "OK", "statusCode": "OK", "statusCodeValue": 200})


def _status_path(current: str, target: str) -> list[str] | None:
    """The shortest list of statuses leading from `current` to `target` (excluded start)."""
    queue: deque[tuple[str, list[str]]] = deque([(current, [])])
    seen = {current}
    while queue:
        status, path = queue.popleft()
        for following in INVOICE_GRAPH.get(status, ()):
            if following == target:
                return [*path, following]
            if following not in seen:
                seen.add(following)
                queue.append((following, [*path, following]))
    return None


def _invoice_numbers_hint(file_name: str, content: bytes) -> list[str]:
    """Best-effort invoice numbers of a deposited file, for `/_sim/stats` duplicate counts."""
    numbers = []
    try:
        for _, data in facturx_check.unpack(file_name, content):
            xml = data if not data.startswith(b"%PDF-") else facturx_check.extract_facturx_xml(data)
            numbers.append(facturx_check.parse_cii(xml).number)
    except facturx_check.FileError:
        pass
    return [n for n in numbers if n]


ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/cpro/structures/v1/rechercher"): ("structures", "structures_search"),
    ("POST", "/cpro/structures/v1/consulter"): ("structures", "structure_get"),
    ("POST", "/cpro/structures/v1/rechercher/services"): ("structures", "services_search"),
    ("POST", "/cpro/structures/v1/consulter/service"): ("structures", "service_get"),
    ("POST", "/cpro/engagementsJuridiques/v1/rechercher"): (
        "engagementsJuridiques",
        "engagements_search",
    ),
    ("POST", "/cpro/factures/v1/deposer/flux"): ("factures", "flow_deposit"),
    ("POST", "/cpro/factures/v1/rechercher/fournisseur"): ("factures", "supplier_invoices_search"),
    ("POST", "/cpro/factures/v1/consulter/fournisseur"): ("factures", "supplier_invoice_get"),
    ("POST", "/cpro/factures/v1/consulter/historique"): ("factures", "invoice_history"),
    ("POST", "/cpro/transverses/v1/consulterCRDetaille"): ("transverses", "flow_report"),
    ("POST", "/cpro/transverses/v1/consulterCR"): ("transverses", "flow_report_pdf"),
    ("GET", "/cpro/transverses/v1/health-check"): ("transverses", "health_check"),
    ("POST", "/cpro/transverses/v1/recuperer/tauxtva"): ("transverses", "vat_rates"),
    ("POST", "/cpro/transverses/v1/recuperer/structures/actives/fournisseur"): (
        "transverses",
        "active_supplier_structures",
    ),
    ("POST", "/cpro/utilisateurs/v1/monCompte/recuperer/rattachements"): (
        "utilisateurs",
        "my_attachments",
    ),
}
