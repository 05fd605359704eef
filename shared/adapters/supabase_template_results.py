"""Template results on Supabase: the functions of ``sql/014_templates.sql`` over PostgREST
(``POST /rest/v1/rpc/<function>``, supabase-py's ``rpc``), with the argument names of
``sql/queries/postgres_templates.sql``; the service-role key, as the result store."""

from __future__ import annotations

import re
from typing import Any, Self

from shared.adapter_settings import SupabaseSettings
from shared.adapters._function_template_results import TEMPLATE_QUERIES, FunctionTemplateResults
from shared.adapters._supabase_client import service_client
from shared.classify import classify
from shared.errors import ConfigError

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
        self._http, self._client = service_client(url, service_role_key, timeout_s)

    @classmethod
    def from_settings(cls, section: SupabaseSettings) -> Self:
        if not section.url or section.service_role_key is None:
            raise ConfigError(
                "supabase template results need TUBEQ_SUPABASE_URL and "
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY"
            )
        return cls(
            section.url,
            section.service_role_key.get_secret_value(),
            timeout_s=section.timeout_s,
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
