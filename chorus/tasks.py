"""Celery tasks: thin wrappers that carry the retry policy and call one service."""

import logging

from celery import shared_task
from django.conf import settings

from chorus.services import sending, status_sync, sweeper

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.CHORUS_SEND_MAX_RETRIES,
    soft_time_limit=settings.CHORUS_SEND_TIME_LIMIT,
    time_limit=settings.CHORUS_SEND_TIME_LIMIT + 5,
)
def send_submission(self, submission_id: int) -> None:
    final_attempt = self.request.retries >= self.max_retries
    try:
        sending.submission_send(submission_id=submission_id, final_attempt=final_attempt)
    except sending.RetryLater as exc:
        countdown = settings.CHORUS_SEND_RETRY_BACKOFF * 2**self.request.retries
        sending.submission_postpone(submission_id=submission_id, seconds=countdown)
        raise self.retry(countdown=countdown, exc=exc) from None


@shared_task(acks_late=True)
def sweep_stuck_submissions() -> int:
    return sweeper.sweep_stuck_submissions()


@shared_task(acks_late=True, soft_time_limit=600)
def sync_statuses() -> int:
    return status_sync.sync_statuses()
