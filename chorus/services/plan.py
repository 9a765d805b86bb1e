"""The yearly sending plan ("volumétrie"): one count per deposited invoice, never exceeded.

Each send reserves one unit before anything irreversible happens (finalisation), and the
reservation is turned into a count once Chorus Pro has the flow, or released on failure.
Reservations count against the allowance, so concurrent sends can never exceed it.
"""

from django.db import transaction
from django.db.models import F
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


def plan_requestable(dossier: Dossier) -> int:
    """Sends a new request may still take: what is left, less the sends already queued or
    running that have not reserved theirs yet (they will, before this one)."""
    waiting = Submission.objects.filter(
        dossier=dossier,
        status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING],
        plan_state__in=[Submission.PlanState.NONE, Submission.PlanState.RELEASED],
    ).count()
    return max(plan_remaining(dossier) - waiting, 0)


def plan_warning(dossier: Dossier) -> str:
    """The seed's warning when 10 sends or fewer are left, else ''."""
    # At 0 the seed says only that the volume is reached (exhausted_message), never both.
    if 0 < plan_requestable(dossier) <= WARNING_THRESHOLD:
        return warning_message(dossier.chorus_yearly_allowance)
    return ""


@transaction.atomic
def plan_reserve(*, submission_id: int) -> Submission:
    """Reserve one send for the submission (idempotent). Raises PlanExhausted."""
    submission = (
        Submission.objects.select_for_update(of=("self",), no_key=True)
        .select_related("dossier")
        .defer("facturx_file")
        .get(pk=submission_id)
    )
    if submission.plan_state not in {Submission.PlanState.RESERVED, Submission.PlanState.COUNTED}:
        submission.plan_year = reserve_send(submission.dossier)
        submission.plan_state = Submission.PlanState.RESERVED
        submission.save(update_fields=["plan_state", "plan_year", "updated_at"])
    return submission


def reserve_send(dossier) -> int:
    """Reserve one send in the dossier's plan of the current year and return that year.
    Raises PlanExhausted. The caller records the reservation on its submission in the same
    transaction (so that it is made once)."""
    year = current_year()
    allowance = dossier.chorus_yearly_allowance
    # One conditional UPDATE: it takes the row lock, so concurrent reservations of the
    # dossier queue up on it and the allowance is never exceeded.
    room = PlanYear.objects.filter(
        dossier_id=dossier.pk, year=year, used__lt=allowance - F("reserved")
    )
    if not room.update(reserved=F("reserved") + 1):
        # Full, or the year's first send: make sure the row exists, then try once more.
        PlanYear.objects.get_or_create(dossier_id=dossier.pk, year=year)
        if not room.update(reserved=F("reserved") + 1):
            raise PlanExhausted(allowance)
    return year


def _move(submission: Submission, to_state: str) -> None:
    counted = 1 if to_state == Submission.PlanState.COUNTED else 0
    PlanYear.objects.filter(dossier_id=submission.dossier_id, year=submission.plan_year).update(
        reserved=F("reserved") - 1, used=F("used") + counted
    )
    submission.plan_state = to_state


def plan_commit(submission: Submission) -> None:
    """Turn the reservation into a count. Call inside the transaction that records the flow
    and the submission's new `plan_state` (locked row or conditional UPDATE)."""
    if submission.plan_state == Submission.PlanState.RESERVED:
        _move(submission, Submission.PlanState.COUNTED)


def plan_release(submission: Submission) -> None:
    """Give the reservation back (the invoice was not deposited). Call inside the
    transaction that saves the submission's new `plan_state`, its row locked."""
    if submission.plan_state == Submission.PlanState.RESERVED:
        _move(submission, Submission.PlanState.RELEASED)
