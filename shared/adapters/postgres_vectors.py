"""Semantic search on PostgreSQL through psycopg: the functions of ``sql/015_embeddings.sql``
(vectors stored as ``real[]``, searched with pgvector), one call per step.

As in ``postgres_search``, one connection per adapter (the API builds one per request; the
consumer one per process), autocommit, no prepared statements (a transaction pooler such as
Supabase's keeps no session state between calls), the statement timeout in the same message.
A database without pgvector answers the search with SQLSTATE 0A000, which becomes a
``ConfigError`` (this server is not set up for it: the API answers 503) that says how to
enable it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from shared.adapters._function_vectors import FunctionVectors
from shared.adapters._postgres_connection import PostgresConnection
from shared.classify import classify
from shared.errors import ConfigError
from shared.sql_queries import Queries, load

QUERIES: Queries = load("postgres_vectors.sql")
TIMEOUT: Queries = load("postgres_search.sql")
#: SQLSTATE feature_not_supported: tubeq_semantic_search on a database without pgvector
NO_PGVECTOR = "0A000"


class PostgresVectors(FunctionVectors, PostgresConnection):
    name = "postgres"

    application_name = "tubeq-vectors"
    needs_dsn = "postgres semantic search needs it"

    def _call(self, name: str, params: dict[str, Any]) -> Any:
        statement = TIMEOUT["statement_timeout"] + ";\n" + QUERIES[name]
        params = params | {"timeout_ms": int(self._timeout_s * 1000)}
        try:
            with self._lock:
                cur = psycopg.ClientCursor(self._connection())
                cur.execute(statement, params)
                cur.nextset()  # past the SET to the call's value
                row = cur.fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate == NO_PGVECTOR:
                hint = exc.diag.message_hint or ""
                raise ConfigError(f"{exc.diag.message_primary} ({hint})") from None
            raise classify(exc) from exc
        return row[0] if row else None

    def _json(self, value: Any) -> Any:
        return Jsonb(value)
