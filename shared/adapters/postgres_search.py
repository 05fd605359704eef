"""Full-text search on PostgreSQL through psycopg: one call of ``tubeq_search_segments``
(``sql/011_search.sql``), per-segment tsvectors stemmed in each transcript's language.

A search opens one connection and closes it with the adapter (``close``): the dashboard and
the API build one per request, and a pooled DSN (Supabase's transaction pooler, pgbouncer)
keeps that cheap. As in the result store, the statement timeout and the call go in one
simple-protocol message with client-side binding, so no prepared statement is created and
no session state is left behind.
"""

from __future__ import annotations

import threading
from typing import Any, Self

import psycopg

from shared.classify import classify
from shared.errors import ConfigError
from shared.search import SearchHit, SearchQuery, hits_from_json, search_params
from shared.settings import Settings
from shared.sql_queries import Queries, load

QUERIES: Queries = load("postgres_search.sql")


class PostgresSearch:
    name = "postgres"

    def __init__(self, dsn: str, *, timeout_s: float = 30.0) -> None:
        if not dsn.strip():
            raise ConfigError("TUBEQ_DATABASE_URL is empty: give a Postgres DSN")
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if settings.database_url is None:
            raise ConfigError("TUBEQ_DATABASE_URL is not set: postgres search needs it")
        return cls(settings.database_url.get_secret_value(), timeout_s=settings.database_timeout_s)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(1, round(self._timeout_s)),
                application_name="tubeq-search",
            )
        return self._conn

    def search(self, query: SearchQuery) -> list[SearchHit]:
        params = search_params(query) | {"timeout_ms": int(self._timeout_s * 1000)}
        statement = QUERIES["statement_timeout"] + ";\n" + QUERIES["search"]
        try:
            with self._lock:
                cur = psycopg.ClientCursor(self._connection())
                cur.execute(statement, params)
                cur.nextset()  # past the SET to the call's value
                row = cur.fetchone()
        except psycopg.Error as exc:
            raise classify(exc) from exc
        return hits_from_json(row[0] if row else None)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
