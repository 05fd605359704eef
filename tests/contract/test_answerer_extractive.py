"""The answerer contract on the offline extractive answerer: the passages are the answer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.adapters.extractive_answerer import ExtractiveAnswerer
from shared.ports import SpendLedger
from tests.contract.answerer_contract import AnswererContract


@dataclass
class ExtractiveHarness:
    name: str = "extractive"
    paid: bool = False
    judges_passages: bool = False

    def make(self, ledger: SpendLedger | None = None) -> ExtractiveAnswerer:
        # it never calls a model, so it has nothing to record
        return ExtractiveAnswerer()

    def questions_asked(self) -> list[str]:
        return []


class TestExtractiveAnswerer(AnswererContract):
    @pytest.fixture
    def harness(self) -> ExtractiveHarness:
        return ExtractiveHarness()
