"""Template results on PostgreSQL through psycopg: the functions of
``sql/014_templates.sql``, one call per block of ``sql/queries/postgres_templates.sql``.
One connection, opened when first needed; as in the search adapter, the statement timeout
and the call go in one simple-protocol message with client-side binding (no prepared
statement, no session state left behind: fine through a transaction pooler)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from shared.adapters._function_template_results import TEMPLATE_QUERIES, FunctionTemplateResults
from shared.adapters._postgres_connection import PostgresConnection
from shared.classify import classify

_TIMEOUT = "SET LOCAL statement_timeout = %(timeout_ms)s"


class PostgresTemplateResults(FunctionTemplateResults, PostgresConnection):
    name = "postgres"

    application_name = "tubeq-templates"
    needs_dsn = "postgres template results need it"

    def run(self, query: str, **params: Any) -> Any:
        bound = {k: Jsonb(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        bound["timeout_ms"] = int(self._timeout_s * 1000)
        # one transaction, so SET LOCAL holds for the call
        statement = f"BEGIN; {_TIMEOUT};\n{TEMPLATE_QUERIES[query]}; COMMIT"
        try:
            with self._lock:
                conn = self._connection()
                cur = psycopg.ClientCursor(conn)
                try:
                    cur.execute(statement, bound)
                    cur.nextset()  # past BEGIN
                    cur.nextset()  # past the SET to the call's value
                    row = cur.fetchone()
                except BaseException:
                    if not conn.closed:
                        conn.rollback()
                    raise
        except psycopg.Error as exc:
            raise classify(exc) from exc
        return row[0] if row else None
