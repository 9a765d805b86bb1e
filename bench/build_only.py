"""A Celery task for bench/sending.py only (the worker loads it with --include): build an
invoice's Factur-X on the sending workers and throw it away. It is the build-only reference
of the sending benchmark: same workers, same queue, same database read, nothing else."""

import time
from functools import lru_cache

import redis
from celery import shared_task

from facturx_export.services import facturx_build
from invoicing.models import Invoice


@lru_cache
def _counter(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@shared_task(ignore_result=True)
def build_only(invoice_id: int, counter_url: str) -> None:
    facturx_build(Invoice.objects.select_related("company", "customer").get(pk=invoice_id))
    counter = _counter(counter_url)
    counter.set("bench:last", time.time())  # the end of the build-only window
    counter.incr("bench:built")
