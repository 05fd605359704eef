"""The template-analyzer contract on the offline extractive analyzer, built from settings by
the factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.factory import build_template_analyzer
from shared.ports import SpendLedger, TemplateAnalyzer
from shared.settings import Settings
from tests.contract.template_analyzer_contract import TemplateAnalyzerContract


@dataclass
class ExtractiveTemplatesHarness:
    folder: Path
    name: str = "extractive"
    paid: bool = False
    fills_any_schema: bool = False  # sentences and start seconds only
    max_transcript_tokens: int | None = None

    def make(self, ledger: SpendLedger | None = None) -> TemplateAnalyzer:
        settings = Settings(analyzer_backend="extractive", data_dir=self.folder)
        return build_template_analyzer(settings, ledger=ledger)


class TestExtractiveTemplateAnalyzer(TemplateAnalyzerContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> ExtractiveTemplatesHarness:
        return ExtractiveTemplatesHarness(tmp_path)
