"""Template results on Supabase: the functions of ``sql/014_templates.sql`` over PostgREST
(``POST /rest/v1/rpc/<function>``, supabase-py's ``rpc``), with the argument names of
``sql/queries/postgres_templates.sql``; the service-role key, as the result store."""

from __future__ import annotations

import re
from typing import Any, Self

import httpx
from supabase import Client, ClientOptions, create_client

from shared.adapters._function_template_results import TEMPLATE_QUERIES, FunctionTemplateResults
from shared.classify import classify
from shared.errors import ConfigError
from shared.settings import Settings

_CALL = re.compile(r"SELECT\s+(?P<fn>\w+)\((?P<args>.*)\)", re.S)
_ARG = re.compile(r"(?P<arg>\w+)\s*=>\s*%\((?P<param>\w+)\)s")


def rpc_form(query: str) -> tuple[str, dict[str, str]]:
    """The function and {argument: parameter} of a block: one source of names."""
    match = _CALL.search(TEMPLATE_QUERIES[query])
    if match is None:  # pragma: no cover - the blocks are ours
        raise ConfigError(f"sql/queries/postgres_templates.sql: {query!r} is not one call")
    return match["fn"], {m["arg"]: m["param"] for m in _ARG.finditer(match["args"])}


class SupabaseTemplateResults(FunctionTemplateResults):
    name = "supabase"

    def __init__(self, url: str, service_role_key: str, *, timeout_s: float = 30.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(
                f"TUBEQ_SUPABASE_URL must be the project URL, like "
                f"https://<project-ref>.supabase.co (got {url!r})"
            )
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False)
        options = ClientOptions(
            auto_refresh_token=False, persist_session=False, httpx_client=self._http
        )
        try:
            self._client: Client = create_client(url, service_role_key, options)
        except Exception as exc:
            self._http.close()
            raise ConfigError(
                f"cannot set up the Supabase client: {type(exc).__name__} "
                "(check TUBEQ_SUPABASE_URL and TUBEQ_SUPABASE_SERVICE_ROLE_KEY)"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if not settings.supabase_url or settings.supabase_service_role_key is None:
            raise ConfigError(
                "supabase template results need TUBEQ_SUPABASE_URL and "
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY"
            )
        return cls(
            settings.supabase_url,
            settings.supabase_service_role_key.get_secret_value(),
            timeout_s=settings.supabase_timeout_s,
        )

    def run(self, query: str, **params: Any) -> Any:
        function, args = rpc_form(query)
        body = {arg: params[param] for arg, param in args.items()}
        try:
            return self._client.postgrest.rpc(function, body).execute().data
        except Exception as exc:
            raise classify(exc) from exc

    def close(self) -> None:
        self._http.close()
