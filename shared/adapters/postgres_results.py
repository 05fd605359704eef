"""The result store on PostgreSQL through psycopg 3: any Postgres, or Supabase's pooler.

Every method (in ``FunctionResultStore``, shared with the Supabase adapter) runs one named
block of ``sql/queries/postgres.sql``: one call of a function from the migrations, so a
finished video is written in one round trip and one transaction.

Why a call is sent as it is: the ``statement_timeout`` block and the call's block go
together as ONE simple-protocol message, with the parameters bound client-side by psycopg
(``ClientCursor``: quoted by psycopg, never by string formatting). Several statements in
one message run as one implicit transaction, so the timeout applies to this call only, no
session state leaks, and no prepared statement is created. That works unchanged through
Supabase's transaction pooler and pgbouncer (``prepare_threshold=None`` besides).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import psycopg
from psycopg import pq
from psycopg.types.json import Jsonb

from shared.adapter_settings import PostgresSettings
from shared.adapters._function_results import POSTGRES_QUERIES, FunctionResultStore
from shared.classify import classify
from shared.errors import ConfigError, UpstreamUnavailable


class _ConnectionPool:
    """A small thread-safe pool: at most ``size`` connections, idle ones reused.

    psycopg_pool is not a dependency; this is all the store needs. A connection that broke
    is closed and replaced on the next checkout.
    """

    def __init__(self, dsn: str, *, size: int, timeout_s: float) -> None:
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._dsn,
            autocommit=True,
            prepare_threshold=None,
            connect_timeout=max(1, round(self._timeout_s)),
            application_name="tubeq",
        )

    @contextmanager
    def connection(self) -> Iterator[tuple[psycopg.Connection[Any], bool]]:
        """Yield (connection, reused): reused is True when it came from the idle list."""
        if self._closed:
            raise ConfigError("the Postgres result store was closed; build a new one")
        if not self._slots.acquire(timeout=self._timeout_s):
            raise UpstreamUnavailable(
                f"all Postgres connections stayed busy for {self._timeout_s:.0f}s "
                "(raise TUBEQ_DATABASE_POOL_SIZE or lower TUBEQ_CONCURRENCY)"
            )
        conn: psycopg.Connection[Any] | None = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            if conn is None:
                conn = self._connect()
            yield conn, reused
        finally:
            if conn is not None:
                healthy = (
                    not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE
                )
                with self._lock:
                    if healthy and not self._closed:
                        self._idle.append(conn)
                        conn = None
                if conn is not None:
                    conn.close()
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class PostgresResultStore(FunctionResultStore):
    """The four result ports on Postgres; thread-safe (a connection per call)."""

    name = "postgres"

    def __init__(self, dsn: str, *, pool_size: int = 4, timeout_s: float = 30.0) -> None:
        if not dsn.strip():
            raise ConfigError("TUBEQ_DATABASE_URL is empty: give a Postgres DSN")
        self._statement_timeout_ms = int(timeout_s * 1000)
        self._pool = _ConnectionPool(dsn, size=pool_size, timeout_s=timeout_s)

    @classmethod
    def from_settings(cls, section: PostgresSettings) -> Self:
        if section.dsn is None:
            raise ConfigError("TUBEQ_DATABASE_URL is not set: the postgres result store needs it")
        return cls(
            section.dsn.get_secret_value(),
            pool_size=section.pool_size,
            timeout_s=section.timeout_s,
        )

    def close(self) -> None:
        self._pool.close()

    def run(self, query: str, **params: Any) -> Any:
        """The block ``query`` of postgres.sql in one round trip; returns its single value.

        A dict parameter is a payload (jsonb); a list is an array; the rest as they are.
        """
        return self._execute(POSTGRES_QUERIES[query], params)

    def run_sql(self, block: str, **params: Any) -> Any:
        """A block of another postgres_*.sql file, as ``run`` runs postgres.sql's."""
        return self._execute(block, params)

    def _execute(self, block: str, params: dict[str, Any]) -> Any:
        statement = POSTGRES_QUERIES["statement_timeout"] + ";\n" + block
        bound = {k: Jsonb(v) if isinstance(v, dict) else v for k, v in params.items()}
        bound["timeout_ms"] = self._statement_timeout_ms
        for attempt in (1, 2):
            try:
                with self._pool.connection() as (conn, reused):
                    try:
                        cur = psycopg.ClientCursor(conn)
                        cur.execute(statement, bound)
                        cur.nextset()  # past the SET to the call's result
                        row = cur.fetchone()
                        return row[0] if row else None
                    except psycopg.OperationalError:
                        # an idle connection the server dropped (restart, idle timeout):
                        # the calls are idempotent, so one fresh try is safe
                        if reused and conn.broken and attempt == 1:
                            continue
                        raise
            except psycopg.Error as exc:
                raise classify(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover
