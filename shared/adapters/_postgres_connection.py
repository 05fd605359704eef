"""One psycopg connection for the small function-calling adapters (search, vectors, template
results): opened when first needed, reopened when closed or broken, guarded by a lock.
Autocommit and no prepared statements, so it is fine behind a transaction pooler."""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Self

import psycopg

from shared.adapter_settings import PostgresSettings
from shared.errors import ConfigError


class PostgresConnection:
    #: how the connection shows in pg_stat_activity
    application_name: ClassVar[str] = "tubeq"
    #: the end of the error when TUBEQ_DATABASE_URL is unset: "<what> needs it"
    needs_dsn: ClassVar[str] = "this store needs it"

    def __init__(self, dsn: str, *, timeout_s: float = 30.0) -> None:
        if not dsn.strip():
            raise ConfigError("TUBEQ_DATABASE_URL is empty: give a Postgres DSN")
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, section: PostgresSettings) -> Self:
        if section.dsn is None:
            raise ConfigError(f"TUBEQ_DATABASE_URL is not set: {cls.needs_dsn}")
        return cls(section.dsn.get_secret_value(), timeout_s=section.timeout_s)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(1, round(self._timeout_s)),
                application_name=self.application_name,
            )
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
