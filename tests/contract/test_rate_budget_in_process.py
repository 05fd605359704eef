"""The rate-budget contract on the in-process budget (one process: tests, one-off runs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from shared.ports import RateBudget
from shared.rate_budget import InProcessRateBudget, Limits, Timer
from tests.contract.rate_budget_contract import Clock, RateBudgetContract


@dataclass
class InProcessHarness:
    shared_between_instances: bool = False

    def make(
        self, limits: Limits, clock: Clock = time.time, timer: Timer | None = None
    ) -> InProcessRateBudget:
        return InProcessRateBudget(limits, clock, timer)

    def statement_counter(self, budget: RateBudget) -> Callable[[], int] | None:
        return None


class TestInProcessRateBudget(RateBudgetContract):
    @pytest.fixture
    def harness(self) -> InProcessHarness:
        return InProcessHarness()
