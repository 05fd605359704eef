"""The fleet-wide rate budget on PostgreSQL through psycopg 3 (``TUBEQ_RATE_BUDGET_BACKEND=
results`` with ``TUBEQ_RESULTS_BACKEND=postgres``): the budget's rows live in the result
database, moved by ``tubeq_acquire_budget`` (``sql/009_rate_budget.sql``).

Its own connection from ``TUBEQ_DATABASE_URL`` (one per process, behind a lock: a grant is a
millisecond-long call), sent as the result store sends its calls: the ``statement_timeout``
block and the call in ONE simple-protocol message, parameters bound client-side, so it works
through Supabase's transaction pooler and pgbouncer unchanged. A broken connection is
replaced on the next call; the failure itself is transient (the message is retried).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Self

import psycopg
from psycopg.types.json import Jsonb

from shared.adapter_settings import RateBudgetSettings
from shared.adapters._fleet_budget import DEFAULT_BUDGET_NAME, FleetRateBudget
from shared.classify import classify
from shared.errors import ConfigError
from shared.rate_budget.gcra import Limits, limits_of
from shared.rate_budget.timer import Timer
from shared.sql_queries import load


class PostgresRateBudget(FleetRateBudget):
    """One budget for every machine that reaches this database."""

    store = "postgres"

    def __init__(
        self,
        dsn: str,
        limits: Limits,
        *,
        timeout_s: float = 30.0,
        budget_name: str = DEFAULT_BUDGET_NAME,
        clock: Callable[[], float] | None = None,
        timer: Timer | None = None,
    ) -> None:
        super().__init__(limits, budget_name=budget_name, clock=clock, timer=timer)
        if not dsn.strip():
            raise ConfigError("TUBEQ_DATABASE_URL is empty: the fleet rate budget needs it")
        self._dsn = dsn
        self._timeout_s = timeout_s
        self._queries = load("postgres.sql")
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, section: RateBudgetSettings) -> Self:
        database = section.postgres
        if database.dsn is None:
            raise ConfigError(
                "TUBEQ_DATABASE_URL is not set: TUBEQ_RATE_BUDGET_BACKEND=results on the "
                "postgres result store keeps the budget in that database"
            )
        # one connection of its own: the section's pool_size is the result store's
        return cls(
            database.dsn.get_secret_value(), limits_of(section), timeout_s=database.timeout_s
        )

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise ConfigError("the Postgres rate budget was closed; build a new one")
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(1, round(self._timeout_s)),
                application_name="tubeq-budget",
            )
        return self._conn

    def run(self, query: str, **params: Any) -> Any:
        statement = self._queries["statement_timeout"] + ";\n" + self._queries[query]
        bound: dict[str, Any] = {k: Jsonb(v) for k, v in params.items()}
        bound["timeout_ms"] = int(self._timeout_s * 1000)
        with self._lock:
            try:
                cur = psycopg.ClientCursor(self._connection())
                cur.execute(statement, bound)
                cur.nextset()  # past the SET to the call's result
                row = cur.fetchone()
                return row[0] if row else None
            except psycopg.Error as exc:
                if self._conn is not None and self._conn.broken:
                    self._conn.close()
                    self._conn = None
                raise classify(exc) from exc

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
