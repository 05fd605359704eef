"""The analyzer contract on the Gemini analyzer: the real google-genai client against the
local Gemini stub, with an in-process rate budget and chunk cache injected as the
composition root would inject the shared ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import structlog

from shared.adapters.gemini_analyzer import GeminiAnalyzer
from shared.gemini.partials import InMemoryPartialStore
from shared.ports import SpendLedger
from tests.contract.analyzer_contract import AnalyzerContract
from tests.support import gemini_stub as gs

pytestmark = pytest.mark.services


@dataclass
class GeminiHarness:
    stub: gs.GeminiStub
    name: str = "gemini"
    paid: bool = True
    watches_videos: bool = True

    def make(self, ledger: SpendLedger | None = None) -> GeminiAnalyzer:
        return GeminiAnalyzer.from_settings(
            gs.section_for(self.stub),
            budget=gs.ample_budget(),
            partials=InMemoryPartialStore(),
            ledger=ledger,
        )


class TestGeminiAnalyzer(AnalyzerContract):
    @pytest.fixture
    def harness(self) -> Iterator[GeminiHarness]:
        structlog.reset_defaults()  # another test may leave it printing to a closed stream
        server = gs.GeminiStub().start()
        server.responder = lambda request: gs.ok(gs.analysis_dict())
        yield GeminiHarness(server)
        server.stop()
        structlog.reset_defaults()
