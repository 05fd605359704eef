"""The batch analyzer contract on the Gemini Batch API client: the real google-genai client
against the Batch API stub (``tests/support/gemini_batch_stub.py``), once with the requests
inline and once as a JSONL file through the Files API (an inline limit of 0 bytes), the
replies written last request first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_client import gemini_client
from shared.adapters.gemini_analyzer import GeminiAnalyzer
from shared.adapters.gemini_batch import GeminiBatchAnalyzer
from shared.gemini.partials import InMemoryPartialStore
from shared.rate_budget import InProcessRateBudget, Limits
from tests.contract.batch_analyzer_contract import (
    MARKER,
    BatchAnalyzerContract,
    Fault,
    Outcome,
    Spoiled,
    items,
    summary_for,
    video,
    wait_until_ended,
)
from tests.support import gemini_stub as gs
from tests.support.gemini_batch_stub import GeminiBatchStub

pytestmark = pytest.mark.services

CHUNK_TOKENS = 2000


def responder(spoiled: dict[str, Spoiled]) -> Any:
    """Answers each request from its text (the summary names its transcript's marker)."""

    def respond(key: str, request: dict[str, Any]) -> dict[str, Any]:
        text = "".join(
            p.get("text", "") for c in request.get("contents", []) for p in c.get("parts", [])
        )
        match = MARKER.search(text)
        summary = summary_for(match.group(1) if match else "none")
        how = spoiled.get(key)
        if how == "invalid":
            reply = gs.ok({"summary": summary})  # no key points, topics or quotes
        elif how == "truncated":
            reply = gs.truncated(json.dumps(gs.analysis_dict(summary=summary))[:40])
        elif how == "refused":
            reply = gs.candidate_stopped("SAFETY")
        else:
            reply = gs.ok(gs.analysis_dict(summary=summary), prompt_tokens=500 + len(text) // 4)
        assert isinstance(reply.body, dict)
        return reply.body

    return respond


@dataclass
class GeminiBatchHarness:
    stub: GeminiBatchStub
    inline_max_bytes: int
    chunk_tokens: int = CHUNK_TOKENS
    spoiled: dict[str, Spoiled] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stub.responder = responder(self.spoiled)
        self.stub.reverse_replies = True

    def section(self) -> GeminiSettings:
        return gs.section_for(self.stub, chunk_tokens=self.chunk_tokens)

    @property
    def online_version(self) -> str:
        online = GeminiAnalyzer.from_settings(
            self.section(),
            budget=InProcessRateBudget(Limits(requests=10, tokens=1_000_000)),
            partials=InMemoryPartialStore(),
        )
        try:
            return online.analysis_version
        finally:
            online.close()

    def make(self) -> GeminiBatchAnalyzer:
        return GeminiBatchAnalyzer.from_settings(
            self.section(), inline_max_bytes=self.inline_max_bytes
        )

    def creates(self) -> list[str]:
        return list(self.stub.creates)

    def billed(self) -> list[str]:
        return [key for _, key, _ in self.stub.billed]

    def billed_cost(self) -> float:
        section = self.section()
        # Gemini bills batch requests at half the standard price
        return self.stub.billed_cost(section.price_input_per_m / 2, section.price_output_per_m / 2)

    def finish_next(self, outcome: Outcome) -> None:
        self.stub.outcomes.append(outcome)

    def fail_requests(self, keys: set[str]) -> None:
        self.stub.fail_keys |= keys

    def spoil(self, key: str, how: Spoiled) -> None:
        self.spoiled[key] = how

    def fault(self, kind: Fault) -> None:
        reply = gs.rate_limited("17s") if kind == "rate_limited" else gs.server_error(503)
        assert isinstance(reply.body, dict)
        self.stub.script.append((reply.status, reply.body))


class TestGeminiBatchAnalyzer(BatchAnalyzerContract):
    @pytest.fixture(params=["inline", "file"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[GeminiBatchHarness]:
        structlog.reset_defaults()  # another test may leave it printing to a closed stream
        stub = GeminiBatchStub().start()
        inline_max_bytes = 10_000_000 if request.param == "inline" else 0
        yield GeminiBatchHarness(stub, inline_max_bytes)
        stub.stop()
        structlog.reset_defaults()


@pytest.mark.parametrize(("inline_max_bytes", "inline"), [(10_000_000, True), (0, False)])
def test_the_requests_go_inline_or_as_a_file_by_size(inline_max_bytes: int, inline: bool) -> None:
    """Both transports the contract runs on are the ones it means to run on."""
    with GeminiBatchStub() as stub:
        harness = GeminiBatchHarness(stub, inline_max_bytes)
        analyzer = harness.make()
        try:
            analyzer.submit("tubeq-batch-transport", items(analyzer, [video(1), video(2)]))
        finally:
            analyzer.close()
        (batch,) = stub.batches.values()
        assert batch.inline is inline
        assert [key for key, _ in batch.requests] == [video(1), video(2)]
        assert (stub.files == {}) is inline  # a JSONL file uploaded only for a file batch


@pytest.mark.parametrize("inline_max_bytes", [10_000_000, 0])
def test_a_failed_requests_error_says_what_gemini_said(inline_max_bytes: int) -> None:
    with GeminiBatchStub() as stub:
        stub.polls_to_finish = 1
        stub.fail_keys = {video(1)}
        analyzer = GeminiBatchHarness(stub, inline_max_bytes).make()
        try:
            remote = analyzer.submit("tubeq-batch-error", items(analyzer, [video(1)]))
            wait_until_ended(analyzer, remote.name)
            (reply,) = analyzer.results(remote.name)
        finally:
            analyzer.close()
    assert reply.key == video(1)
    assert reply.error == "stub: internal error (status 13)"


def test_a_batch_past_the_first_page_of_the_listing_is_adopted() -> None:
    """The listing is newest first, 100 a page: the batch a dead submit created may be on a
    later page by the time the job runs again."""
    with GeminiBatchStub() as stub:
        harness = GeminiBatchHarness(stub, 10_000_000)
        analyzer, client = harness.make(), gemini_client(harness.section())
        try:
            batch = items(analyzer, [video(1)])
            first = analyzer.submit("tubeq-batch-oldest", batch)
            request = types.InlinedRequest(contents="newer", metadata={"key": video(2)})
            for n in range(100):  # straight through the client: no listing before each
                client.batches.create(
                    model=harness.section().model,
                    src=[request],
                    config=types.CreateBatchJobConfig(display_name=f"tubeq-batch-newer-{n}"),
                )
            again = analyzer.submit("tubeq-batch-oldest", batch)
        finally:
            analyzer.close()
            client.close()
    assert again.name == first.name
    assert stub.creates.count("tubeq-batch-oldest") == 1
