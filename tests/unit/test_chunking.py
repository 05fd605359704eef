"""Token estimates, segment rendering and chunking of long transcripts (no network)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.gemini.chunking import (
    estimate_tokens,
    render_segments,
    split_into_chunks,
)
from shared.gemini.validation import InvalidReplyError, parse_content, unfence
from shared.models import Segment


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
        (VALID.replace('"language": "en"', '"language": "en", "extra": 1'), "extra"),
        (VALID.replace('"start_s": 1.5', '"start_s": -3'), "start_s"),
    ],
)
def test_invalid_replies_say_why(reply: str, reason: str) -> None:
    with pytest.raises(InvalidReplyError, match=reason):
        parse_content(reply)
