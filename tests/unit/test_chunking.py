"""Token estimates, segment rendering and chunking of long transcripts (no network)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.gemini.chunking import (
    estimate_tokens,
    render_segments,
    split_into_chunks,
)
from shared.gemini.estimate import (
    SEGMENT_S,
    SPEECH_BYTES_PER_S,
    analysis_estimate,
    call_overhead_tokens,
    transcript_tokens,
)
from shared.gemini.validation import InvalidReplyError, parse_content, unfence
from shared.models import Segment, Transcript


def seg(start: float, text: str, duration: float = 3.0) -> Segment:
    return Segment(start=start, duration=duration, text=text)


def test_estimate_is_about_four_characters_per_token_for_english() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    english = "The quick brown fox jumps over the lazy dog. " * 100
    assert estimate_tokens(english) == pytest.approx(len(english) / 4, rel=0.01)


def test_estimate_counts_utf8_bytes_so_other_scripts_are_not_undercounted() -> None:
    cjk = "日本語の字幕です" * 50  # 3 bytes per character
    assert estimate_tokens(cjk) == pytest.approx(len(cjk) * 3 / 4, rel=0.01)
    assert estimate_tokens(cjk) > len(cjk) / 4 * 2


def test_render_keeps_real_timestamps_and_drops_blank_segments() -> None:
    text = render_segments([seg(0, "hello"), seg(3.25, "   "), seg(3725.5, "late\nline  here")])
    assert text.splitlines() == ["[0.0s] hello", "[3725.5s] late line here"]


def test_short_transcript_is_one_chunk() -> None:
    segments = [seg(i * 3, f"line {i}") for i in range(10)]
    [chunk] = split_into_chunks(segments, 1_000)
    assert chunk.segments == tuple(segments)
    assert chunk.start_s == 0 and chunk.end_s == 30


def test_chunks_split_on_segment_boundaries_with_times_kept() -> None:
    segments = [
        seg(i * 5.0, f"sentence number {i} about something interesting") for i in range(300)
    ]
    chunks = split_into_chunks(segments, 500)
    assert len(chunks) > 3
    assert [s for c in chunks for s in c.segments] == segments  # nothing lost, repeated, moved
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert estimate_tokens(chunk.text) <= 500
        assert chunk.text.startswith(f"[{chunk.start_s:.1f}s] ")
    assert chunks[1].start_s == chunks[0].segments[-1].start + 5.0


def test_oversized_segment_becomes_its_own_chunk() -> None:
    big = seg(10, "word " * 1_000)
    chunks = split_into_chunks([seg(0, "small"), big, seg(20, "after")], 100)
    assert [len(c.segments) for c in chunks] == [1, 1, 1]
    assert chunks[1].segments == (big,)


def test_bad_chunk_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        split_into_chunks([seg(0, "x")], 0)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(min_size=0, max_size=80), min_size=0, max_size=60),
    max_tokens=st.integers(min_value=20, max_value=400),
)
def test_chunking_property(texts: list[str], max_tokens: int) -> None:
    segments = [seg(i * 2.0, t) for i, t in enumerate(texts)]
    chunks = split_into_chunks(segments, max_tokens)
    kept = [s for s in segments if " ".join(s.text.split())]
    assert [s for c in chunks for s in c.segments] == kept
    for chunk in chunks:
        assert len(chunk.segments) == 1 or estimate_tokens(chunk.text) <= max_tokens


# ---- reply validation (the step before a repair) ---------------------------------------------

VALID = (
    '{"summary": "s", "key_points": ["k"], "topics": ["T  One", "t one"], '
    '"quotes": [{"text": "q", "start_s": 1.5}], "language": "en"}'
)


def test_fenced_json_is_unwrapped() -> None:
    assert unfence("```json\n{}\n```") == "{}"
    assert unfence('  ```\n{"a": 1}\n```  ') == '{"a": 1}'
    assert unfence('{"a": "```"}') == '{"a": "```"}'
    content = parse_content("```json\n" + VALID + "\n```")
    assert content.topics == ["t one"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("{not json", "Invalid JSON"),
        ('{"summary": "s"}', "key_points"),
        (VALID.replace('"start_s": 1.5', '"start_s": -3'), "start_s"),
    ],
)
def test_invalid_replies_say_why(reply: str, reason: str) -> None:
    with pytest.raises(InvalidReplyError, match=reason):
        parse_content(reply)


# ---- estimates before a transcript exists (backfill dry runs) ----------------------------------


def _bundled_transcripts() -> list[Transcript]:
    from shared.adapters.directory_transcripts import DirectoryTranscriptSource
    from shared.errors import TubeqError
    from shared.settings import BUNDLED_SAMPLES, Settings

    source = DirectoryTranscriptSource.from_settings(Settings().directory_transcripts)
    found = []
    for path in sorted(BUNDLED_SAMPLES.glob("*.json")):
        try:
            t = source.fetch(path.stem)
        except TubeqError:  # samples that stand for failures (disabled, an outage)
            continue
        if t.segments:
            found.append(t)
    return found


def test_duration_estimate_matches_real_rendered_transcripts() -> None:
    samples = _bundled_transcripts()
    assert len(samples) >= 10
    ratios = []
    for t in samples:
        real = estimate_tokens(render_segments(t.segments))  # what the analyzer will count
        ratios.append(transcript_tokens(t.duration_s) / real)
    assert all(0.8 < r < 1.3 for r in ratios), ratios
    assert 0.95 < sum(ratios) / len(ratios) < 1.15


def test_duration_estimate_counts_the_timestamps() -> None:
    speech_only = math.ceil(3600 * SPEECH_BYTES_PER_S / 4)
    with_stamps = transcript_tokens(3600)
    # one "[1800.0s] " line prefix per ~4 s segment: a sizeable share, not noise
    assert with_stamps > speech_only * 1.15
    assert transcript_tokens(0) == 0


def test_analysis_estimate_follows_the_analyzers_chunking() -> None:
    seconds = 6 * 3600
    lines = [
        seg(i * SEGMENT_S, "x" * int(SEGMENT_S * SPEECH_BYTES_PER_S), SEGMENT_S)
        for i in range(int(seconds / SEGMENT_S))
    ]
    real_chunks = len(split_into_chunks(lines, 30_000))
    est = analysis_estimate(seconds, 30_000)
    assert abs((est.calls - 1) - real_chunks) <= 1  # chunks + 1 merge call
    assert est.input_tokens > transcript_tokens(seconds) + est.calls * call_overhead_tokens() - 1
    short = analysis_estimate(600, 30_000)
    assert short.calls == 1
    assert short.input_tokens == transcript_tokens(600) + call_overhead_tokens()
