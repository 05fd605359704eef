"""Semantic search on Supabase: the functions of ``sql/015_embeddings.sql`` called over
PostgREST (``POST /rest/v1/rpc/<function>``, supabase-py's ``rpc``), with the argument names
of ``sql/queries/postgres_vectors.sql``. Supabase has pgvector; the migration enables it."""

from __future__ import annotations

import re
from typing import Any, Self

from shared.adapter_settings import SupabaseSettings
from shared.adapters._function_vectors import FunctionVectors
from shared.adapters._supabase_client import service_client
from shared.classify import classify
from shared.errors import ConfigError
from shared.sql_queries import load

_CALL = re.compile(r"SELECT\s+(?P<fn>\w+)\((?P<args>.*)\)", re.S)
_ARG = re.compile(r"(?P<arg>\w+)\s*=>\s*%\((?P<param>\w+)\)s")


def rpc_forms() -> dict[str, tuple[str, dict[str, str]]]:
    """Each block's function and {argument: parameter}: one source of names."""
    forms = {}
    for name, sql in load("postgres_vectors.sql").items():
        match = _CALL.search(sql)
        if match is None:  # pragma: no cover - the blocks are ours
            raise ConfigError(f"sql/queries/postgres_vectors.sql: {name!r} is not one call")
        forms[name] = (match["fn"], {m["arg"]: m["param"] for m in _ARG.finditer(match["args"])})
    return forms


class SupabaseVectors(FunctionVectors):
    name = "supabase"

    def __init__(self, url: str, service_role_key: str, *, timeout_s: float = 30.0) -> None:
        self._http, self._client = service_client(url, service_role_key, timeout_s)
        self._forms = rpc_forms()

    @classmethod
    def from_settings(cls, section: SupabaseSettings) -> Self:
        if not section.url or section.service_role_key is None:
            raise ConfigError(
                "supabase semantic search needs TUBEQ_SUPABASE_URL and "
                "TUBEQ_SUPABASE_SERVICE_ROLE_KEY"
            )
        return cls(
            section.url,
            section.service_role_key.get_secret_value(),
            timeout_s=section.timeout_s,
        )

    def _call(self, name: str, params: dict[str, Any]) -> Any:
        function, args = self._forms[name]
        body = {arg: params[param] for arg, param in args.items()}
        try:
            return self._client.postgrest.rpc(function, body).execute().data
        except Exception as exc:
            raise classify(exc) from exc

    def close(self) -> None:
        self._http.close()
