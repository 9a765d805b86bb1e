"""No secret (PISTE client secret, technical password, cpro-account value, bearer token) ever
reaches a log line, an exception's text or repr, or a traceback."""

import base64
import logging
import traceback

import pytest

from chorus.client import ChorusClient
from chorus.errors import ChorusError
from chorus.sandbox import seed
from chorus.sandbox.testing import make_facturx_pdf


def secrets_of(sandbox, settings):
    pair = f"{settings.login}:{settings.password}"
    values = {
        settings.client_secret,
        settings.password,
        pair,
        base64.b64encode(pair.encode()).decode(),
    }
    for request in sandbox.requests():
        auth = request["headers"].get("authorization", "")
        if auth.startswith("Bearer "):
            values.add(auth[7:])
    return values


def run_everything(sandbox, client):
    """Drive successes and every kind of failure; return the errors raised."""
    errors = []

    def attempt(call):
        try:
            call()
        except ChorusError as exc:
            errors.append(exc)

    attempt(lambda: client.find_structure_by_siret(seed.BUYER_SERVICE))
    attempt(lambda: client.deposit_facturx(make_facturx_pdf(), invoice_number="F"))
    attempt(lambda: client.find_structure_by_siret(seed.BUYER_INACTIVE))
    attempt(lambda: client.deposit_flow(b"x", "f.pdf", syntax="NOPE"))
    sandbox.expire_tokens()
    attempt(lambda: client.health_check())
    for state in ("down", "unavailable", "rate_limited"):
        sandbox.platform_state(state)
        attempt(lambda: client.health_check())
        attempt(lambda: client.deposit_facturx(make_facturx_pdf(), invoice_number="F"))
    sandbox.platform_state("up")
    sandbox.add_fault("status", status=200, route="/cpro/structures")
    attempt(lambda: client.find_structure_by_siret(seed.BUYER_NONE))
    sandbox.clear_faults()
    return errors


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # the working account, whose password is leaked nowhere either
        {"password": "Wr0ng-pässword-§"},
        {"client_secret": "a-wrong-but-secret-value"},
    ],
)
def test_no_secret_in_logs_exceptions_or_tracebacks(sandbox, caplog, overrides):
    settings = sandbox.client_settings("ok_non_ascii_password", max_retries=1, **overrides)
    client = ChorusClient(settings)
    caplog.set_level(logging.DEBUG)

    errors = run_everything(sandbox, client)

    assert len(errors) >= 5
    secrets = secrets_of(sandbox, settings)
    texts = [record.getMessage() for record in caplog.records]
    texts += [caplog.text, repr(settings), repr(client), str(settings)]
    for exc in errors:
        texts += [str(exc), repr(exc), exc.message_fr, exc.detail_en, repr(exc.args)]
        texts += traceback.format_exception(exc)
    assert any("chorus" in text for text in texts)
    for secret in secrets:
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"a secret leaked into {leaks[:1]}"


def test_secret_echoed_by_the_platform_is_scrubbed(sandbox):
    settings = sandbox.client_settings()
    client = ChorusClient(settings)

    scrubbed = client._scrub(f"refused {settings.password} / {settings.client_secret}")

    assert settings.password not in scrubbed and settings.client_secret not in scrubbed
    assert scrubbed == "refused *** / ***"
