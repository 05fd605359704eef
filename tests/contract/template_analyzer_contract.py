"""The template-analyzer contract: one suite every ``shared.ports.TemplateAnalyzer`` keeps
(the offline extractive heuristics, Gemini with the template's schema as structured output).

An adapter's test module subclasses ``TemplateAnalyzerContract`` and provides a ``harness``
fixture returning a ``TemplateAnalyzerHarness``: analyzers built from settings by
``shared.factory.build_template_analyzer`` (Gemini: the real google-genai client against the
local Gemini stub, which answers each template as a model would: a reply that fits the
schema it was sent, ``example_reply``). What differs is declared:

- ``paid``: a template run is a billed model call (usage, cost, a ledger row, the model);
- ``fills_any_schema``: the model answers any schema; the offline heuristics only fill what
  sentences and start seconds can (a ``pattern`` they cannot meet is a ``PermanentError``
  that says to run it with Gemini);
- ``max_transcript_tokens``: a transcript longer than one call takes is refused (templates
  are not split into parts); None: any length.

The promises pinned here: a result matches the template's schema (checked), says which
video, template and version key it is (``template.version_key(analysis_version)``: another
template or an edited one is another key, the same one is the same key on every instance,
so a redelivered job finds its result), carries the template's schema beside it, is not
complete (its artifacts are written later), and every billed call is in the spend ledger
under that key; the built-in ``summary`` is not a template run; a transcript with no text is
a ``PermanentError`` naming the video.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from shared import errors
from shared.models import Segment, Transcript, VideoMeta
from shared.ports import SpendLedger, TemplateAnalyzer
from shared.templates.loader import builtin_templates
from shared.templates.model import AnalysisTemplate
from shared.templates.results import TemplateResult
from shared.templates.schema_check import reply_problems
from tests.contract.analyzer_contract import LINES, VIDEO, talk
from tests.support.spend_ledger import RecordingLedger

BUILTINS = builtin_templates()
CHAPTERS = BUILTINS["chapters"]
MENTIONS = BUILTINS["mentions"]
#: a user's own template: a list of claims, each with the second it is made at
CLAIMS = AnalysisTemplate(
    name="claims",
    version="1",
    description="Factual claims, each with the second it is made at",
    prompt="List every factual claim the speaker makes, with the second it is made at.",
    output_schema={
        "type": "object",
        "required": ["claims"],
        "properties": {
            "claims": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["claim", "at_s"],
                    "properties": {
                        "claim": {"type": "string", "minLength": 1},
                        "at_s": {"type": "number", "minimum": 0},
                    },
                },
            }
        },
    },
    origin="claims.toml",
)
#: a schema sentences cannot fill: a four-digit year
YEAR = AnalysisTemplate(
    name="founded",
    version="1",
    description="The year the subject was founded",
    prompt="Give the year the organisation discussed was founded, as four digits.",
    output_schema={
        "type": "object",
        "required": ["year"],
        "properties": {"year": {"type": "string", "pattern": "^[0-9]{4}$"}},
    },
    origin="founded.toml",
)
TEMPLATES = (CHAPTERS, MENTIONS, CLAIMS)


def example_reply(schema: dict[str, Any]) -> dict[str, Any] | None:
    """What a model answers to each template of this suite: a reply that fits its schema."""
    replies: list[tuple[AnalysisTemplate, dict[str, Any]]] = [
        (
            CHAPTERS,
            {
                "chapters": [
                    {"title": "Why queues", "start_s": 0, "gist": "Queues decouple work."},
                    {"title": "Failures", "start_s": 24, "gist": "Retries, then dead letters."},
                ]
            },
        ),
        (MENTIONS, {"mentions": [{"name": "Cloudflare", "kind": "organisation", "at_s": [6]}]}),
        (CLAIMS, {"claims": [{"claim": "Delivery is at least once.", "at_s": 12}]}),
        (YEAR, {"year": "1998"}),
    ]
    return next((reply for template, reply in replies if template.output_schema == schema), None)


class TemplateAnalyzerHarness(Protocol):
    #: the analyzer's ``name``
    name: str
    #: whether a template run is a billed model call
    paid: bool
    #: whether any valid schema can be answered (else: what the heuristics can fill)
    fills_any_schema: bool
    #: the longest transcript one template call takes, in estimated tokens (None: any)
    max_transcript_tokens: int | None

    def make(self, ledger: SpendLedger | None = None) -> TemplateAnalyzer:
        """A new analyzer, built from settings, recording what it is billed in ``ledger``."""
        ...


def check(template: AnalysisTemplate, analyzer: TemplateAnalyzer, result: TemplateResult) -> None:
    """What every result says about itself."""
    assert reply_problems(template.output_schema, result.result) == []
    assert result.video_id == VIDEO
    assert result.template == template.name
    assert result.analysis_version == template.version_key(analyzer.analysis_version)
    assert result.output_schema == template.output_schema
    assert result.completed_at is None and result.artifacts == ()
    assert result.analyzer.strip()


class TemplateAnalyzerContract:
    """Subclass as ``Test<Adapter>TemplateAnalyzer`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def analyzer(self, harness: TemplateAnalyzerHarness) -> Iterator[TemplateAnalyzer]:
        built = harness.make()
        yield built
        built.close()

    # ---- the port ---------------------------------------------------------------------
    def test_implements_the_port(
        self, harness: TemplateAnalyzerHarness, analyzer: TemplateAnalyzer
    ) -> None:
        assert isinstance(analyzer, TemplateAnalyzer)
        assert analyzer.name == harness.name
        assert isinstance(analyzer.analysis_version, str) and analyzer.analysis_version

    def test_close_twice_is_harmless(self, harness: TemplateAnalyzerHarness) -> None:
        analyzer = harness.make()
        analyzer.close()
        analyzer.close()

    # ---- results ----------------------------------------------------------------------
    @pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
    def test_a_result_fits_its_template(
        self, analyzer: TemplateAnalyzer, template: AnalysisTemplate
    ) -> None:
        meta = VideoMeta(video_id=VIDEO, title="Queues 101", channel_title="Infra talks")
        check(template, analyzer, analyzer.analyze_template(template, talk(), meta))

    def test_the_version_key_is_the_templates_and_stable(
        self, harness: TemplateAnalyzerHarness, analyzer: TemplateAnalyzer
    ) -> None:
        first = analyzer.analyze_template(CHAPTERS, talk(), None)
        other = harness.make()
        try:
            # a restarted consumer must find its own result: the same key on every instance
            assert other.analysis_version == analyzer.analysis_version
            again = other.analyze_template(CHAPTERS, talk(), None)
        finally:
            other.close()
        assert again.analysis_version == first.analysis_version
        mentions = analyzer.analyze_template(MENTIONS, talk(), None)
        assert mentions.analysis_version != first.analysis_version  # another template
        edited = AnalysisTemplate(
            name=CHAPTERS.name,
            version=CHAPTERS.version,
            description=CHAPTERS.description,
            prompt=CHAPTERS.prompt + "\nName each chapter in five words at most.",
            output_schema=CHAPTERS.output_schema,
        )
        assert edited.version_key(analyzer.analysis_version) != first.analysis_version

    def test_usage_and_model_match_what_it_costs(
        self, harness: TemplateAnalyzerHarness, analyzer: TemplateAnalyzer
    ) -> None:
        result = analyzer.analyze_template(CLAIMS, talk(), None)
        if harness.paid:
            assert result.usage.model_calls >= 1
            assert result.usage.prompt_tokens > 0 and result.usage.cost_usd > 0
            assert result.model
        else:
            assert result.usage.model_calls == 0 and result.usage.cost_usd == 0
            assert result.model is None

    def test_every_billed_call_is_in_the_ledger(self, harness: TemplateAnalyzerHarness) -> None:
        ledger = RecordingLedger()
        analyzer = harness.make(ledger)
        try:
            first = analyzer.analyze_template(CHAPTERS, talk(), None)
            second = analyzer.analyze_template(MENTIONS, talk(), None)
        finally:
            analyzer.close()
        assert ledger.total() == first.usage + second.usage
        assert len(ledger.calls) == first.usage.model_calls + second.usage.model_calls
        assert {c.analysis_version for c in ledger.calls} == (
            {first.analysis_version, second.analysis_version} if harness.paid else set()
        )
        for call in ledger.calls:
            assert call.video_id == VIDEO and call.usage.model_calls == 1
        assert len({c.call_id for c in ledger.calls}) == len(ledger.calls)

    def test_a_schema_it_cannot_answer_is_a_permanent_error_saying_what_to_do(
        self, harness: TemplateAnalyzerHarness, analyzer: TemplateAnalyzer
    ) -> None:
        if harness.fills_any_schema:
            check(YEAR, analyzer, analyzer.analyze_template(YEAR, talk(), None))
            return
        with pytest.raises(errors.PermanentError) as caught:
            analyzer.analyze_template(YEAR, talk(), None)
        assert "founded" in caught.value.message
        assert "TUBEQ_ANALYZER_BACKEND=gemini" in caught.value.message

    # ---- refusals ---------------------------------------------------------------------
    def test_the_summary_is_not_a_template_run(self, analyzer: TemplateAnalyzer) -> None:
        with pytest.raises(ValueError, match="summary pipeline"):
            analyzer.analyze_template(BUILTINS["summary"], talk(), None)

    def test_a_transcript_without_text_is_a_permanent_error(
        self, analyzer: TemplateAnalyzer
    ) -> None:
        empty = Transcript(
            video_id=VIDEO,
            language="en",
            is_generated=True,
            segments=(
                Segment(start=0, duration=1, text="  "),
                Segment(start=1, duration=1, text=""),
            ),
        )
        with pytest.raises(errors.PermanentError) as caught:
            analyzer.analyze_template(CHAPTERS, empty, None)
        assert VIDEO in caught.value.message

    def test_a_transcript_longer_than_one_call_is_refused_where_declared(
        self, harness: TemplateAnalyzerHarness, analyzer: TemplateAnalyzer
    ) -> None:
        # about 4 characters a token: a transcript four times the declared longest, or 10k
        # tokens where none is declared
        tokens = 4 * (harness.max_transcript_tokens or 2_500)
        lines = tokens * 4 // sum(len(line) for line in LINES) + 1
        segments = tuple(
            Segment(start=i * 6.0, duration=6.0, text=LINES[i % len(LINES)])
            for i in range(lines * len(LINES))
        )
        long = Transcript(video_id=VIDEO, language="en", is_generated=False, segments=segments)
        if harness.max_transcript_tokens is None:
            check(CLAIMS, analyzer, analyzer.analyze_template(CLAIMS, long, None))
            return
        with pytest.raises(errors.PermanentError) as caught:
            analyzer.analyze_template(CLAIMS, long, None)
        assert VIDEO in caught.value.message
