"""Template results on PostgreSQL through psycopg: the functions of
``sql/014_templates.sql``, one call per block of ``sql/queries/postgres_templates.sql``.
One connection, opened when first needed; as in the search adapter, the statement timeout
and the call go in one simple-protocol message with client-side binding (no prepared
statement, no session state left behind: fine through a transaction pooler)."""

from __future__ import annotations

import threading
from typing import Any, Self

import psycopg
from psycopg.types.json import Jsonb

from shared.adapters._function_template_results import TEMPLATE_QUERIES, FunctionTemplateResults
from shared.classify import classify
from shared.errors import ConfigError
from shared.settings import Settings

_TIMEOUT = "SET LOCAL statement_timeout = %(timeout_ms)s"


class PostgresTemplateResults(FunctionTemplateResults):
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
            raise ConfigError("TUBEQ_DATABASE_URL is not set: postgres template results need it")
        return cls(settings.database_url.get_secret_value(), timeout_s=settings.database_timeout_s)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(1, round(self._timeout_s)),
                application_name="tubeq-templates",
            )
        return self._conn

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

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
