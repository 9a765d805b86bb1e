"""Build a Chorus Pro client for a company from the deployment's settings."""

from functools import lru_cache

from django.conf import settings

from chorus.client import PISTE_PRODUCTION, PISTE_QUALIFICATION, ChorusClient, ChorusSettings
from invoicing.models import Company


def client_settings(company: Company) -> ChorusSettings:
    if settings.CHORUS_API_URL:
        api_base_url, token_url = settings.CHORUS_API_URL, settings.CHORUS_TOKEN_URL
    else:
        env = (
            PISTE_PRODUCTION
            if company.chorus_environment == Company.ChorusEnvironment.PRODUCTION
            else PISTE_QUALIFICATION
        )
        api_base_url, token_url = env.api_base_url, env.token_url
    use_override = bool(company.piste_client_id and company.piste_client_secret)
    return ChorusSettings(
        api_base_url=api_base_url,
        token_url=token_url,
        client_id=company.piste_client_id if use_override else settings.CHORUS_CLIENT_ID,
        client_secret=str(
            company.piste_client_secret if use_override else settings.CHORUS_CLIENT_SECRET
        ),
        login=company.chorus_login,
        password=str(company.chorus_password),
        timeout=(float(settings.CHORUS_CONNECT_TIMEOUT), float(settings.CHORUS_READ_TIMEOUT)),
        max_retries=settings.CHORUS_HTTP_RETRIES,
        retry_backoff=0.5,
    )


@lru_cache(maxsize=128)
def _client(config: ChorusSettings) -> ChorusClient:
    return ChorusClient(config)


def client_for(company: Company) -> ChorusClient:
    """A client per distinct configuration, kept for the process: its HTTP connections are
    reused from one sending to the next (the client is thread-safe)."""
    return _client(client_settings(company))
