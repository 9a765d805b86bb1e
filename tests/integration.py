"""Integration fixtures: PostgreSQL (the test database), a private Redis, a real Celery
worker process and the Chorus Pro sandbox over HTTP."""

import os
import time

import pytest
from django.db import connection

from chorus.client import clear_token_cache
from chorus.models import Submission
from chorus.sandbox import seed
from chorus.sandbox.testing import run_sandbox
from settings.celery import app as celery_app
from tests.factories import CompanyFactory, CustomerFactory, DossierFactory
from tests.processes import CeleryWorker, RedisServer

FAST = {
    "CHORUS_SEND_MAX_RETRIES": 2,
    "CHORUS_SEND_RETRY_BACKOFF": 1,
    "CHORUS_STUCK_AFTER": 2,
    "CHORUS_REDEPOSIT_AFTER": 3,
    "CHORUS_HTTP_RETRIES": 1,
    "CHORUS_CONNECT_TIMEOUT": 2,
    "CHORUS_READ_TIMEOUT": 3,
    "CHORUS_SEND_TIME_LIMIT": 12,
    # Every test meets the technical account as it set it up, whatever ran before it.
    "CHORUS_ACCOUNT_CHECK_SECONDS": 0,
}


@pytest.fixture(scope="session")
def sandbox():
    with run_sandbox() as handle:
        yield handle


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    server.start()
    _use_broker(server.url)
    yield server
    server.stop()


def _use_broker(url: str) -> None:
    """Point this process's producers at `url`, even if an earlier test already published
    (the producer pool is bound to the broker it first connected to)."""
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    os.environ["CELERY_BROKER_URL"] = url
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 3600}
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def worker_env(django_db_setup, django_db_blocker, sandbox, redis_server):
    assert connection.vendor == "postgresql", "integration tests run on PostgreSQL"
    db = connection.settings_dict
    return {
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_server.url,
        "CHORUS_API_URL": sandbox.base_url,
        "CHORUS_TOKEN_URL": sandbox.token_url,
        "CHORUS_CLIENT_ID": sandbox.piste_client["client_id"],
        "CHORUS_CLIENT_SECRET": sandbox.piste_client["client_secret"],
        **{key: str(value) for key, value in FAST.items()},
    }


@pytest.fixture(scope="session")
def session_worker(worker_env):
    worker = CeleryWorker(worker_env, concurrency=4, name="sending")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(session_worker):
    """The running worker; restarted after a test that killed or stopped it."""
    yield session_worker
    if session_worker.process is None:
        session_worker.start()


@pytest.fixture
def chorus_settings(settings, sandbox, redis_server):
    settings.CHORUS_API_URL = sandbox.base_url
    settings.CHORUS_TOKEN_URL = sandbox.token_url
    settings.CHORUS_CLIENT_ID = sandbox.piste_client["client_id"]
    settings.CHORUS_CLIENT_SECRET = sandbox.piste_client["client_secret"]
    for key, value in FAST.items():
        setattr(settings, key, value)
    sandbox.reset()
    clear_token_cache()
    yield settings


@pytest.fixture
def seller(transactional_db, sandbox):
    account = sandbox.account("ok")
    dossier = DossierFactory(chorus_yearly_allowance=100)
    return CompanyFactory(
        dossier=dossier,
        siren=seed.SUPPLIER_SIRET[:9],
        siret=seed.SUPPLIER_SIRET,
        vat_number="FR31841234511",
        chorus_login=account["login"],
        chorus_password=account["password"],
    )


@pytest.fixture
def buyer(seller):
    return CustomerFactory(dossier=seller.dossier, siret=seed.BUYER_NONE)


def wait_finished(submission: Submission, timeout: float = 40.0) -> Submission:
    """Poll the database until the worker ends the submission (deposited or failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.is_finished:
            return submission
        time.sleep(0.1)
    raise AssertionError(
        f"submission {submission.pk} still {submission.status}: "
        f"{list(submission.report.values_list('step', 'outcome', 'message'))}"
    )


def report_of(submission: Submission) -> list[tuple[str, str, str]]:
    return list(submission.report.values_list("step", "outcome", "message"))


@pytest.fixture
def no_enqueue(monkeypatch):
    """The test runs the sending itself, in this process: nothing goes to the broker (a
    session worker started by an earlier test would otherwise race it)."""
    from chorus import tasks

    monkeypatch.setattr(tasks.send_submission, "delay", lambda *args, **kwargs: None)
