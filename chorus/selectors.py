"""Reads of the chorus app for the browser: submissions of a dossier, and the buyer check."""

import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.fr import siret as stdnum_siret

from chorus.client import Requirement
from chorus.errors import ChorusError
from chorus.models import ReportEntry, StatusChange, Submission
from chorus.services import plan
from chorus.services.connection import client_for
from chorus.services.sending import buyer_structure
from invoicing.models import Company, Dossier, Invoice
from invoicing.selectors import clamp_day


def submission_queryset(dossier: Dossier) -> QuerySet[Submission]:
    """Every read of a submission starts from the dossier: another dossier's ids give 404."""
    return (
        Submission.objects.for_dossier(dossier)
        .select_related("invoice", "invoice__customer", "company")
        .defer("facturx_file")
    )


def submission_with_report(dossier: Dossier, pk: int) -> Submission | None:
    return (
        submission_queryset(dossier)
        .prefetch_related(
            Prefetch("report", queryset=ReportEntry.objects.order_by("at", "id")),
            Prefetch("status_changes", queryset=StatusChange.objects.order_by("changed_at", "id")),
        )
        .filter(pk=pk)
        .first()
    )


def latest_submissions(dossier: Dossier, limit: int = 10) -> list[Submission]:
    return list(submission_queryset(dossier)[:limit])


def invoice_submissions(invoice: Invoice) -> list[Submission]:
    """The submissions of one invoice, newest first, with their Chorus status history."""
    return list(
        Submission.objects.filter(invoice=invoice, dossier_id=invoice.dossier_id)
        .defer("facturx_file")
        .prefetch_related(
            Prefetch("status_changes", queryset=StatusChange.objects.order_by("changed_at", "id"))
        )
    )


def plan_usage(dossier: Dossier, year: int | None = None) -> tuple[int, int]:
    return plan.plan_usage(dossier, year)


@dataclass(frozen=True)
class SubmissionFilters:
    status: str = ""
    company_id: int | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


def _start_of(day: datetime.date) -> datetime.datetime:
    # clamp_day: `?date_to=9999-12-31` means "no end", not an overflow.
    return timezone.make_aware(datetime.datetime.combine(clamp_day(day), datetime.time.min))


def submission_search(dossier: Dossier, filters: SubmissionFilters) -> QuerySet[Submission]:
    """Submissions of a dossier, newest first; the period is the request date (Europe/Paris)."""
    qs = submission_queryset(dossier)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.company_id:
        qs = qs.filter(company_id=filters.company_id)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to:
        next_day = clamp_day(filters.date_to) + datetime.timedelta(days=1)
        qs = qs.filter(created_at__lt=_start_of(next_day))
    return qs.order_by("-created_at", "-id")


@dataclass(frozen=True)
class SiretCheck:
    ok: bool  # the structure exists and is active
    requirement: str  # a Requirement value, or "" when unknown
    message: str
    name: str = ""

    @property
    def severity(self) -> str:
        """ok (green), warn (a reference to give: amber) or error (red)."""
        if not self.ok:
            return "error"
        return "ok" if self.requirement in ("", "none") else "warn"

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "severity": self.severity,
            "requirement": self.requirement,
            "message": self.message,
            "name": self.name,
        }


def _requirement_text(requirement: Requirement, name: str) -> str:
    texts = {
        Requirement.NONE: _(
            "%(name)s : ni référence acheteur ni numéro de commande exigés par cette structure."
        ),
        Requirement.SERVICE_CODE: _("%(name)s exige la référence acheteur (service exécutant)."),
        Requirement.ENGAGEMENT: _("%(name)s exige le numéro de commande (engagement juridique)."),
        Requirement.BOTH: _(
            "%(name)s exige la référence acheteur (service exécutant) et le numéro de commande "
            "(engagement juridique)."
        ),
        Requirement.EITHER: _(
            "%(name)s exige la référence acheteur (service exécutant) ou le numéro de commande "
            "(engagement juridique)."
        ),
    }
    return texts[requirement] % {"name": name}


def siret_check(company: Company, siret: str) -> SiretCheck:
    """What the buyer's Chorus Pro structure requires, asked before sending."""
    siret = "".join((siret or "").split())
    if not siret:
        return SiretCheck(False, "", _("Le Siret du client est obligatoire pour l'envoi."))
    if not stdnum_siret.is_valid(siret):
        return SiretCheck(
            False,
            "",
            _("« %(siret)s » n'est pas un SIRET valide (14 chiffres, clé de contrôle).")
            % {"siret": siret},
        )
    if not company.has_chorus_credentials:
        return SiretCheck(
            False,
            "",
            _(
                "Le compte technique Chorus Pro de l'entreprise %(company)s n'est pas "
                "renseigné : saisissez son login et son mot de passe dans Paramètres > "
                "Entreprise."
            )
            % {"company": company.name},
        )
    try:
        detail = buyer_structure(client_for(company), siret).detail
    except ChorusError as exc:
        return SiretCheck(False, "", exc.message_fr)
    name = detail.name or siret
    return SiretCheck(
        True, detail.requirement.value, _requirement_text(detail.requirement, name), name
    )
