"""Full-text search on Supabase: the Postgres search function ``tubeq_search_segments``
(``sql/011_search.sql``) called over PostgREST (``POST /rest/v1/rpc/tubeq_search_segments``,
supabase-py's ``rpc``), with the argument names of ``sql/queries/postgres_search.sql``."""

from __future__ import annotations

import re
from typing import Any, Self

from shared.adapter_settings import SupabaseSettings
from shared.adapters._supabase_client import service_client
from shared.classify import classify
from shared.errors import ConfigError
from shared.search import SearchHit, SearchQuery, hits_from_json, search_params
from shared.sql_queries import load

_CALL = re.compile(r"SELECT\s+(?P<fn>\w+)\((?P<args>.*)\)", re.S)
_ARG = re.compile(r"(?P<arg>\w+)\s*=>\s*%\((?P<param>\w+)\)s")


def rpc_form() -> tuple[str, dict[str, str]]:
    """The function and {argument: parameter} of the ``search`` block: one source of names."""
    match = _CALL.search(load("postgres_search.sql")["search"])
    if match is None:  # pragma: no cover - the block is ours
        raise ConfigError("sql/queries/postgres_search.sql: 'search' is not one function call")
    return match["fn"], {m["arg"]: m["param"] for m in _ARG.finditer(match["args"])}


class SupabaseSearch:
    name = "supabase"

    def __init__(self, url: str, service_role_key: str, *, timeout_s: float = 30.0) -> None:
        self._http, self._client = service_client(url, service_role_key, timeout_s)
        self._function, self._args = rpc_form()

    @classmethod
    def from_settings(cls, section: SupabaseSettings) -> Self:
        if not section.url or section.service_role_key is None:
            raise ConfigError(
                "supabase search needs TUBEQ_SUPABASE_URL and TUBEQ_SUPABASE_SERVICE_ROLE_KEY"
            )
        return cls(
            section.url,
            section.service_role_key.get_secret_value(),
            timeout_s=section.timeout_s,
        )

    def search(self, query: SearchQuery) -> list[SearchHit]:
        params = search_params(query)
        body: dict[str, Any] = {arg: params[param] for arg, param in self._args.items()}
        try:
            data = self._client.postgrest.rpc(self._function, body).execute().data
        except Exception as exc:
            raise classify(exc) from exc
        return hits_from_json(data)

    def close(self) -> None:
        self._http.close()
