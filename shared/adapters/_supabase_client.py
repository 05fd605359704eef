"""The supabase-py client every Supabase adapter uses: the service_role key, our own httpx
client (its timeout, no redirects), no session kept or refreshed."""

from __future__ import annotations

import httpx
from supabase import Client, ClientOptions, create_client

from shared.errors import ConfigError


def service_client(
    url: str, service_role_key: str, timeout_s: float
) -> tuple[httpx.Client, Client]:
    """The httpx client (the caller closes it) and the Supabase client over it; a clear
    ConfigError for a URL that is not a project URL or a client that cannot be set up."""
    if not url.startswith(("https://", "http://")):
        raise ConfigError(
            f"TUBEQ_SUPABASE_URL must be the project URL, like "
            f"https://<project-ref>.supabase.co (got {url!r})"
        )
    http = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False)
    options = ClientOptions(auto_refresh_token=False, persist_session=False, httpx_client=http)
    try:
        return http, create_client(url, service_role_key, options)
    except Exception as exc:
        http.close()
        raise ConfigError(
            f"cannot set up the Supabase client: {type(exc).__name__}: {exc} "
            "(check TUBEQ_SUPABASE_URL and TUBEQ_SUPABASE_SERVICE_ROLE_KEY)"
        ) from None
