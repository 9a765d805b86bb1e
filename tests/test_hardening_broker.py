"""The file-system broker (`make run`) writes only under CHORALE_VAR_DIR: never a `control/`
or `processed/` folder in the current directory, never a message in the shared /tmp."""

import json
import os
import subprocess
import sys
from pathlib import Path

from kombu.transport import filesystem

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, *, cwd: Path, var_dir: Path, **env: str) -> str:
    """Run `code` with Chorale's settings on the default (file-system) broker."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "settings.settings",
        "DJANGO_SECRET_KEY": "tests-only-not-a-secret",
        "CHORALE_VAR_DIR": str(var_dir),
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_folder_of_the_transport_is_under_the_var_dir(tmp_path):
    var_dir = tmp_path / "var"
    out = run_python(
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))",
        cwd=tmp_path,
        var_dir=var_dir,
    )
    options = json.loads(out)
    # Every folder kombu's transport knows of (a new kombu may add one: this test says so).
    known = {name for name in vars(filesystem.Channel) if "_folder" in name}
    assert known == {"data_folder_in", "data_folder_out", "processed_folder", "control_folder"}
    assert known <= set(options)
    for name in known:
        assert Path(options[name]).is_relative_to(var_dir), name
    assert (var_dir / "broker").is_dir()


# Publishes and consumes as the web process, the worker and its broadcasts (the pidbox)
# do, and reports every file or folder written meanwhile.
EXERCISE = """
import json, os, sys
import django
django.setup()
from kombu import Exchange, Queue
from settings.celery import app, use_var_dir_for_temporary_files

written = []
def audit(event, args):
    path = None
    if event == "open" and isinstance(args[0], (str, bytes)):
        mode, flags = args[1] or "", args[2] or 0
        if any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            path = args[0]
    elif event in ("os.mkdir", "os.symlink", "os.link"):
        path = args[0] if event == "os.mkdir" else args[1]
    elif event in ("os.rename", "os.replace", "shutil.copyfile", "shutil.move"):
        path = args[1]
    if isinstance(path, (str, bytes)):
        written.append(os.path.abspath(os.fsdecode(path)))
sys.addaudithook(audit)

use_var_dir_for_temporary_files()  # on `celery worker`'s worker_init signal
with app.connection_for_write() as connection:
    with connection.SimpleQueue("celery") as queue:
        queue.put({"task": "demo"})
        queue.get(timeout=2).ack()
    pidbox = Exchange("celery.pidbox", type="fanout")
    with connection.SimpleQueue(Queue("worker.pidbox", pidbox)) as queue:
        connection.Producer().publish({"method": "ping"}, exchange=pidbox, declare=[pidbox])
        queue.get(timeout=2).ack()
print(json.dumps(written))
"""


def test_publishing_and_consuming_write_nothing_outside_the_var_dir(tmp_path):
    cwd, var_dir, system_tmp = tmp_path / "cwd", tmp_path / "var", tmp_path / "tmp"
    cwd.mkdir()
    system_tmp.mkdir()
    (var_dir / "broker").mkdir(parents=True)  # as bin/run-dev does

    out = run_python(EXERCISE, cwd=cwd, var_dir=var_dir, TMPDIR=str(system_tmp))

    written = json.loads(out.strip().splitlines()[-1])
    assert written  # the audit saw the broker at work
    outside = [path for path in written if not Path(path).is_relative_to(var_dir)]
    assert outside == []
    assert list(cwd.iterdir()) == []
    assert (var_dir / "broker" / "control").is_dir()
