"""The analyzer contract on the offline extractive analyzer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.adapter_settings import ExtractiveSettings
from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
from shared.ports import SpendLedger
from tests.contract.analyzer_contract import AnalyzerContract


@dataclass
class ExtractiveHarness:
    name: str = "extractive"
    paid: bool = False
    watches_videos: bool = False

    def make(self, ledger: SpendLedger | None = None) -> ExtractiveAnalyzer:
        # it never calls a model, so it has nothing to record
        return ExtractiveAnalyzer.from_settings(ExtractiveSettings())


class TestExtractiveAnalyzer(AnalyzerContract):
    @pytest.fixture
    def harness(self) -> ExtractiveHarness:
        return ExtractiveHarness()
