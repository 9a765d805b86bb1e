"""The sandbox's fictitious data set ("matelas de données"): PISTE clients, technical accounts,
structures, services and engagements. Every SIRET is a valid Luhn SIRET of nobody real.

`seed_listing()` is what `manage.py chorus_sandbox --list` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_SUBSCRIPTIONS = frozenset(
    {"factures", "structures", "transverses", "utilisateurs", "engagementsJuridiques"}
)


@dataclass(frozen=True)
class SeedPisteClient:
    client_id: str
    client_secret: str
    subscriptions: frozenset[str]
    description: str


@dataclass(frozen=True)
class SeedAccount:
    login: str
    password: str
    scenario: str
    id_utilisateur: int
    structure_sirets: tuple[str, ...]
    # Relative to the sandbox clock at reset time, in seconds.
    created_seconds_ago: float = 400 * 86400
    active: bool = True
    password_expired: bool = False


@dataclass(frozen=True)
class SeedService:
    code: str
    name: str
    active: bool = True
    engagement_required: bool = False


@dataclass(frozen=True)
class SeedStructure:
    siret: str
    name: str
    public: bool
    requires: str  # none | service | engagement | service_and_engagement | service_or_engagement
    active: bool = True
    has_gp: bool = True
    services: tuple[SeedService, ...] = ()
    payment_status_not_reported: bool = False


@dataclass(frozen=True)
class SeedEngagement:
    number: str
    supplier_siret: str
    buyer_siret: str
    service_code: str
    amount_ttc: float


PUBLIC_INVOICES = SeedService("FACTURES_PUBLIQUES", "Service des factures publiques")

SUPPLIER_SIRET = "84123451100019"
SUPPLIER_NO_GP_SIRET = "84234561300017"
SUPPLIER_OTHER_SIRET = "84345671600011"

BUYER_NONE = "21750001600019"
BUYER_SERVICE = "22130001500015"
BUYER_ENGAGEMENT = "26690001800018"
BUYER_BOTH = "19753001700015"
BUYER_EITHER = "13000001100010"
BUYER_INACTIVE = "20069001400010"

PISTE_CLIENTS: tuple[SeedPisteClient, ...] = (
    SeedPisteClient(
        "sandbox-chorale-client",
        "sandbox-chorale-secret-7Hq2",
        FULL_SUBSCRIPTIONS,
        "subscribed to every Chorus Pro API",
    ),
    SeedPisteClient(
        "sandbox-no-structures-client",
        "sandbox-no-structures-secret-4Kd9",
        FULL_SUBSCRIPTIONS - {"structures"},
        "not subscribed to the Structures API: 403 with an empty body",
    ),
)

ACCOUNTS: tuple[SeedAccount, ...] = (
    SeedAccount("TECH_1_CHORALE_OK@cpro.fr", "Sandbox-Ok-2024!", "ok", 9001, (SUPPLIER_SIRET,)),
    SeedAccount(
        "TECH_1_ACCENTS@cpro.fr",
        "Mot-de-passe-été-Ünïcode-€",
        "ok_non_ascii_password",
        9002,
        (SUPPLIER_SIRET,),
    ),
    SeedAccount(
        "TECH_1_LDAP_KO@cpro.fr",
        "Sandbox-Ldap-2024!",
        "ldap_auth_failure",
        9003,
        (SUPPLIER_SIRET,),
        active=False,
    ),
    SeedAccount(
        "TECH_1_SANS_GP@cpro.fr",
        "Sandbox-NoGp-2024!",
        "gp_not_found",
        9004,
        (SUPPLIER_NO_GP_SIRET,),
    ),
    SeedAccount(
        "TECH_1_TOUT_NEUF@cpro.fr",
        "Sandbox-New-2024!",
        "recently_created",
        9005,
        (SUPPLIER_OTHER_SIRET,),
        created_seconds_ago=5 * 60,
    ),
    SeedAccount(
        "TECH_1_EXPIRE@cpro.fr",
        "Sandbox-Old-2022!",
        "password_expired",
        9006,
        (SUPPLIER_SIRET,),
        created_seconds_ago=500 * 86400,
        password_expired=True,
    ),
)

_MANY_SERVICES = tuple(SeedService(f"SERV-{n:02d}", f"Direction n°{n}") for n in range(1, 13)) + (
    SeedService("SERV-FERME", "Service fermé", active=False),
)

STRUCTURES: tuple[SeedStructure, ...] = (
    SeedStructure(
        BUYER_NONE,
        "Commune de Bac-à-Sable-sur-Seine",
        public=True,
        requires="none",
        services=(PUBLIC_INVOICES, SeedService("MAIRIE", "Services de la mairie")),
    ),
    SeedStructure(
        BUYER_SERVICE,
        "Département de l'Essai",
        public=True,
        requires="service",
        services=(PUBLIC_INVOICES, *_MANY_SERVICES),
    ),
    SeedStructure(
        BUYER_ENGAGEMENT,
        "Centre hospitalier de la Démonstration",
        public=True,
        requires="engagement",
        services=(PUBLIC_INVOICES, SeedService("ACHATS", "Direction des achats")),
    ),
    SeedStructure(
        BUYER_BOTH,
        "Université fictive de Simulation",
        public=True,
        requires="service_and_engagement",
        services=(
            PUBLIC_INVOICES,
            SeedService("LABO-1", "Laboratoire 1"),
            SeedService("LABO-2", "Laboratoire 2", engagement_required=True),
        ),
    ),
    SeedStructure(
        BUYER_EITHER,
        "Préfecture imaginaire du Test",
        public=True,
        requires="service_or_engagement",
        services=(
            PUBLIC_INVOICES,
            SeedService("SG", "Secrétariat général"),
            SeedService("DRH", "Ressources humaines", engagement_required=True),
        ),
    ),
    SeedStructure(
        BUYER_INACTIVE,
        "Syndicat intercommunal dissous",
        public=True,
        requires="none",
        active=False,
        services=(PUBLIC_INVOICES,),
    ),
    SeedStructure(SUPPLIER_SIRET, "Chorale Démo SARL", public=False, requires="none"),
    SeedStructure(
        SUPPLIER_NO_GP_SIRET,
        "Atelier sans gestionnaire SAS",
        public=False,
        requires="none",
        has_gp=False,
    ),
    SeedStructure(
        SUPPLIER_OTHER_SIRET, "Entreprise toute neuve SAS", public=False, requires="none"
    ),
)

ENGAGEMENTS: tuple[SeedEngagement, ...] = (
    SeedEngagement("EJ-2024-000123", SUPPLIER_SIRET, BUYER_ENGAGEMENT, "ACHATS", 12000.0),
    SeedEngagement("EJ-2024-000456", SUPPLIER_SIRET, BUYER_BOTH, "LABO-2", 4800.0),
    SeedEngagement("EJ-2024-000789", SUPPLIER_SIRET, BUYER_EITHER, "DRH", 950.0),
)


def seed_listing() -> dict[str, object]:
    """The seed as the JSON shape `chorus_sandbox --list` prints (scripts rely on it)."""
    client = PISTE_CLIENTS[0]
    services_of = {s.siret: [svc.code for svc in s.services] for s in STRUCTURES}
    return {
        "piste_client": {"client_id": client.client_id, "client_secret": client.client_secret},
        "technical_accounts": [
            {"login": a.login, "password": a.password, "scenario": a.scenario} for a in ACCOUNTS
        ],
        "structures": [
            {
                "siret": s.siret,
                "name": s.name,
                "type": "PUBLIQUE" if s.public else "PRIVEE",
                "requires": s.requires if s.active else "inactive",
                "services": services_of[s.siret],
            }
            for s in STRUCTURES
        ],
    }
