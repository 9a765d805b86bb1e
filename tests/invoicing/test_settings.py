"""Settings from the environment: production-ready with the documented variables, loud on
mistakes."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from settings.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py with only the given variables (plus what a shell always has)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    base["CHORALE_VAR_DIR"] = str(ROOT / "var" / "test")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "factures.example.fr",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DATABASE_URL": "postgres://chorale:motdepasse@db.example.fr:5432/chorale",
    "CELERY_BROKER_URL": "redis://redis.example.fr:6379/0",
    "CHORALE_ENCRYPTION_KEY": secrets.token_urlsafe(32),
}


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output.upper()


def test_check_deploy_warns_when_https_settings_are_missing():
    insecure = PRODUCTION | {"DJANGO_HSTS_SECONDS": "0", "DJANGO_SECURE_SSL_REDIRECT": "0"}

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **insecure)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W004" in output  # HSTS
    assert "security.W008" in output  # SSL redirect


def test_a_missing_secret_key_fails_loudly_when_debug_is_off():
    settings_without_key = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}

    result = run_manage("check", **settings_without_key)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_development_runs_without_a_secret_key_when_debug_is_on():
    result = run_manage("check", DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_a_bad_boolean_in_the_environment_fails_loudly():
    result = run_manage("check", **PRODUCTION, DJANGO_DEBUG="peut-être")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("CHORALE_TEST_FLAG", raw)

    assert env_bool("CHORALE_TEST_FLAG") is expected


@pytest.mark.parametrize("raw", ["peut-être", "2", "oui", "vrai"])
def test_env_bool_rejects_anything_else(monkeypatch, raw):
    monkeypatch.setenv("CHORALE_TEST_FLAG", raw)

    with pytest.raises(ImproperlyConfigured, match="CHORALE_TEST_FLAG must be a boolean"):
        env_bool("CHORALE_TEST_FLAG")


def test_env_bool_and_env_int_use_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("CHORALE_TEST_VALUE", raising=False)
    assert env_bool("CHORALE_TEST_VALUE", default=True) is True
    assert env_int("CHORALE_TEST_VALUE", 42) == 42

    monkeypatch.setenv("CHORALE_TEST_VALUE", "")
    assert env_bool("CHORALE_TEST_VALUE", default=False) is False
    assert env_int("CHORALE_TEST_VALUE", 7) == 7


@pytest.mark.parametrize("raw", ["douze", "1.5", "3600s"])
def test_env_int_rejects_non_integers(monkeypatch, raw):
    monkeypatch.setenv("CHORALE_TEST_NUMBER", raw)

    with pytest.raises(ImproperlyConfigured, match="CHORALE_TEST_NUMBER must be an integer"):
        env_int("CHORALE_TEST_NUMBER", 0)


def test_env_int_reads_an_integer(monkeypatch):
    monkeypatch.setenv("CHORALE_TEST_NUMBER", "31536000")

    assert env_int("CHORALE_TEST_NUMBER", 0) == 31536000


def test_env_str_without_default_requires_the_variable(monkeypatch):
    monkeypatch.delenv("CHORALE_TEST_TEXT", raising=False)

    with pytest.raises(ImproperlyConfigured, match="CHORALE_TEST_TEXT must be set"):
        env_str("CHORALE_TEST_TEXT")


def test_env_list_splits_on_commas_and_ignores_blanks(monkeypatch):
    monkeypatch.setenv("CHORALE_TEST_HOSTS", " a.example.fr, ,b.example.fr ")

    assert env_list("CHORALE_TEST_HOSTS", []) == ["a.example.fr", "b.example.fr"]


def _database_options(**env: str) -> str:
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    completed = run_manage("shell", "-c", code, DJANGO_DEBUG="1", **env)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_postgresql_prepares_statements_unless_turned_off_for_a_pooler():
    url = {"DATABASE_URL": "postgres://chorale@db.example.fr:5432/chorale"}
    assert "'prepare_threshold': 5" in _database_options(**url)
    assert "'server_side_binding': True" in _database_options(**url)
    off = _database_options(**url, DATABASE_PREPARED_STATEMENTS="false")
    assert "prepare_threshold" not in off and "server_side_binding" not in off
