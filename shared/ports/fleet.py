"""The overview's fleet panel (issue 10): which consumers are running now. The budget panel
reads ``BudgetMeter`` (``shared.ports.budget``)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.fleet import ConsumerBeat, RunningConsumer


@runtime_checkable
class ConsumerRegistry(Protocol):
    """A declared capability of a result store: the consumers running now. Each consumer
    upserts its row on its heartbeat (every few seconds, never per video) and deletes it on
    a clean stop; a row not refreshed for ``STALE_AFTER_BEATS`` intervals is a lost consumer
    (killed, frozen, cut off). Every result store has it (SQLite, Postgres, Supabase)."""

    def consumer_beat(self, beat: ConsumerBeat) -> None:
        """Insert or refresh this consumer's row (last seen: now, on the store's clock)."""
        ...

    def consumer_gone(self, consumer_id: str) -> None:
        """A clean stop: remove the row (an unknown id is not an error)."""
        ...

    def consumers(self) -> list[RunningConsumer]:
        """Every consumer with a row, the most recently started first."""
        ...
