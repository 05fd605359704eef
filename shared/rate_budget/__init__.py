"""A rate budget shared by every consumer that calls Gemini: requests AND input tokens per window.

Gemini's quota is per project, not per process, so consumers must spend one budget together
instead of each discovering the limit through 429s. The rule is GCRA (the generic cell rate
algorithm, ``gcra.py``): one "theoretical arrival time" per limit, so a grant costs the same
whatever happened before it, and requests leave evenly spaced through the window instead of
all at its start.

Where the state lives (``TUBEQ_RATE_BUDGET_BACKEND``):

- ``local`` (the default): ``SqliteRateBudget``, one row per limit in a SQLite file that every
  consumer on this machine shares (``sqlite.py``);
- ``results``: one row per limit in the result database a fleet already shares, moved by the
  SQL function ``tubeq_acquire_budget`` (``sql/009_rate_budget.sql``), through psycopg or
  Supabase's RPC (``shared/adapters/*_budget.py``, on ``fleet.py``);
- ``InProcessRateBudget``: the same rule behind a lock, for one process (tests, one-off runs).
"""

from __future__ import annotations

from shared.ports import BudgetGrant, RateBudget
from shared.rate_budget.gcra import (
    DEFAULT_BURST_S,
    DEFAULT_MARGIN_S,
    DEFAULT_WINDOW_S,
    Cost,
    GcraBudget,
    Grant,
    InProcessRateBudget,
    Limits,
    Step,
    gcra_step,
    limits_of,
)
from shared.rate_budget.sqlite import SqliteRateBudget

__all__ = [
    "DEFAULT_BURST_S",
    "DEFAULT_MARGIN_S",
    "DEFAULT_WINDOW_S",
    "BudgetGrant",
    "Cost",
    "GcraBudget",
    "Grant",
    "InProcessRateBudget",
    "Limits",
    "RateBudget",
    "SqliteRateBudget",
    "Step",
    "gcra_step",
    "limits_of",
]
