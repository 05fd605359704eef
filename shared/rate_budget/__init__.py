"""A rate budget shared by every consumer that calls Gemini: requests AND input tokens per window.

Gemini's quota is per project, not per process, so consumers must spend one budget together
instead of each discovering the limit through 429s. Requests are paced by GCRA (``gcra.py``),
so they leave evenly spaced through the window instead of all at its start; every grant also
keeps the provider's sliding window within both limits counting it (``window.py``), which
pacing alone does not do for calls of very different sizes. A caller that wakes from its wait
later than its grant's time has its grant counted at the time its call really leaves
(``window.move``), so the window the budget keeps is the one the server will see.

Where the state lives (``TUBEQ_RATE_BUDGET_BACKEND``):

- ``local`` (the default): ``SqliteRateBudget``, one row per limit in a SQLite file that every
  consumer on this machine shares (``sqlite.py``);
- ``results``: rows in the result database a fleet already shares, moved by the SQL function
  ``tubeq_acquire_budget`` (``sql/009_rate_budget.sql``, ``sql/012_rate_budget_tokens.sql``),
  through psycopg or Supabase's RPC (``shared/adapters/*_budget.py``, on
  ``_fleet_budget.py``);
- ``InProcessRateBudget``: the same rule behind a lock, for one process (tests, one-off runs).
"""

from __future__ import annotations

from shared.ports import BudgetGrant, RateBudget
from shared.rate_budget.gcra import (
    DEFAULT_BURST_S,
    DEFAULT_MARGIN_S,
    DEFAULT_WINDOW_S,
    Ask,
    Cost,
    GcraBudget,
    Grant,
    Limits,
    State,
    Step,
    budget_step,
    limits_of,
    moved,
    refunded,
)
from shared.rate_budget.in_process import InProcessRateBudget
from shared.rate_budget.sqlite import SqliteRateBudget
from shared.rate_budget.timer import SystemTimer, Timer
from shared.rate_budget.window import Slot, Window

__all__ = [
    "DEFAULT_BURST_S",
    "DEFAULT_MARGIN_S",
    "DEFAULT_WINDOW_S",
    "Ask",
    "BudgetGrant",
    "Cost",
    "GcraBudget",
    "Grant",
    "InProcessRateBudget",
    "Limits",
    "RateBudget",
    "Slot",
    "SqliteRateBudget",
    "State",
    "Step",
    "SystemTimer",
    "Timer",
    "Window",
    "budget_step",
    "limits_of",
    "moved",
    "refunded",
]
