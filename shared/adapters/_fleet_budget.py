"""The fleet-wide rate budget on the SQL functions of ``sql/009_rate_budget.sql``: what the
Postgres and the Supabase budgets share, so the rule's Python side exists once.

The state is one row per limit in the result database every machine of a fleet already
shares; ``tubeq_acquire_budget`` does the GCRA step (``shared.rate_budget.gcra``) on those
rows in one statement, so a grant is one round trip whatever the number of machines or
grants. Time is the database's clock (``clock_timestamp()``), one clock for the whole fleet,
and the function answers with a *relative* wait, so machines whose clocks disagree still
share one schedule; a test passes its own clock instead (``now`` in the payload).

A subclass only says how a named block of ``sql/queries/postgres.sql`` runs (``run``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from shared.rate_budget.gcra import REQUESTS, TOKENS, Cost, GcraBudget, Limits, Step

#: the budget's rows are keyed by this name (one budget per model quota)
DEFAULT_BUDGET_NAME = "gemini"


class FleetRateBudget(GcraBudget):
    """``GcraBudget`` whose steps are calls of ``tubeq_*_budget`` functions."""

    def __init__(
        self,
        limits: Limits,
        *,
        budget_name: str = DEFAULT_BUDGET_NAME,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(limits)
        self.budget_name = budget_name
        #: None: the database's clock (production); a callable: the test's clock
        self._clock = clock

    @abstractmethod
    def run(self, query: str, **params: Any) -> Any:
        """Run the block ``query`` of postgres.sql; the function's value as JSON data."""

    def _now(self) -> float | None:
        return None if self._clock is None else self._clock()

    def _step(self, costs: tuple[Cost, ...], max_wait_s: float) -> Step:
        request = {
            "budget": self.budget_name,
            "limits": [
                {"name": c.limit, "cost": c.cost_s, "tolerance": c.tolerance_s} for c in costs
            ],
            "max_wait_s": max_wait_s,
            "now": self._now(),
        }
        reply = self.run("acquire_budget", request=request)
        return Step(bool(reply["granted"]), float(reply["wait_s"]), str(reply["binding"] or ""))

    def _refund(self, costs: tuple[Cost, ...]) -> None:
        limits = [{"name": c.limit, "cost": c.cost_s} for c in costs]
        self.run("refund_budget", refund={"budget": self.budget_name, "limits": limits})

    def _pause_for(self, seconds: float) -> None:
        pause = {
            "budget": self.budget_name,
            "limits": [{"name": REQUESTS}, {"name": TOKENS}],
            "seconds": seconds,
            "now": self._now(),
        }
        self.run("pause_budget", pause=pause)
