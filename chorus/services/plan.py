"""The yearly sending plan ("volumétrie"): one count per deposited invoice, never exceeded.

Each send reserves one unit before anything irreversible happens (finalisation), and the
reservation is turned into a count once Chorus Pro has the flow, or released on failure.
Reservations count against the allowance, so concurrent sends can never exceed it.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chorus.models import PlanYear, Submission
from invoicing.models import Dossier

WARNING_THRESHOLD = 10


class PlanExhausted(Exception):
    def __init__(self, allowance: int):
        self.allowance = allowance
        super().__init__(exhausted_message(allowance))


def current_year() -> int:
    return timezone.localdate().year  # TIME_ZONE is Europe/Paris


def exhausted_message(allowance: int) -> str:
    return _(
        "L'envoi vers Chorus Pro vous autorise à %(x)s Factures envoyées, vous avez atteint ce "
        "volume, il vous faut contacter le service clientèle pour augmenter ce volume."
    ) % {"x": allowance}


def warning_message(allowance: int) -> str:
    return _(
        "L'envoi vers Chorus Pro vous autorise à %(x)s Factures envoyées, une fois ce volume "
        "atteint, il vous faudra contacter le service clientèle pour augmenter ce volume."
    ) % {"x": allowance}


def plan_usage(dossier: Dossier, year: int | None = None) -> tuple[int, int]:
    """(sends counted, allowance) for a dossier and year (this year by default)."""
    year = year or current_year()
    row = PlanYear.objects.filter(dossier=dossier, year=year).first()
    return (row.used if row else 0), dossier.chorus_yearly_allowance


def plan_remaining(dossier: Dossier, year: int | None = None) -> int:
    year = year or current_year()
    row = PlanYear.objects.filter(dossier=dossier, year=year).first()
    taken = (row.used + row.reserved) if row else 0
    return max(dossier.chorus_yearly_allowance - taken, 0)


def plan_warning(dossier: Dossier) -> str:
    """The seed's warning when 10 sends or fewer are left, else ''."""
    if plan_remaining(dossier) <= WARNING_THRESHOLD:
        return warning_message(dossier.chorus_yearly_allowance)
    return ""


def _locked_year(dossier_id: int, year: int) -> PlanYear:
    PlanYear.objects.get_or_create(dossier_id=dossier_id, year=year)
    return PlanYear.objects.select_for_update(no_key=True).get(dossier_id=dossier_id, year=year)


@transaction.atomic
def plan_reserve(*, submission_id: int) -> Submission:
    """Reserve one send for the submission (idempotent). Raises PlanExhausted."""
    submission = (
        Submission.objects.select_for_update(no_key=True)
        .defer("facturx_file")
        .get(pk=submission_id)
    )
    if submission.plan_state in {Submission.PlanState.RESERVED, Submission.PlanState.COUNTED}:
        return submission
    year = current_year()
    dossier = Dossier.objects.select_for_update(no_key=True).get(pk=submission.dossier_id)
    row = _locked_year(dossier.pk, year)
    if row.used + row.reserved >= dossier.chorus_yearly_allowance:
        raise PlanExhausted(dossier.chorus_yearly_allowance)
    row.reserved += 1
    row.save(update_fields=["reserved"])
    submission.plan_state = Submission.PlanState.RESERVED
    submission.plan_year = year
    submission.save(update_fields=["plan_state", "plan_year", "updated_at"])
    return submission


def _move(submission: Submission, to_state: str) -> None:
    row = _locked_year(submission.dossier_id, submission.plan_year)
    row.reserved -= 1
    if to_state == Submission.PlanState.COUNTED:
        row.used += 1
    row.save(update_fields=["reserved", "used"])
    submission.plan_state = to_state
    submission.save(update_fields=["plan_state", "updated_at"])


def plan_commit(submission: Submission) -> None:
    """Turn the reservation into a count. Call inside the transaction that records the flow."""
    if submission.plan_state == Submission.PlanState.RESERVED:
        _move(submission, Submission.PlanState.COUNTED)


def plan_release(submission: Submission) -> None:
    """Give the reservation back (the invoice was not deposited). Call inside a transaction."""
    if submission.plan_state == Submission.PlanState.RESERVED:
        _move(submission, Submission.PlanState.RELEASED)
