"""The offline extractive analyzer, on the bundled samples and on small hand-made inputs."""

from __future__ import annotations

import re
import time
from functools import cache

import pytest

from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.extractive_analyzer import (
    ALL_STOPWORDS,
    STOPWORDS,
    ExtractiveAnalyzer,
)
from shared.errors import EmptyTranscript, PermanentError, TubeqError
from shared.models import Analysis, Segment, Transcript, VideoMeta
from shared.ports import Analyzer
from shared.settings import BUNDLED_SAMPLES, Settings


@cache
def _samples() -> dict[str, Transcript]:
    source = DirectoryTranscriptSource(BUNDLED_SAMPLES)
    out = {}
    for video_id in source.list_ids():
        try:
            out[video_id] = source.fetch(video_id)
        except TubeqError:
            continue
    return out


SAMPLE_IDS = sorted(_samples())


@cache
def _analysis(video_id: str) -> Analysis:
    return ExtractiveAnalyzer().analyze(_samples()[video_id], None)


def _transcript(texts: list[str], language: str = "en", generated: bool = False) -> Transcript:
    segments = tuple(
        Segment(start=3.0 * k, duration=3.0, text=text) for k, text in enumerate(texts)
    )
    return Transcript(
        video_id="abcDEF12345", language=language, is_generated=generated, segments=segments
    )


def test_it_is_an_analyzer_labelled_as_offline() -> None:
    analyzer = ExtractiveAnalyzer.from_settings(Settings().extractive)
    assert isinstance(analyzer, Analyzer)
    assert analyzer.name == "extractive"
    assert analyzer.analysis_version == "extractive-v1"
    analysis = _analysis("tq-sample01")
    assert analysis.analyzer == "extractive (offline)"
    assert analysis.model is None
    assert analysis.usage.model_calls == 0
    assert analysis.usage.prompt_tokens == analysis.usage.output_tokens == 0
    assert analysis.usage.cost_usd == 0
    assert analysis.video_id == "tq-sample01"


@pytest.mark.parametrize("video_id", SAMPLE_IDS)
def test_every_sample_gets_a_full_analysis_grounded_in_its_transcript(video_id: str) -> None:
    transcript = _samples()[video_id]
    analysis = _analysis(video_id)
    assert analysis.language == transcript.language
    assert analysis.summary.strip()
    assert 5 <= len(analysis.key_points) <= 8
    assert len(set(analysis.key_points)) == len(analysis.key_points)
    assert 5 <= len(analysis.topics) <= 8
    assert all(t == t.lower() and t.strip() for t in analysis.topics)
    assert 3 <= len(analysis.quotes) <= 5
    starts = {s.start for s in transcript.segments}
    text = transcript.text
    for quote in analysis.quotes:
        assert quote.start_s in starts, "a quote starts where a segment starts"
        assert quote.text in text, "a quote is verbatim"
        # the segment the quote starts in really holds the quote's first word
        segment = next(s for s in transcript.segments if s.start == quote.start_s)
        assert quote.text.split()[0] in segment.text.split()
    assert [q.start_s for q in analysis.quotes] == sorted(q.start_s for q in analysis.quotes)


def test_same_input_gives_the_same_output() -> None:
    transcript = _samples()["tq-sample08"]
    first = ExtractiveAnalyzer().analyze(transcript, None)
    second = ExtractiveAnalyzer().analyze(transcript, None)
    fields = {"created_at"}
    assert first.model_dump(exclude=fields) == second.model_dump(exclude=fields)


def test_summary_is_three_distinct_sentences_from_the_transcript() -> None:
    analysis = _analysis("tq-sample18")
    text = _samples()["tq-sample18"].text
    sentences = re.split(r"(?<=[.!?])\s+", analysis.summary)
    assert len(sentences) == 3
    for sentence in sentences:
        assert sentence.rstrip(".?!") in text


@pytest.mark.parametrize("video_id", ["tq-sample10", "tq-sample11", "tq-sample12", "tq-sample17"])
def test_german_samples_get_german_topics(video_id: str) -> None:
    assert _samples()[video_id].language == "de"
    topics = _analysis(video_id).topics
    words = {w for t in topics for w in t.split()}
    assert not words & STOPWORDS["de"], topics
    assert not words & {"the", "and", "this", "that", "with"}
    assert words & {
        "haushaltsbuch",
        "hanse",
        "kaufmann",
        "kaufleute",
        "zug",
        "schwarz",
        "weiß",
        "damengambit",
        "monat",
        "handel",
        "schiffer",
        "chur",
        "bauern",
        "strecke",
        "berg",
        "minuten",
        "schritt",
        "sankt",
        "moritz",
    }, topics


def test_topics_follow_the_subject() -> None:
    assert {"rook", "pawn", "king"} <= set(_analysis("tq-sample08").topics)
    assert "soup" in _analysis("tq-sample01").topics
    assert {"index", "query"} <= set(_analysis("tq-sample06").topics)
    assert {"pâte", "beurre"} <= set(_analysis("tq-sample14").topics)


def test_auto_generated_captions_are_split_into_readable_pseudo_sentences() -> None:
    transcript = _samples()["tq-sample03"]
    assert transcript.is_generated
    analysis = _analysis("tq-sample03")
    assert analysis.summary[0].isupper() and analysis.summary.endswith(".")
    # groups of segments, not the whole transcript as one "sentence"
    assert len(analysis.summary.split()) < len(transcript.text.split()) / 3


def test_the_longest_sample_is_analysed_quickly() -> None:
    transcript = max(_samples().values(), key=lambda t: t.duration_s)
    assert transcript.duration_s >= 2 * 3600
    began = time.perf_counter()
    ExtractiveAnalyzer().analyze(transcript, None)
    elapsed = time.perf_counter() - began
    print(f"extractive analysis of {transcript.word_count} words took {elapsed:.3f} s")
    assert elapsed < 10  # generous: about 0.3 s on a laptop core


def test_an_empty_transcript_is_a_clear_permanent_error() -> None:
    for transcript in (_transcript([]), _transcript(["  ", ""])):
        with pytest.raises(EmptyTranscript, match="no text to analyse") as info:
            ExtractiveAnalyzer().analyze(transcript, None)
        assert isinstance(info.value, PermanentError)


def test_a_tiny_transcript_still_gets_a_summary_and_a_quote() -> None:
    analysis = ExtractiveAnalyzer().analyze(_transcript(["hello"]), None)
    assert analysis.summary == "Hello."
    assert analysis.quotes and analysis.quotes[0].text == "hello"
    analysis = ExtractiveAnalyzer().analyze(_transcript(["Wow!"]), None)
    assert analysis.summary == "Wow!"


def test_title_words_lift_topics_and_unknown_languages_use_every_stoplist() -> None:
    texts = [
        "Heute backen wir Brot mit Sauerteig und viel Geduld.",
        "Der Teig braucht Zeit, und der Sauerteig braucht Pflege.",
        "Das Brot wird knusprig, wenn der Ofen heiß genug ist.",
        "Wir schneiden das Brot erst, wenn es abgekühlt ist.",
    ]
    meta = VideoMeta(video_id="abcDEF12345", title="Ofen und Teig")
    analysis = ExtractiveAnalyzer().analyze(_transcript(texts, language="xx"), meta)
    assert not set(analysis.topics) & ALL_STOPWORDS
    # "ofen" and "teig" occur once each, like a dozen other words; the title lifts them
    assert {"ofen", "teig"} <= set(analysis.topics[:5]), analysis.topics
    untitled = ExtractiveAnalyzer().analyze(_transcript(texts, language="xx"), None).topics
    assert "ofen" not in untitled[:5], untitled


def test_language_tags_with_regions_use_their_language() -> None:
    transcript = _samples()["tq-sample10"].model_copy(update={"language": "de-AT"})
    topics = ExtractiveAnalyzer().analyze(transcript, None).topics
    assert not {w for t in topics for w in t.split()} & STOPWORDS["de"]
