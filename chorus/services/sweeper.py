"""Re-enqueue submissions that no worker is handling (lost message, killed worker)."""

import datetime
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from chorus.models import Submission

logger = logging.getLogger(__name__)


def stuck_submissions():
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.CHORUS_STUCK_AFTER)
    return Submission.objects.filter(
        Q(status=Submission.Status.QUEUED, updated_at__lt=stale, next_attempt_at__isnull=True)
        | Q(status=Submission.Status.QUEUED, next_attempt_at__lt=now)
        | Q(status=Submission.Status.RUNNING, lease_until__lt=now)
    )


def sweep_stuck_submissions() -> int:
    """Enqueue each stuck submission again; the claim makes a duplicate task harmless."""
    from chorus import tasks

    ids = list(stuck_submissions().values_list("pk", flat=True)[:500])
    for submission_id in ids:
        logger.info("sweeper: re-enqueueing submission %s", submission_id)
        Submission.objects.filter(
            pk=submission_id, status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING]
        ).update(updated_at=timezone.now(), next_attempt_at=None)
        tasks.send_submission.delay(submission_id)
    return len(ids)
