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
    locked = PlanYear.objects.select_for_update(no_key=True).filter(
        dossier_id=dossier_id, year=year
    )
    row = locked.first()
    if row is None:  # the year's first send
        PlanYear.objects.get_or_create(dossier_id=dossier_id, year=year)
        row = locked.get()
    return row


@transaction.atomic
def plan_reserve(*, submission_id: int) -> Submission:
    """Reserve one send for the submission (idempotent). Raises PlanExhausted."""
    submission = (
        Submission.objects.select_for_update(of=("self",), no_key=True)
        .select_related("dossier")
        .defer("facturx_file")
        .get(pk=submission_id)
    )
    reserve_locked(submission)
    submission.save(update_fields=["plan_state", "plan_year", "updated_at"])
    return submission


def reserve_locked(submission: Submission) -> None:
    """`plan_reserve` for a caller whose transaction holds the submission's row lock; the
    caller saves `plan_state` and `plan_year`. Raises PlanExhausted."""
    if submission.plan_state in {Submission.PlanState.RESERVED, Submission.PlanState.COUNTED}:
        return
    year = current_year()
    allowance = submission.dossier.chorus_yearly_allowance
    row = _locked_year(submission.dossier_id, year)  # serialises the dossier's reservations
    if row.used + row.reserved >= allowance:
        raise PlanExhausted(allowance)
    row.reserved += 1
    row.save(update_fields=["reserved"])
    submission.plan_state = Submission.PlanState.RESERVED
    submission.plan_year = year


def _move(submission: Submission, to_state: str) -> None:
    row = _locked_year(submission.dossier_id, submission.plan_year)
    row.reserved -= 1
    if to_state == Submission.PlanState.COUNTED:
        row.used += 1
    row.save(update_fields=["reserved", "used"])
    submission.plan_state = to_state


def plan_commit(submission: Submission) -> None:
    """Turn the reservation into a count. Call inside the transaction that records the flow,
    with the submission's row locked; the caller saves `plan_state`."""
    if submission.plan_state == Submission.PlanState.RESERVED:
        _move(submission, Submission.PlanState.COUNTED)


def plan_release(submission: Submission) -> None:
    """Give the reservation back (the invoice was not deposited). Call inside a transaction,
    with the submission's row locked; the caller saves `plan_state`."""
    if submission.plan_state == Submission.PlanState.RESERVED:
        _move(submission, Submission.PlanState.RELEASED)
