"""The model-call rate budget the consumers share, and the read-only meter over it."""

from __future__ import annotations

from typing import Any

from shared.adapter_settings import RateBudgetSettings
from shared.errors import ConfigError
from shared.factory._load import adapter
from shared.ports import BudgetMeter, RateBudget
from shared.settings import Settings

#: the fleet-wide budget (TUBEQ_RATE_BUDGET_BACKEND=results), by the result store it lives in
_FLEET_BUDGETS = {
    "postgres": "shared.adapters.postgres_budget:PostgresRateBudget",
    "supabase": "shared.adapters.supabase_budget:SupabaseRateBudget",
}


def build_rate_budget(settings: Settings) -> RateBudget:
    """The model-call budget the consumers share: every one on this machine (``local``, one
    SQLite file) or every one in the fleet (``results``, rows in the result database)."""
    section = settings.rate_budget
    if section.backend == "local":
        from shared.rate_budget import SqliteRateBudget

        return SqliteRateBudget.from_settings(section)
    budget: RateBudget = _fleet_budget(section).from_settings(section)
    return budget


def build_budget_meter(settings: Settings) -> BudgetMeter:
    """A read-only view of the same budget ``build_rate_budget`` spends (the overview's and
    ``tubeq status``'s quota reading): the local file opened read-only, or the fleet's rows
    read through the result store's database."""
    section = settings.rate_budget
    if section.backend == "local":
        from shared.rate_budget.sqlite import SqliteBudgetMeter

        return SqliteBudgetMeter.from_settings(section)
    meter: BudgetMeter = _fleet_budget(section).from_settings(section)  # it reads its rows
    return meter


def _fleet_budget(section: RateBudgetSettings) -> Any:
    """The fleet budget's class (``FleetRateBudget``) for the result store it lives in."""
    if section.results_backend not in _FLEET_BUDGETS:
        raise ConfigError(
            "TUBEQ_RATE_BUDGET_BACKEND=results keeps the budget in the result store a fleet "
            f"shares, but TUBEQ_RESULTS_BACKEND={section.results_backend} is one machine's "
            "file: use postgres or supabase results, or TUBEQ_RATE_BUDGET_BACKEND=local"
        )
    return adapter(_FLEET_BUDGETS, section.results_backend)
