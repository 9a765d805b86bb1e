"""The Chorus Pro sandbox, started once per session on a free port, reset before every test."""

import pytest

from chorus.client import ChorusClient, clear_token_cache
from chorus.sandbox.testing import run_sandbox


@pytest.fixture(scope="session")
def sandbox():
    with run_sandbox() as handle:
        yield handle


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox):
    sandbox.reset()
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def make_client(sandbox):
    """make_client(scenario="ok", **settings_overrides) -> ChorusClient on the sandbox."""

    def make(scenario="ok", **overrides):
        return ChorusClient(sandbox.client_settings(scenario, **overrides))

    return make


@pytest.fixture
def client(make_client):
    return make_client()
