"""Artifact keys and rendering: a transcript and its analysis → files people download.

Keys are a pure function of the video id (and the analysis version for reports), so a
retried or redelivered job overwrites the same objects instead of adding new ones.
Rendering is deterministic too: the same transcript and analysis give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict

from shared.models import Analysis, Segment, Transcript, VideoMeta
from shared.video_ids import parse_video_ref

JSON: Final = "application/json"
TEXT: Final = "text/plain; charset=utf-8"
SRT: Final = "application/x-subrip"
VTT: Final = "text/vtt; charset=utf-8"
MARKDOWN: Final = "text/markdown; charset=utf-8"

#: kind → (file extension, content type) of the transcript artifacts
TRANSCRIPT_KINDS: Final[dict[str, tuple[str, str]]] = {
    "transcript_json": ("json", JSON),
    "transcript_txt": ("txt", TEXT),
    "transcript_srt": ("srt", SRT),
    "transcript_vtt": ("vtt", VTT),
}
REPORT_KIND: Final = "report_md"

WATCH_URL: Final = "https://www.youtube.com/watch?v={video_id}"

_KEY_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class RenderedArtifact:
    kind: str
    key: str
    data: bytes
    content_type: str
    #: the video's title, for the name the file is downloaded as (``put(..., title=)``)
    title: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


# ---- keys ------------------------------------------------------------------------------


def transcript_keys(video_id: str) -> dict[str, str]:
    """kind → key of every transcript artifact of a video."""
    vid = parse_video_ref(video_id)
    return {kind: f"transcripts/{vid}.{ext}" for kind, (ext, _) in TRANSCRIPT_KINDS.items()}


def key_safe(label: str) -> str:
    """``label`` as one path segment of ``[A-Za-z0-9._-]``.

    A label that had to change gets a short hash of the original appended, so two
    different versions (``gemini/p1`` and ``gemini_p1``) never share a key.
    """
    cleaned = _KEY_SAFE.sub("_", label).strip("._") or "version"
    if cleaned == label:
        return label
    digest = hashlib.sha256(label.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}"


def report_key(video_id: str, analysis_version: str) -> str:
    if not analysis_version.strip():
        raise ValueError("analysis_version is empty: the report key needs the version label")
    return f"reports/{parse_video_ref(video_id)}/{key_safe(analysis_version)}.md"


def watch_url(video_id: str, at_s: float | None = None) -> str:
    url = WATCH_URL.format(video_id=video_id)
    return url if at_s is None else f"{url}&t={int(at_s)}s"


# ---- timestamps ------------------------------------------------------------------------


def _clock(ms: int, sep: str) -> str:
    # %-formatting: one C call, ~40% faster than the f-string's five format specs
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return "%02d:%02d:%02d%s%03d" % (hours, minutes, seconds, sep, millis)  # noqa: UP031


def _timing(segment: Segment, sep: str) -> str:
    """A cue's timing line, ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` (``sep`` "," for SRT, "." for
    WebVTT), in one call and one format (it runs once a cue, twice per transcript: 80,000
    times for a 12-hour one)."""
    start = round(segment.start * 1000)
    # Both formats want the end after the start; ASR gives zero-length segments sometimes.
    end = max(round(segment.end * 1000), start + 1)
    s1, ms1 = divmod(start, 1000)
    s2, ms2 = divmod(end, 1000)
    return "%02d:%02d:%02d%s%03d --> %02d:%02d:%02d%s%03d" % (  # noqa: UP031
        s1 // 3600,
        s1 // 60 % 60,
        s1 % 60,
        sep,
        ms1,
        s2 // 3600,
        s2 // 60 % 60,
        s2 % 60,
        sep,
        ms2,
    )


def srt_time(seconds: float) -> str:
    return _clock(round(seconds * 1000), ",")


def vtt_time(seconds: float) -> str:
    return _clock(round(seconds * 1000), ".")


def display_time(seconds: float) -> str:
    """``M:SS`` or ``H:MM:SS``, as YouTube shows it."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _cue_lines(text: str) -> list[str]:
    # A blank line ends a cue in both formats, so blank lines inside the text are dropped.
    if text.isprintable():  # no line break of any kind (every one splitlines knows is not)
        line = text.strip()
        return [line] if line else []
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---- renderers -------------------------------------------------------------------------


#: machine JSON: no indent, no spaces (a 12-hour transcript is ~3 MB this way, ~5 MB indented)
_SEPARATORS: Final = (",", ":")


def render_transcript_json(transcript: Transcript, meta: VideoMeta | None) -> bytes:
    """The transcript as one JSON document; ``segments`` last, as a list of
    ``{"start", "duration", "text"}``. Compact (a machine format; ``json.loads`` reads it)."""
    head = {
        "video_id": transcript.video_id,
        "url": watch_url(transcript.video_id),
        "language": transcript.language,
        "language_name": transcript.language_name,
        "is_generated": transcript.is_generated,
        "translated_from": transcript.translated_from,
        "source": transcript.source,
        "duration_s": transcript.duration_s,
        "word_count": transcript.word_count,
        "meta": meta.model_dump(mode="json") if meta else None,
    }
    opening = json.dumps(head, ensure_ascii=False, separators=_SEPARATORS)[:-1]
    return f'{opening},"segments":{transcript.segments_json}}}\n'.encode()


class _SavedTranscript(BaseModel):
    """What ``parse_transcript_json`` reads back (the computed fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    video_id: str
    language: str
    language_name: str | None = None
    is_generated: bool
    translated_from: str | None = None
    source: str | None = None
    meta: VideoMeta | None = None
    segments: tuple[Segment, ...]


def parse_transcript_json(data: bytes) -> Transcript:
    """Read back what ``render_transcript_json`` wrote (the pipeline reuses it on a retry),
    straight from the bytes; a ``ValueError`` when it is not such a document."""
    doc = _SavedTranscript.model_validate_json(data)
    return Transcript(
        video_id=doc.video_id,
        language=doc.language,
        language_name=doc.language_name,
        is_generated=doc.is_generated,
        translated_from=doc.translated_from,
        segments=doc.segments,
        source=doc.source or "artifact",
        meta=doc.meta,
    )


def render_transcript_txt(transcript: Transcript) -> bytes:
    lines = [" ".join(_cue_lines(s.text)) for s in transcript.segments]
    return ("\n".join(line for line in lines if line) + "\n").encode("utf-8")


def render_srt(transcript: Transcript) -> bytes:
    cues: list[str] = []
    for segment in transcript.segments:
        # "-->" is only meaningful on the timing line; some players misread it in text.
        lines = [line.replace("-->", "->") for line in _cue_lines(segment.text)]
        if not lines:
            continue
        cues.append("\n".join([str(len(cues) + 1), _timing(segment, ","), *lines]))
    return ("\n\n".join(cues) + "\n").encode("utf-8") if cues else b""


def _vtt_escape(line: str) -> str:
    # WebVTT cue text is markup: & and < start entities and tags, and "-->" may not appear.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(transcript: Transcript) -> bytes:
    blocks = ["WEBVTT"]
    for segment in transcript.segments:
        lines = [_vtt_escape(line) for line in _cue_lines(segment.text)]
        if not lines:
            continue
        blocks.append("\n".join([_timing(segment, "."), *lines]))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Text from outside (titles, quotes) shown literally, not as Markdown or HTML."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _analyzer_lines(analysis: Analysis) -> list[str]:
    offline = "extractive" in analysis.analyzer or "offline" in analysis.analyzer
    label = md_escape(analysis.analyzer)
    version = analysis.analysis_version.replace("`", "'")
    if offline:
        label += " — **offline analyzer**: sentences picked from the transcript, no language model"
    return [
        f"- **Analyzer:** {label}",
        f"- **Model:** {md_escape(analysis.model) if analysis.model else 'none'}",
        f"- **Analysis version:** `{version}`",
    ]


def _usage_lines(analysis: Analysis) -> list[str]:
    u = analysis.usage
    return [
        f"- **Tokens:** {u.prompt_tokens:,} in, {u.output_tokens:,} out, "
        f"{u.thinking_tokens:,} thinking ({u.model_calls} model call(s))",
        f"- **Cost:** ${u.cost_usd:.6f}",
    ]


def render_report(transcript: Transcript, analysis: Analysis, meta: VideoMeta | None) -> bytes:
    vid = analysis.video_id
    title = md_escape(meta.title) if meta and meta.title else vid
    lines = [f"# {title}", ""]
    if meta and (meta.channel_title or meta.channel_id):
        lines.append(f"- **Channel:** {md_escape(meta.channel_title or meta.channel_id or '')}")
    if meta and meta.published_at:
        lines.append(f"- **Published:** {meta.published_at.date().isoformat()}")
    lines.append(f"- **Video:** [{watch_url(vid)}]({watch_url(vid)})")
    generated = "auto-generated" if transcript.is_generated else "manual"
    lines.append(
        f"- **Transcript:** {md_escape(transcript.language)} ({generated}), "
        f"{display_time(transcript.duration_s)}, {transcript.word_count:,} words"
    )
    lines += _analyzer_lines(analysis)
    lines += ["", "## Summary", "", md_escape(analysis.summary), "", "## Key points", ""]
    lines += [f"- {md_escape(p)}" for p in analysis.key_points] or ["_none_"]
    lines += ["", "## Topics", ""]
    lines += [", ".join(md_escape(t) for t in analysis.topics) or "_none_"]
    lines += ["", "## Quotes", ""]
    for q in analysis.quotes:
        who = f" — {md_escape(q.speaker)}" if q.speaker else ""
        stamp = f"[{display_time(q.start_s)}]({watch_url(vid, q.start_s)})"
        lines.append(f"> {md_escape(q.text)}{who} ({stamp})")
        lines.append("")
    if not analysis.quotes:
        lines += ["_none_", ""]
    lines += ["## Usage", "", *_usage_lines(analysis), ""]
    lines.append(f"_Analysed {analysis.created_at.isoformat(timespec='seconds')}._")
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_artifacts(
    transcript: Transcript, analysis: Analysis, meta: VideoMeta | None
) -> list[RenderedArtifact]:
    """Every artifact of one analysed video, in a fixed order (all held at once: for
    writing, ``iter_artifacts`` renders one at a time)."""
    return list(iter_artifacts(transcript, analysis, meta))


def iter_artifacts(
    transcript: Transcript,
    analysis: Analysis,
    meta: VideoMeta | None,
    *,
    skip: Collection[str] = (),
) -> Iterator[RenderedArtifact]:
    """``render_artifacts`` one at a time, each rendered when asked for, so a caller that
    writes each before asking for the next holds one rendering at a time (a 12-hour
    transcript's JSON, text, SRT and VTT are megabytes each). Kinds in ``skip`` are not
    rendered (e.g. a transcript JSON written already)."""
    if transcript.video_id != analysis.video_id:
        raise ValueError(
            f"transcript is of {transcript.video_id} but analysis is of {analysis.video_id}"
        )
    meta = meta or transcript.meta
    keys = transcript_keys(transcript.video_id)
    renderers: dict[str, Callable[[], bytes]] = {
        "transcript_json": lambda: render_transcript_json(transcript, meta),
        "transcript_txt": lambda: render_transcript_txt(transcript),
        "transcript_srt": lambda: render_srt(transcript),
        "transcript_vtt": lambda: render_vtt(transcript),
    }
    title = meta.title if meta else None
    for kind, (_, content_type) in TRANSCRIPT_KINDS.items():
        if kind not in skip:
            yield RenderedArtifact(kind, keys[kind], renderers[kind](), content_type, title)
    if REPORT_KIND not in skip:
        yield RenderedArtifact(
            REPORT_KIND,
            report_key(analysis.video_id, analysis.analysis_version),
            render_report(transcript, analysis, meta),
            MARKDOWN,
            title,
        )
