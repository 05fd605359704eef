"""The running consumers on the SQL functions of ``sql/016_consumers.sql``
(``ConsumerRegistry``): what the Postgres and the Supabase stores share. Each method is one
block of ``sql/queries/postgres_consumers.sql``, one function call; a subclass says how a
block's SQL runs (``run_sql``: psycopg executes it, Supabase sends it as its RPC)."""

from __future__ import annotations

from typing import Any

from shared.fleet import ConsumerBeat, RunningConsumer
from shared.sql_queries import Queries, load

CONSUMER_QUERIES: Queries = load("postgres_consumers.sql")


class FunctionConsumerRegistry:
    """``ConsumerRegistry`` over named SQL calls; a base of ``FunctionResultStore``, as
    ``FunctionBatchStore`` is."""

    def run_sql(self, block: str, **params: Any) -> Any:
        """Run this block's SQL (one function call); the function's value as JSON data."""
        raise NotImplementedError  # FunctionResultStore's adapters run the block

    def consumer_beat(self, beat: ConsumerBeat) -> None:
        self.run_sql(CONSUMER_QUERIES["consumer_beat"], beat=beat.model_dump(mode="json"))

    def consumer_gone(self, consumer_id: str) -> None:
        self.run_sql(CONSUMER_QUERIES["consumer_gone"], consumer_id=consumer_id)

    def consumers(self) -> list[RunningConsumer]:
        rows = self.run_sql(CONSUMER_QUERIES["consumers"]) or []
        return [RunningConsumer.model_validate(row) for row in rows]
