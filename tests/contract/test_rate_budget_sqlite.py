"""The rate-budget contract on the SQLite budget (one file shared by every process on this
machine; ``tests/unit/test_rate_budget.py`` adds real processes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.ports import RateBudget
from shared.rate_budget import Limits, SqliteRateBudget, Timer
from tests.contract.rate_budget_contract import Clock, RateBudgetContract


@dataclass
class SqliteHarness:
    path: Path
    shared_between_instances: bool = True

    def make(
        self, limits: Limits, clock: Clock = time.time, timer: Timer | None = None
    ) -> SqliteRateBudget:
        return SqliteRateBudget(self.path, limits, clock, timer)

    def statement_counter(self, budget: RateBudget) -> Callable[[], int] | None:
        assert isinstance(budget, SqliteRateBudget)
        sent: list[str] = []
        budget._conn.set_trace_callback(sent.append)
        return lambda: len(sent)


class TestSqliteRateBudget(RateBudgetContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SqliteHarness:
        return SqliteHarness(tmp_path / "budget.sqlite3")
