"""The dashboard's reads on the SQL functions of ``sql/019_dashboard_reads.sql``
(``ChannelDirectory`` and ``ActivityReader``): what the Postgres and the Supabase stores
share. Each method is one block of ``sql/queries/postgres_dashboard.sql``, one function
call; a subclass says how a block's SQL runs (``run_sql``: psycopg executes it, Supabase
sends it as its RPC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.models import ChannelSummary
from shared.sql_queries import Queries, load

DASHBOARD_QUERIES: Queries = load("postgres_dashboard.sql")


class FunctionDashboardReader:
    """``ChannelDirectory`` and ``ActivityReader`` over named SQL calls; a base of
    ``FunctionResultStore``, as ``FunctionConsumerRegistry`` is."""

    def run_sql(self, block: str, **params: Any) -> Any:
        """Run this block's SQL (one function call); the function's value as JSON data."""
        raise NotImplementedError  # FunctionResultStore's adapters run the block

    def channels(self) -> list[ChannelSummary]:
        """Every channel with its videos counted by state (the ``channel_overview`` view)."""
        rows = self.run_sql(DASHBOARD_QUERIES["channels"]) or []
        return [ChannelSummary.model_validate(row) for row in rows]

    def finished_since(self, since: datetime) -> list[datetime]:
        """When each video done since then finished, oldest first. ``since`` goes as ISO
        8601 text in UTC (JSON to PostgREST; to psycopg a literal the timestamptz argument
        reads); a naive one is UTC, as the SQLite store reads it, not the session's zone."""
        aware = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        at = aware.astimezone(UTC).isoformat()
        values = self.run_sql(DASHBOARD_QUERIES["finished_since"], since=at) or []
        return [datetime.fromisoformat(v) for v in values]
