"""The template-analyzer contract on Gemini: the real google-genai client against the local
Gemini stub (``tests.support.gemini_stub``), built from settings by the factory as the
consumer builds it (the SQLite rate budget and the chunk cache in the data folder). The stub
answers each template with a reply that fits the schema it was sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from shared.factory import build_template_analyzer
from shared.ports import SpendLedger, TemplateAnalyzer
from shared.settings import Settings
from tests.contract.template_analyzer_contract import TemplateAnalyzerContract, example_reply
from tests.support import gemini_stub as gs

pytestmark = pytest.mark.services

CHUNK_TOKENS = 20_000


def answer(request: gs.RecordedRequest) -> gs.StubReply:
    """A model that fits its reply to the schema it is sent."""
    reply = example_reply(request.generation_config.get("responseJsonSchema") or {})
    if reply is None:
        return gs.api_error(400, "stub: no reply for this schema", "INVALID_ARGUMENT")
    return gs.ok(reply, prompt_tokens=2000, output_tokens=150)


@dataclass
class GeminiTemplatesHarness:
    stub: gs.GeminiStub
    folder: Path
    name: str = "gemini"
    paid: bool = True
    fills_any_schema: bool = True
    max_transcript_tokens: int | None = CHUNK_TOKENS

    def make(self, ledger: SpendLedger | None = None) -> TemplateAnalyzer:
        settings = Settings(
            analyzer_backend="gemini",
            gemini_api_key=SecretStr(self.stub.api_key),
            gemini_base_url=self.stub.base_url,
            gemini_model="gemini-3.1-flash-lite",
            gemini_timeout_s=5.0,
            gemini_rpm=10_000,
            gemini_tpm=100_000_000,
            gemini_budget_wait_s=0.0,
            gemini_chunk_tokens=CHUNK_TOKENS,
            data_dir=self.folder,
        )
        return build_template_analyzer(settings, ledger=ledger)


class TestGeminiTemplateAnalyzer(TemplateAnalyzerContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[GeminiTemplatesHarness]:
        structlog.reset_defaults()  # another test may leave it printing to a closed stream
        with gs.GeminiStub() as stub:
            stub.responder = answer
            yield GeminiTemplatesHarness(stub, tmp_path)
            # every call the contract made was a request the real API would take
            assert stub.rejected == []
        structlog.reset_defaults()
