import pytest


@pytest.fixture(autouse=True)
def _sandbox_settings(chorus_settings):
    """Every sending test talks to the sandbox, through a private Redis."""
