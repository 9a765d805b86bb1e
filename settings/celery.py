import gc
import os
import tempfile

from celery import Celery
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")

app = Celery("chorale")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def use_var_dir_for_temporary_files(**kwargs) -> None:
    """On the file-system broker, kombu moves every message it reads into the temporary
    directory, reads it there and deletes it (store_processed off): keep those files under
    CHORALE_VAR_DIR like the rest of the broker, not in a shared /tmp. Set before the pool
    starts, so that its processes inherit it."""
    from django.conf import settings

    if not str(app.conf.broker_url).startswith("filesystem"):
        return
    settings.WORKER_TMP_DIR.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(settings.WORKER_TMP_DIR)


@worker_process_init.connect  # each process of a prefork pool
@worker_ready.connect  # the worker itself (the threads and solo pools run tasks in it)
def _freeze_startup_objects(**kwargs) -> None:
    """Move the objects of the start-up (Django, WeasyPrint, fonts, stylesheets) out of the
    garbage collector's sight: its full collections no longer walk them on every sending."""
    gc.collect()
    gc.freeze()


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(**kwargs) -> None:
    """What Django does between two requests: keep the connection (CONN_MAX_AGE) unless it
    broke or aged. Celery's own default closes it around every task (CELERY_DB_REUSE_MAX),
    so every sending paid a new PostgreSQL backend and its cold catalog caches."""
    from django.db import close_old_connections

    close_old_connections()
