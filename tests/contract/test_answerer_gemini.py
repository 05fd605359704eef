"""The answerer contract on the Gemini answerer: the real google-genai client against the
local Gemini stub, with an in-process rate budget injected as the composition root would
inject the shared one.

The stub answers like a model that reads the prompt (``read_like_a_model``): from the
passages that share a word with the question, and sloppy about citations as a model can be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import structlog

from shared.adapters.gemini_answerer import GeminiAnswerer
from shared.ports import SpendLedger
from tests.contract.answerer_contract import AnswererContract
from tests.support import gemini_stub as gs

pytestmark = pytest.mark.services

_QUESTION = re.compile(r"^Question: (.*)$", re.MULTILINE)
# a passage in the data block: "[n] where, at Ns:" and its text on the next line
_PASSAGE = re.compile(r"^\[(\d+)\] .*, at \d+s:\n(.*)$", re.MULTILINE)
_WORD = re.compile(r"\w{5,}")  # five letters or more: skips "the", "must", "why"…


def question_of(request: gs.RecordedRequest) -> str:
    found = _QUESTION.search("\n".join(request.user_texts))
    assert found is not None, "the prompt has no question line"
    return found.group(1)


def read_like_a_model(request: gs.RecordedRequest) -> gs.StubReply:
    """Cite the passages that share a word with the question; found nothing: say so, yet
    still cite passage 1. Either way cite 0, one past the last passage and a number twice,
    which the adapter must drop."""
    prompt = "\n".join(request.user_texts)
    words = set(_WORD.findall(question_of(request).lower()))
    passages = [(int(n), text) for n, text in _PASSAGE.findall(prompt)]
    cited = [n for n, text in passages if words & set(_WORD.findall(text.lower()))]
    if not cited:
        reply = {"found": False, "answer": "I could not find it.", "cited": [1]}
    else:
        answer = " ".join(text for n, text in passages if n in cited)
        reply = {"found": True, "answer": answer, "cited": [0, *cited, *cited, len(passages) + 1]}
    return gs.ok(json.dumps(reply), prompt_tokens=900, output_tokens=60)


@dataclass
class GeminiHarness:
    stub: gs.GeminiStub
    name: str = "gemini"
    paid: bool = True
    judges_passages: bool = True

    def make(self, ledger: SpendLedger | None = None) -> GeminiAnswerer:
        return GeminiAnswerer.from_settings(
            gs.section_for(self.stub), budget=gs.ample_budget(), ledger=ledger
        )

    def questions_asked(self) -> list[str]:
        return [question_of(r) for r in self.stub.requests]


class TestGeminiAnswerer(AnswererContract):
    @pytest.fixture
    def harness(self) -> Iterator[GeminiHarness]:
        structlog.reset_defaults()  # another test may leave it printing to a closed stream
        server = gs.GeminiStub().start()
        server.responder = read_like_a_model
        yield GeminiHarness(server)
        server.stop()
        structlog.reset_defaults()
