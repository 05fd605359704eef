"""Full-text search on PostgreSQL through psycopg: one call of ``tubeq_search_segments``
(``sql/011_search.sql``), per-segment tsvectors stemmed in each transcript's language.

A search opens one connection and closes it with the adapter (``close``): the dashboard and
the API build one per request, and a pooled DSN (Supabase's transaction pooler, pgbouncer)
keeps that cheap. As in the result store, the statement timeout and the call go in one
simple-protocol message with client-side binding, so no prepared statement is created and
no session state is left behind.
"""

from __future__ import annotations

import psycopg

from shared.adapters._postgres_connection import PostgresConnection
from shared.classify import classify
from shared.search import SearchHit, SearchQuery, hits_from_json, search_params
from shared.sql_queries import Queries, load

QUERIES: Queries = load("postgres_search.sql")


class PostgresSearch(PostgresConnection):
    name = "postgres"

    application_name = "tubeq-search"
    needs_dsn = "postgres search needs it"

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
