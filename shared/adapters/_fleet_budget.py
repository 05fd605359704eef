"""The fleet-wide rate budget on the SQL functions of ``sql/009_rate_budget.sql``,
``sql/012_rate_budget_tokens.sql`` and ``sql/017_rate_budget_late_calls.sql``: what the
Postgres and the Supabase budgets share, so the rule's Python side exists once.

The state is in the result database every machine of a fleet already shares: the requests'
TAT and the pause (``rate_budget_limits``) and the sliding window's slots
(``rate_budget_windows``, one row per budget); ``tubeq_acquire_budget`` does
``shared.rate_budget.gcra.budget_step`` on those rows in one call, so a grant is one round
trip whatever the number of machines or grants. Time is the database's clock
(``clock_timestamp()``), one clock for the whole fleet, and the function answers with a
*relative* wait, so machines whose clocks disagree still share one schedule (and the grant's
time ``at`` on that clock, which a refund sends back); a test passes its own clock instead
(``now`` in the payload). A call that leaves late is moved by ``tubeq_move_budget`` (017) to
``at`` plus the lateness ``acquire`` measured on its own monotonic clock: the database's
clock and the machine's are never compared.

A subclass only says how a named block of ``sql/queries/postgres.sql`` runs (``run``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from shared.fleet import BudgetUsage
from shared.rate_budget.gcra import REQUESTS, TOKENS, Ask, GcraBudget, Limits, Step
from shared.rate_budget.timer import Timer
from shared.rate_budget.usage import no_budget, usage_of

#: the budget's rows are keyed by this name (one budget per model quota)
DEFAULT_BUDGET_NAME = "gemini"


class FleetRateBudget(GcraBudget):
    """``GcraBudget`` whose steps are calls of ``tubeq_*_budget`` functions; also the
    ``BudgetMeter`` of the fleet's budget (``usage``: a read, ``sql/016_consumers.sql``)."""

    #: the result store it lives in, as the overview names it
    store: str = "results"

    def __init__(
        self,
        limits: Limits,
        *,
        budget_name: str = DEFAULT_BUDGET_NAME,
        clock: Callable[[], float] | None = None,
        timer: Timer | None = None,
    ) -> None:
        super().__init__(limits, timer)
        self.budget_name = budget_name
        #: None: the database's clock (production); a callable: the test's clock
        self._clock = clock

    @abstractmethod
    def run(self, query: str, **params: Any) -> Any:
        """Run the block ``query`` of postgres.sql; the function's value as JSON data."""

    def _now(self) -> float | None:
        return None if self._clock is None else self._clock()

    def _step(self, ask: Ask, max_wait_s: float) -> Step:
        window = self.limits.window
        request = {
            "budget": self.budget_name,
            "pace": {
                "name": ask.pace.limit,
                "cost": ask.pace.cost_s,
                "tolerance": ask.pace.tolerance_s,
            },
            "window": {
                "length_s": window.length_s,
                "cell_s": window.cell_s,
                "tokens_limit": window.tokens,
                "requests_limit": window.requests,
                "tokens": ask.tokens,
            },
            "max_wait_s": max_wait_s,
            "now": self._now(),
        }
        reply = self.run("acquire_budget", request=request)
        return Step(
            bool(reply["granted"]),
            float(reply["wait_s"]),
            str(reply["binding"] or ""),
            float(reply["at"]),
        )

    def _refund(self, ask: Ask, at: float) -> None:
        refund = {
            "budget": self.budget_name,
            "limits": [{"name": ask.pace.limit, "cost": ask.pace.cost_s}],
            "window": {"at": at, "tokens": ask.tokens, "cell_s": self.limits.window.cell_s},
        }
        self.run("refund_budget", refund=refund)

    def _move_grant(self, ask: Ask, at: float, to: float) -> None:
        window = {"at": at, "to": to, "tokens": ask.tokens, "cell_s": self.limits.window.cell_s}
        move = {"budget": self.budget_name, "window": window}
        self.run("move_budget", move=move)

    def _pause_for(self, seconds: float) -> None:
        pause = {
            "budget": self.budget_name,
            "limits": [{"name": REQUESTS}, {"name": TOKENS}],
            "seconds": seconds,
            "now": self._now(),
        }
        self.run("pause_budget", pause=pause)

    def usage(self) -> BudgetUsage:
        """The quota in use, read from the budget's rows (``tubeq_budget_usage``: a plain
        read that locks and changes nothing), on the database's clock."""
        where = f"fleet ({self.store})"
        state = self.run("budget_usage", read={"budget": self.budget_name, "now": self._now()})
        if not state or not state.get("limits"):
            return no_budget(self.limits, where)
        window = state.get("window") or {}
        slots = list(
            zip(
                window.get("firsts") or [],
                window.get("lasts") or [],
                window.get("tokens") or [],
                window.get("requests") or [],
                strict=True,
            )
        )
        paused = max(float(limit["paused_until"]) for limit in state["limits"])
        return usage_of(slots, paused, float(state["now"]), self.limits, where)
