"""Follow deposited invoices on Chorus Pro: the flow's integration, then the invoice status."""

import datetime
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from chorus.client import INVOICE_FINAL_STATUSES, ChorusClient
from chorus.errors import ChorusError
from chorus.models import ReportEntry, StatusChange, Submission
from chorus.services.connection import client_for

logger = logging.getLogger(__name__)

FLOW_REJECTED = "FLUX_REJETE"
SYNC_FIELDS = [
    "flow_status",
    "chorus_invoice_id",
    "chorus_status",
    "chorus_status_at",
    "sync_done",
    "last_synced_at",
    "updated_at",
]
# Chorus Pro does not know the flow or the invoice: polling again will not change that.
GIVE_UP = {"flow_unknown", "invoice_unknown"}


def _aware(value: str) -> datetime.datetime:
    parsed = parse_datetime(value) if value else None
    if parsed is None and value:
        day = parse_date(value[:10])
        parsed = datetime.datetime.combine(day, datetime.time()) if day else None
    if parsed is None:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _record(submission: Submission, code: str, at: str, comment: str = "") -> bool:
    if not _parses(at):
        # No usable date from Chorus Pro: one row per status, dated when first seen.
        if submission.status_changes.filter(code=code).exists():
            return False
    _row, created = StatusChange.objects.get_or_create(
        submission=submission, code=code, changed_at=_aware(at), defaults={"comment": comment}
    )
    return created


def _parses(value: str) -> bool:
    return bool(value) and (parse_datetime(value) or parse_date(value[:10])) is not None


def submission_sync(client: ChorusClient, submission: Submission) -> None:
    """Bring one deposited submission up to date with Chorus Pro."""
    now = timezone.now()
    if submission.chorus_invoice_id is None:
        report = client.get_flow_report(submission.flow_number)
        with transaction.atomic():
            submission.flow_status = report.state
            if report.is_failure:
                comment = " ; ".join(report.messages())
                _record(submission, FLOW_REJECTED, report.state_at, comment)
                submission.chorus_status = FLOW_REJECTED
                submission.chorus_status_at = now
                submission.sync_done = True
                ReportEntry.objects.create(
                    submission=submission,
                    step=ReportEntry.Step.STATUS,
                    outcome=ReportEntry.Outcome.ERROR,
                    message=f"Flux rejeté par Chorus Pro : {comment}",
                )
            submission.last_synced_at = now
            submission.save(update_fields=SYNC_FIELDS)
        if not report.is_final or report.is_failure:
            return
        found = client.list_supplier_invoices(flow_number=submission.flow_number)
        mine = [inv for inv in found if inv.number == submission.invoice.number] or found
        if not mine:
            return
        submission.chorus_invoice_id = mine[0].id_invoice_cpp
        submission.save(update_fields=["chorus_invoice_id", "updated_at"])
    history = client.get_invoice_history(submission.chorus_invoice_id)
    with transaction.atomic():
        for entry in history.entries:
            _record(submission, entry.code, entry.at, entry.comment)
        if submission.chorus_status != history.current_status:
            submission.chorus_status = history.current_status
            submission.chorus_status_at = now
        submission.sync_done = history.current_status in INVOICE_FINAL_STATUSES
        submission.last_synced_at = now
        submission.save(update_fields=SYNC_FIELDS)


def submissions_to_sync():
    return (
        Submission.objects.filter(status=Submission.Status.DEPOSITED, sync_done=False)
        .select_related("company", "invoice")
        .defer("facturx_file")
        .order_by(F("last_synced_at").asc(nulls_first=True), "id")  # the longest unseen first
    )


def sync_statuses(limit: int = 2000) -> int:
    """Poll Chorus Pro for every submission still moving; one client per company."""
    done = 0
    troubled: set[int] = set()  # companies whose platform calls fail: retried next run
    for submission in submissions_to_sync()[:limit]:
        if submission.company_id in troubled:
            continue
        try:
            submission_sync(client_for(submission.company), submission)
            done += 1
        except ChorusError as exc:
            logger.warning("status sync of submission %s: %s", submission.pk, exc)
            if exc.transient:
                troubled.add(submission.company_id)
            elif exc.code in GIVE_UP:
                Submission.objects.filter(pk=submission.pk).update(
                    sync_done=True, last_synced_at=timezone.now()
                )
    return done
