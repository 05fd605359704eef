"""Artifact keys and rendering: SRT, WebVTT, text, JSON and the Markdown report."""

from __future__ import annotations

import json
import re

import pytest

from shared.artifact_rules import content_disposition, download_name
from shared.artifacts import (
    MARKDOWN,
    REPORT_KIND,
    iter_artifacts,
    key_safe,
    parse_transcript_json,
    render_artifacts,
    render_report,
    render_srt,
    render_transcript_json,
    render_transcript_txt,
    render_vtt,
    report_key,
    srt_time,
    transcript_keys,
    vtt_time,
)
from shared.errors import InvalidInput
from shared.models import Quote, Segment, Transcript, Usage
from tests.support import factories as f

SRT_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2,}):(\d{2}):(\d{2}),(\d{3})$")
VTT_TIMING = re.compile(
    r"^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})$"
)
VID = f.video_id(1)


def _ms(groups: tuple[str, ...]) -> tuple[int, int]:
    h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in groups)
    return (h1 * 3600 + m1 * 60 + s1) * 1000 + ms1, (h2 * 3600 + m2 * 60 + s2) * 1000 + ms2


def _transcript(*segments: tuple[float, float, str]) -> Transcript:
    return f.transcript(
        VID, segments=tuple(Segment(start=s, duration=d, text=t) for s, d, t in segments)
    )


def parse_srt(text: str) -> list[tuple[int, int, int, list[str]]]:
    """A strict reader: number, timing, one or more text lines, blank line between cues."""
    assert text.endswith("\n") and not text.endswith("\n\n\n")
    cues = []
    for block in text.strip("\n").split("\n\n"):
        number, timing, *lines = block.split("\n")
        match = SRT_TIMING.match(timing)
        assert match, timing
        assert lines and all(line.strip() for line in lines)
        start, end = _ms(match.groups())
        cues.append((int(number), start, end, lines))
    return cues


def parse_vtt(text: str) -> list[tuple[int, int, list[str]]]:
    header, *blocks = text.strip("\n").split("\n\n")
    assert header == "WEBVTT"
    cues = []
    for block in blocks:
        timing, *lines = block.split("\n")
        match = VTT_TIMING.match(timing)
        assert match, timing
        assert lines and all(line.strip() and "-->" not in line for line in lines)
        start, end = _ms(match.groups())
        cues.append((start, end, lines))
    return cues


# ---- keys ------------------------------------------------------------------------------


def test_transcript_keys() -> None:
    assert transcript_keys(VID) == {
        "transcript_json": f"transcripts/{VID}.json",
        "transcript_txt": f"transcripts/{VID}.txt",
        "transcript_srt": f"transcripts/{VID}.srt",
        "transcript_vtt": f"transcripts/{VID}.vtt",
    }


def test_keys_accept_urls_and_refuse_bad_ids() -> None:
    assert transcript_keys(f"https://youtu.be/{VID}?t=3")["transcript_txt"].endswith(f"{VID}.txt")
    with pytest.raises(InvalidInput):
        transcript_keys("../../etc")
    with pytest.raises(InvalidInput):
        report_key("nope", "v1")


def test_report_key_makes_the_version_key_safe() -> None:
    assert report_key(VID, "extractive-v1") == f"reports/{VID}/extractive-v1.md"
    key = report_key(VID, "gemini:gemini-3.1-flash-lite:p1")
    assert re.fullmatch(rf"reports/{VID}/gemini_gemini-3\.1-flash-lite_p1-[0-9a-f]{{8}}\.md", key)
    assert report_key(VID, "gemini:gemini-3.1-flash-lite:p1") == key  # deterministic
    for hostile in ("../../x", "a/b", "..", " spaced out ", "ünï/cødé"):
        segment = key_safe(hostile)
        assert re.fullmatch(r"[A-Za-z0-9._-]+", segment), segment
        assert segment not in (".", "..") and not segment.startswith(".")


def test_different_versions_never_share_a_report_key() -> None:
    versions = ["a/b", "a_b", "a:b", "a b", "a-b", "a__b"]
    assert len({report_key(VID, v) for v in versions}) == len(versions)


def test_report_key_needs_a_version() -> None:
    with pytest.raises(ValueError, match="analysis_version"):
        report_key(VID, "  ")


# ---- timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0, "00:00:00,000", "00:00:00.000"),
        (1.5, "00:00:01,500", "00:00:01.500"),
        (61.0456, "00:01:01,046", "00:01:01.046"),
        (3599.9996, "01:00:00,000", "01:00:00.000"),
        (7322.25, "02:02:02,250", "02:02:02.250"),
        (360_000.0, "100:00:00,000", "100:00:00.000"),
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert srt_time(seconds) == srt
    assert vtt_time(seconds) == vtt


# ---- SRT and WebVTT --------------------------------------------------------------------


def test_srt_numbers_cues_and_times_them() -> None:
    t = _transcript(
        (0.0, 2.5, "Hello there."),
        (2.5, 0.0, "   "),  # empty: skipped, numbering stays consecutive
        (3.0, 0.0, "zero length"),
        (3725.123, 4.0, "line one\n\nline two"),
    )
    cues = parse_srt(render_srt(t).decode())
    assert [c[0] for c in cues] == [1, 2, 3]
    assert cues[0][1:] == (0, 2500, ["Hello there."])
    start, end, lines = cues[1][1:]
    assert (start, lines) == (3000, ["zero length"]) and end > start
    assert cues[2][1:] == (3725123, 3729123, ["line one", "line two"])


def test_srt_keeps_the_arrow_out_of_cue_text() -> None:
    t = _transcript((0, 1, "a --> b & <i>c</i>"))
    text = render_srt(t).decode()
    assert text.count("-->") == 1
    assert "a -> b & <i>c</i>" in text


def test_vtt_header_times_and_escaping() -> None:
    t = _transcript((0, 1.25, "Fish & chips <b>now</b> --> later"), (90.5, 2, "日本語 🎬"))
    raw = render_vtt(t)
    assert raw.startswith(b"WEBVTT\n\n")
    cues = parse_vtt(raw.decode("utf-8"))
    assert cues == [
        (0, 1250, ["Fish &amp; chips &lt;b&gt;now&lt;/b&gt; --&gt; later"]),
        (90500, 92500, ["日本語 🎬"]),
    ]


def test_realistic_transcripts_give_well_formed_subtitles() -> None:
    for language in ("en", "ja"):
        t = f.transcript(VID, language=language, count=40)
        srt = parse_srt(render_srt(t).decode())
        vtt = parse_vtt(render_vtt(t).decode())
        assert len(srt) == len(vtt) == 40
        assert all(end > start for _, start, end, _ in srt)
        assert [c[1] for c in srt] == sorted(c[1] for c in srt)


# ---- text and JSON ---------------------------------------------------------------------


def test_txt_is_one_line_per_segment() -> None:
    t = _transcript((0, 1, " first "), (1, 1, ""), (2, 1, "second\nhalf"))
    assert render_transcript_txt(t) == b"first\nsecond half\n"


def test_json_round_trips_the_segments() -> None:
    t = f.transcript(VID, language="ja")
    doc = json.loads(render_transcript_json(t, f.meta(VID)))
    assert doc["video_id"] == VID
    assert doc["language"] == "ja"
    assert doc["is_generated"] is False
    assert doc["url"] == f"https://www.youtube.com/watch?v={VID}"
    assert doc["meta"]["channel_title"] == f.CHANNEL_TITLE
    rebuilt = tuple(Segment(**s) for s in doc["segments"])
    assert rebuilt == t.segments


def test_json_is_the_same_document_as_the_indented_one_it_replaces() -> None:
    """Compact now (a machine format), the same document as before: keys, order, values,
    escapes; text that needs escaping and non-ASCII text included."""
    t = _transcript(
        (0, 1.5, 'say "hi" \\ tab\there'), (1.5, 0, "Ça va? 🚀 <b>&</b>"), (2, 1e-3, "")
    )
    meta = f.meta(VID)
    doc = {
        "video_id": t.video_id,
        "url": f"https://www.youtube.com/watch?v={VID}",
        "language": t.language,
        "language_name": t.language_name,
        "is_generated": t.is_generated,
        "translated_from": t.translated_from,
        "source": t.source,
        "duration_s": t.duration_s,
        "word_count": t.word_count,
        "meta": meta.model_dump(mode="json"),
        "segments": [
            {"start": s.start, "duration": s.duration, "text": s.text} for s in t.segments
        ],
    }
    before = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    now = render_transcript_json(t, meta)
    assert json.loads(now) == json.loads(before)
    assert list(json.loads(now)) == list(doc)
    assert now.endswith(b"}\n") and b"\n " not in now
    assert len(now) < len(before)
    assert parse_transcript_json(now).segments == t.segments


def test_iter_artifacts_renders_one_at_a_time_and_skips_what_it_is_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shared.artifacts as artifacts

    rendered: list[str] = []
    for name in ("render_transcript_txt", "render_srt", "render_vtt"):
        real = getattr(artifacts, name)

        def counting(t: Transcript, _real: object = real, _name: str = name) -> bytes:
            rendered.append(_name)
            return _real(t)  # type: ignore[operator,no-any-return]

        monkeypatch.setattr(artifacts, name, counting)
    monkeypatch.setattr(artifacts, "render_transcript_json", _never)
    arts = iter_artifacts(f.transcript(VID), f.analysis(VID), None, skip={"transcript_json"})
    assert rendered == []  # nothing before it is asked for
    first = next(arts)
    assert first.kind == "transcript_txt" and rendered == ["render_transcript_txt"]
    assert [a.kind for a in arts] == ["transcript_srt", "transcript_vtt", REPORT_KIND]


def _never(*_: object) -> bytes:
    raise AssertionError("rendered although skipped")


# ---- the report ------------------------------------------------------------------------


def test_report_has_every_section() -> None:
    a = f.analysis(VID, usage_=Usage(prompt_tokens=12345, output_tokens=678, cost_usd=0.0015))
    report = render_report(f.transcript(VID), a, f.meta(VID)).decode()
    assert report.startswith("# Queues, retries & \\<idempotency\\> \\#1 — Ça va? 🚀\n")
    assert f"**Channel:** {f.CHANNEL_TITLE}" in report
    assert f"(https://www.youtube.com/watch?v={VID})" in report
    assert "**Analyzer:** gemini" in report and "offline" not in report
    assert "**Model:** test-model" in report
    assert "`gemini:test-model:p1`" in report
    for heading in ("## Summary", "## Key points", "## Topics", "## Quotes", "## Usage"):
        assert heading in report
    assert "- At-least-once delivery means duplicates happen." in report
    assert "queues, idempotency, リトライ" in report
    assert f"[0:21](https://www.youtube.com/watch?v={VID}&t=21s)" in report
    assert f"[2:03](https://www.youtube.com/watch?v={VID}&t=123s)" in report
    assert "list & \\<redrive\\> them." in report and " — Zoë" in report
    assert "12,345 in, 678 out" in report
    assert "$0.001500" in report


def test_report_labels_the_offline_analyzer() -> None:
    a = f.offline_analysis(VID)
    report = render_report(f.transcript(VID), a, None).decode()
    assert report.startswith(f"# {VID}\n")
    assert "**offline analyzer**" in report
    assert "no language model" in report
    assert "**Model:** none" in report
    assert "$0.000000" in report


def test_report_quotes_past_an_hour_and_no_quotes() -> None:
    a = f.analysis(VID, quotes=[Quote(text="late", start_s=3725.9)])
    report = render_report(f.transcript(VID), a, f.meta(VID)).decode()
    assert f"[1:02:05](https://www.youtube.com/watch?v={VID}&t=3725s)" in report
    empty = render_report(f.transcript(VID), f.analysis(VID, quotes=[]), None).decode()
    assert "## Quotes\n\n_none_" in empty


# ---- all together ----------------------------------------------------------------------


def test_render_artifacts_kinds_keys_and_types() -> None:
    rendered = render_artifacts(f.transcript(VID), f.analysis(VID), f.meta(VID))
    by_kind = {r.kind: r for r in rendered}
    assert {k: r.content_type for k, r in by_kind.items()} == {
        "transcript_json": "application/json",
        "transcript_txt": "text/plain; charset=utf-8",
        "transcript_srt": "application/x-subrip",
        "transcript_vtt": "text/vtt; charset=utf-8",
        "report_md": MARKDOWN,
    }
    keys = transcript_keys(VID)
    for kind, key in keys.items():
        assert by_kind[kind].key == key
    assert by_kind[REPORT_KIND].key == report_key(VID, "gemini:test-model:p1")
    assert all(r.size == len(r.data) > 0 for r in rendered)


def test_render_artifacts_is_deterministic_and_uses_transcript_meta() -> None:
    t = f.transcript(VID, meta=f.meta(VID))
    first = render_artifacts(t, f.analysis(VID), None)
    second = render_artifacts(t, f.analysis(VID), None)
    assert first == second
    report = next(r for r in first if r.kind == REPORT_KIND).data.decode()
    assert report.startswith("# Queues, retries")


def test_render_artifacts_refuses_mixed_videos() -> None:
    with pytest.raises(ValueError, match="analysis is of"):
        render_artifacts(f.transcript(VID), f.analysis(f.video_id(2)), None)


# ---- download names (Content-Disposition, RFC 6266 / 5987) ---------------------------------


def test_every_artifact_carries_the_title_its_download_is_named_after() -> None:
    vid = f.video_id(1)
    meta = f.meta(vid, title="Queues: a talk")
    rendered = render_artifacts(f.transcript(vid), f.analysis(vid), meta)
    assert {r.title for r in rendered} == {"Queues: a talk"}
    names = {r.kind: download_name(r.key, r.title) for r in rendered}
    assert names == {
        "transcript_json": "Queues a talk-transcript.json",
        "transcript_txt": "Queues a talk-transcript.txt",
        "transcript_srt": "Queues a talk-transcript.srt",
        "transcript_vtt": "Queues a talk-transcript.vtt",
        "report_md": "Queues a talk-report.md",  # not "<analysis-version>.md"
    }


@pytest.mark.parametrize(
    ("title", "header"),
    [
        (None, 'attachment; filename="dQw4w9WgXcQ-report.md"'),
        ("", 'attachment; filename="dQw4w9WgXcQ-report.md"'),
        ("Plain title", 'attachment; filename="Plain title-report.md"'),
        # quotes, path characters, control characters and ';' never reach the header
        (
            'a "b" / c\\d\r\n; e:f',
            'attachment; filename="a b c d e f-report.md"',
        ),
        # hidden or Windows-refused names: no leading dots, no trailing dot or space
        ("..hidden. ", 'attachment; filename="hidden-report.md"'),
        ("/ / /", 'attachment; filename="dQw4w9WgXcQ-report.md"'),
        # accents fold to an ASCII fallback, the exact name goes in filename*
        (
            "Ça va, très bien",
            'attachment; filename="Ca va, tres bien-report.md"; '
            "filename*=UTF-8''%C3%87a%20va%2C%20tr%C3%A8s%20bien-report.md",
        ),
        # a character with no ASCII form (an em dash, CJK, emoji): the video id instead
        (
            "Queues — a talk",
            'attachment; filename="dQw4w9WgXcQ-report.md"; '
            "filename*=UTF-8''Queues%20%E2%80%94%20a%20talk-report.md",
        ),
        # no ASCII form at all: the fallback is the video id
        (
            "日本語 🎉",
            'attachment; filename="dQw4w9WgXcQ-report.md"; '
            "filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20%F0%9F%8E%89-report.md",
        ),
    ],
)
def test_content_disposition(title: str | None, header: str) -> None:
    assert content_disposition("reports/dQw4w9WgXcQ/gemini-p1.md", title) == header


def test_accented_titles_fold_to_an_ascii_fallback() -> None:
    assert content_disposition("transcripts/dQw4w9WgXcQ.srt", "Café Ünïcode") == (
        'attachment; filename="Cafe Unicode-transcript.srt"; '
        "filename*=UTF-8''Caf%C3%A9%20%C3%9Cn%C3%AFcode-transcript.srt"
    )


def test_long_titles_are_cut_and_other_keys_keep_their_name() -> None:
    name = download_name("reports/dQw4w9WgXcQ/v1.md", "x" * 500)
    assert name == "x" * 100 + "-report.md"
    assert download_name("exports/UCx/2026-01-01.csv", "ignored") == "2026-01-01.csv"
