"""Every failure of a Chorus Pro call, as one error hierarchy with stable codes.

`ChorusTransientError` means "try again later, nothing to fix on our side" (network, platform
down, 5xx, rate limit, unknown outcome of a deposit). `ChorusPermanentError` means a person
must act first (fix credentials, subscribe the PISTE application, correct a SIRET...), so a
task must not retry it.

Each error carries:
- `code`: a stable identifier (the keys of `ERROR_CATALOGUE`), safe to store and compare;
- `message_fr`: what the user must do, in French, ready to show in the sending report;
- `detail_en`: a technical detail for logs and support (never a secret: the client scrubs it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    transient: bool
    message_fr: str


# Messages say what to do. "{...}" placeholders are filled by `chorus_error(..., **context)`.
ERROR_CATALOGUE: dict[str, ErrorSpec] = {
    # --- transient: the platform or the network -------------------------------------------
    "platform_unreachable": ErrorSpec(
        True,
        "La plateforme Chorus Pro n'est pas accessible pour le moment (pas de réponse ou "
        "connexion impossible). Réessayez plus tard ; si le problème persiste, vérifiez sur "
        "le portail Chorus Pro que la plateforme fonctionne.",
    ),
    "platform_error": ErrorSpec(
        True,
        "La plateforme Chorus Pro a rencontré une erreur technique. Réessayez plus tard ; si "
        "le problème persiste, contactez le support Chorus Pro.",
    ),
    "rate_limited": ErrorSpec(
        True,
        "Chorus Pro limite le nombre d'appels (quota PISTE atteint). L'envoi sera retenté "
        "automatiquement dans quelques instants.",
    ),
    "malformed_response": ErrorSpec(
        True,
        "Chorus Pro a renvoyé une réponse illisible. Réessayez plus tard ; si le problème "
        "persiste, contactez le support.",
    ),
    "siret_check_failed": ErrorSpec(
        True,
        "Problème technique lors de la vérification du SIRET. Cela peut venir : d'une panne "
        "de Chorus Pro (vérifiez que le portail Chorus Pro fonctionne) ; d'un mot de passe "
        "technique à réinitialiser sur Chorus Pro (« mot de passe oublié »), à recopier "
        "ensuite dans les paramètres de l'entreprise ; ou de l'horloge de l'ordinateur qui "
        "n'est pas à l'heure.",
    ),
    "deposit_outcome_unknown": ErrorSpec(
        True,
        "La réponse de Chorus Pro au dépôt de la facture n'est pas parvenue : la facture a "
        "peut-être été reçue. Ne la déposez pas de nouveau avant d'avoir vérifié sur Chorus "
        "Pro qu'elle n'y figure pas ; la vérification est faite automatiquement avant tout "
        "nouvel envoi.",
    ),
    # --- permanent: somebody must act --------------------------------------------------
    "credentials_missing": ErrorSpec(
        False,
        "Les paramètres Chorus Pro sont incomplets : renseignez l'identifiant et le mot de "
        "passe du compte technique dans les paramètres de l'entreprise, et les identifiants "
        "PISTE dans la configuration du serveur.",
    ),
    "piste_bad_client": ErrorSpec(
        False,
        "Les identifiants de l'application PISTE (client_id / client_secret) sont refusés. "
        "Vérifiez-les sur piste.gouv.fr (application de votre compte, environnement bac à "
        "sable ou production) et corrigez la configuration du serveur.",
    ),
    "piste_token_error": ErrorSpec(
        False,
        "Le serveur d'authentification PISTE a refusé la demande de jeton. Vérifiez la "
        "configuration PISTE (URL d'authentification, identifiants de l'application).",
    ),
    "piste_token_rejected": ErrorSpec(
        False,
        "Le jeton d'accès PISTE est refusé par Chorus Pro même après renouvellement. "
        "Vérifiez que l'application PISTE correspond bien à l'environnement utilisé "
        "(bac à sable ou production).",
    ),
    "api_not_subscribed": ErrorSpec(
        False,
        "L'application PISTE n'a pas accès à l'API Chorus Pro « {api} ». Sur piste.gouv.fr, "
        "ouvrez votre application, acceptez les conditions d'utilisation (CGU) et cochez les "
        "API Factures, Structures, Utilisateurs, Transverses et Engagements juridiques.",
    ),
    # The seed's words first (vendor guide §5.2.5 and §5.2.6), then what to do.
    "auth_ldap": ErrorSpec(
        False,
        "Une erreur est survenue lors de la communication avec Chorus Pro. Erreur : Impossible "
        "d'authentifier l'utilisateur {login} dans le LDAP. "
        "Vérifiez l'identifiant et le mot de passe technique dans Paramètres > Entreprises "
        "(la fiche de l'entreprise, « Compte technique Chorus Pro »). Si vous ne connaissez "
        "pas le mot de passe, ou s'il a expiré (il doit être changé tous les 14 mois), "
        "réinitialisez-le sur le portail Chorus Pro (« mot de passe oublié ») puis "
        "recopiez-le. Un compte technique tout juste créé n'est utilisable qu'au bout "
        "d'environ 30 minutes.",
    ),
    "gp_not_found": ErrorSpec(
        False,
        "Erreur : Impossible de trouver le GP (Gestionnaire principal) correspondant à "
        "l'utilisateur. "
        "Chorus Pro ne trouve pas le gestionnaire principal (GP) lié au compte technique. "
        "La création d'un compte technique n'est effective qu'environ 30 minutes après la "
        "demande : si le compte vient d'être créé, attendez puis renvoyez la facture. Sinon, "
        "vérifiez sur le portail Chorus Pro que le compte technique est rattaché à la "
        "structure de l'entreprise et que celle-ci a un gestionnaire principal.",
    ),
    "structure_unknown": ErrorSpec(
        False,
        "Aucune structure publique n'est enregistrée dans Chorus Pro pour le SIRET {siret}. "
        "Vérifiez le SIRET du client (il doit être celui de l'entité publique destinataire).",
    ),
    "structure_inactive": ErrorSpec(
        False,
        "La structure {siret} est inactive dans Chorus Pro : elle ne reçoit plus de factures. "
        "Demandez au client le SIRET à utiliser désormais.",
    ),
    "service_unknown": ErrorSpec(
        False,
        "Ce service n'existe pas (ou plus) pour ce destinataire dans Chorus Pro. Mettez à "
        "jour la liste des services du client et choisissez-en un autre.",
    ),
    "flow_unknown": ErrorSpec(
        False,
        "Chorus Pro ne connaît pas ce dépôt (numéro de flux inconnu pour ce compte "
        "technique). Vérifiez que le compte technique utilisé est celui qui a déposé la "
        "facture.",
    ),
    "invoice_unknown": ErrorSpec(
        False,
        "Chorus Pro ne connaît pas cette facture pour ce compte technique.",
    ),
    "deposit_rejected": ErrorSpec(
        False,
        "Chorus Pro a refusé le fichier déposé : « {libelle} ». Corrigez la facture puis "
        "renvoyez-la.",
    ),
    "request_rejected": ErrorSpec(
        False,
        "Chorus Pro a refusé la demande : « {libelle} ». Contactez le support de l'application.",
    ),
    "business_error": ErrorSpec(
        False,
        "Chorus Pro a refusé la demande : « {libelle} ».",
    ),
    "route_not_found": ErrorSpec(
        False,
        "Cette opération n'existe pas sur Chorus Pro (adresse inconnue). Vérifiez l'URL de "
        "l'API Chorus Pro dans la configuration du serveur.",
    ),
    "redirected": ErrorSpec(
        False,
        "Chorus Pro a répondu par une redirection (code HTTP {status}) vers une autre "
        "adresse ; l'application ne la suit pas, pour ne jamais y envoyer les identifiants. "
        "Vérifiez les URL de l'API et d'authentification Chorus Pro dans la configuration du "
        "serveur (https, nom d'hôte exact).",
    ),
    "unexpected_http_status": ErrorSpec(
        False,
        "Chorus Pro a répondu de façon inattendue (code HTTP {status}). Contactez le support "
        "de l'application.",
    ),
}


class ChorusError(Exception):
    """Base of every Chorus Pro failure. Never carries a secret."""

    transient: bool = False

    def __init__(
        self,
        code: str,
        message_fr: str,
        detail_en: str = "",
        *,
        http_status: int | None = None,
        code_retour: int | None = None,
    ) -> None:
        super().__init__(code, message_fr, detail_en)
        self.code = code
        self.message_fr = message_fr
        self.detail_en = detail_en
        self.http_status = http_status
        self.code_retour = code_retour

    def __str__(self) -> str:
        return f"[{self.code}] {self.detail_en or self.message_fr}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, detail_en={self.detail_en!r}, "
            f"http_status={self.http_status!r}, code_retour={self.code_retour!r})"
        )


class ChorusTransientError(ChorusError):
    """Retrying later may succeed without anybody changing anything."""

    transient = True


class ChorusPermanentError(ChorusError):
    """Retrying will fail again until somebody fixes something (see `message_fr`)."""

    transient = False


def chorus_error(
    code: str,
    detail_en: str = "",
    *,
    http_status: int | None = None,
    code_retour: int | None = None,
    **context: object,
) -> ChorusError:
    """Build the error of `code` with its catalogue message (placeholders from `context`)."""
    spec = ERROR_CATALOGUE[code]
    values = {"api": "", "siret": "", "libelle": "", "login": "", "status": http_status or ""}
    values.update({key: "" if value is None else value for key, value in context.items()})
    message = spec.message_fr.format(**values)
    cls = ChorusTransientError if spec.transient else ChorusPermanentError
    return cls(code, message, detail_en, http_status=http_status, code_retour=code_retour)
