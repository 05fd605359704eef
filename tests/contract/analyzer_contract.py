"""The analyzer contract: one suite every ``shared.ports.Analyzer`` keeps.

An adapter's test module subclasses ``AnalyzerContract`` and provides a ``harness`` fixture
returning an ``AnalyzerHarness``: it builds the analyzer on its backend (nothing for the
extractive one; the Gemini stub through the real google-genai client) and declares what the
analyzer can do: whether it costs money (a model call, usage and price) and whether it can
watch a video without a transcript (``VideoAnalyzer``). ``make`` takes the spend ledger the
analyzer records its billed calls in (an analyzer that never pays records nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from shared import errors
from shared.models import Segment, Transcript, VideoMeta
from shared.ports import Analyzer, SpendLedger, VideoAnalyzer
from tests.support.spend_ledger import RecordingLedger

VIDEO = "ctVideo0001"

LINES = [
    "Welcome to this talk about message queues and why batch pipelines need them.",
    "A queue decouples the producers of work from the consumers that do it.",
    "Delivery is at least once, so every consumer must be idempotent.",
    "Retries use exponential backoff with jitter, and honour the server's retry delay.",
    "After the last retry a message goes to the dead-letter queue with its error.",
    "Operators can list dead letters and redrive them once the cause is fixed.",
    "Leases expire on their own, so a killed consumer never strands its messages.",
    "Rate limits are a budget shared by every worker, not a surprise from a 429.",
    "A paid model reply is saved the moment it arrives and reused on redelivery.",
    "That is how a queue turns a flaky batch job into a reliable pipeline.",
]


def talk(video_id: str = VIDEO, language: str = "en") -> Transcript:
    segments = tuple(
        Segment(start=i * 6.0, duration=6.0, text=text) for i, text in enumerate(LINES)
    )
    return Transcript(video_id=video_id, language=language, is_generated=False, segments=segments)


class AnalyzerHarness(Protocol):
    #: the analyzer's ``name``
    name: str
    #: whether an analysis is a paid model call (usage counted and priced)
    paid: bool
    #: whether it can analyse a video with no transcript (``shared.ports.VideoAnalyzer``)
    watches_videos: bool

    def make(self, ledger: SpendLedger | None = None) -> Analyzer:
        """A new analyzer on the harness's backend, ready to analyse ``talk()``, recording
        what it is billed in ``ledger``."""
        ...


class AnalyzerContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def analyzer(self, harness: AnalyzerHarness) -> Iterator[Analyzer]:
        built = harness.make()
        yield built
        built.close()

    def test_implements_the_port(self, harness: AnalyzerHarness, analyzer: Analyzer) -> None:
        assert isinstance(analyzer, Analyzer)
        assert analyzer.name == harness.name
        assert isinstance(analyzer.analysis_version, str) and analyzer.analysis_version

    def test_the_version_is_stable_across_instances(
        self, harness: AnalyzerHarness, analyzer: Analyzer
    ) -> None:
        # part of the idempotency key: a restarted consumer must see its own work as done
        other = harness.make()
        try:
            assert other.analysis_version == analyzer.analysis_version
        finally:
            other.close()

    def test_an_analysis_says_what_and_who(self, analyzer: Analyzer) -> None:
        meta = VideoMeta(video_id=VIDEO, title="Queues 101", channel_title="Infra talks")
        analysis = analyzer.analyze(talk(), meta)
        assert analysis.video_id == VIDEO
        assert analysis.analysis_version == analyzer.analysis_version
        assert analysis.language == "en"
        assert analysis.summary.strip()
        assert analysis.key_points and all(p.strip() for p in analysis.key_points)
        assert analysis.topics and all(t.strip() for t in analysis.topics)

    def test_quotes_point_into_the_video(self, analyzer: Analyzer) -> None:
        transcript = talk()
        end = transcript.segments[-1].start + transcript.segments[-1].duration
        for quote in analyzer.analyze(transcript, None).quotes:
            assert quote.text.strip()
            assert quote.start_s is None or 0 <= quote.start_s <= end

    def test_the_transcript_language_is_kept(self, analyzer: Analyzer) -> None:
        assert analyzer.analyze(talk(language="en-GB"), None).language == "en-GB"

    def test_usage_matches_what_it_costs(
        self, harness: AnalyzerHarness, analyzer: Analyzer
    ) -> None:
        usage = analyzer.analyze(talk(), None).usage
        if harness.paid:
            assert usage.model_calls >= 1
            assert usage.prompt_tokens > 0 and usage.cost_usd > 0
        else:
            assert usage.model_calls == 0 and usage.cost_usd == 0

    def test_every_billed_call_is_in_the_ledger(self, harness: AnalyzerHarness) -> None:
        ledger = RecordingLedger()
        analyzer = harness.make(ledger)
        try:
            first = analyzer.analyze(talk(), None)
            second = analyzer.analyze(talk(), None)  # a real second analysis is paid again
        finally:
            analyzer.close()
        assert ledger.total() == first.usage + second.usage
        assert len(ledger.calls) == first.usage.model_calls + second.usage.model_calls
        for call in ledger.calls:
            assert call.video_id == VIDEO
            assert call.analysis_version == analyzer.analysis_version
            assert call.usage.model_calls == 1
        if not harness.paid:
            assert ledger.calls == []

    def test_a_transcript_without_text_is_a_permanent_error(self, analyzer: Analyzer) -> None:
        empty = Transcript(
            video_id=VIDEO,
            language="en",
            is_generated=True,
            segments=(Segment(start=0, duration=1, text="  "),),
        )
        with pytest.raises(errors.PermanentError) as caught:
            analyzer.analyze(empty, None)
        assert VIDEO in caught.value.message

    def test_watching_videos_is_declared(
        self, harness: AnalyzerHarness, analyzer: Analyzer
    ) -> None:
        assert isinstance(analyzer, VideoAnalyzer) is harness.watches_videos

    def test_close_twice_is_harmless(self, harness: AnalyzerHarness) -> None:
        analyzer = harness.make()
        analyzer.close()
        analyzer.close()
