"""Builders for realistic test data: videos, transcripts, analyses, results, failures.

Shared by every team's tests. Values look like the real thing (11-character ids, channel
ids starting with UC, timed segments, usage with cost) and include non-ASCII text and
characters that need escaping in SRT, WebVTT and Markdown, so adapters and renderers are
tested on what YouTube really sends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.models import (
    Analysis,
    ArtifactRef,
    FailureRecord,
    Quote,
    Segment,
    Transcript,
    Usage,
    VideoMeta,
    VideoResult,
    VideoState,
)

#: a fixed instant, so results built twice are equal (idempotency checks compare reads)
T0 = datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)

CHANNEL_ID = "UCtubeqTestChannel0000001"
CHANNEL_TITLE = "Les Conférences de Zoë — 日本語チャンネル"

_LINES_EN = [
    "Welcome back to the channel, today we talk about queues.",
    "A queue gives you at-least-once delivery, so every step must be idempotent.",
    "Café owners & <b>bakers</b> know this: an order may be shouted twice.",
    "The arrow --> means nothing special here, but subtitle parsers disagree.",
    "Retries need exponential backoff with jitter 🎲 to avoid thundering herds.",
    "Dead letters are data: you can list them and redrive them.",
]
_LINES_JA = [
    "こんにちは、今日はキューについて話します。",
    "少なくとも一回の配信では、各ステップを冪等にする必要があります。",
    "再試行には指数バックオフとジッターが必要です。",
]


def video_id(n: int) -> str:
    """The n-th test video id: 11 characters of [A-Za-z0-9_-]."""
    return f"tq{n:07d}-x"


def meta(
    vid: str | None = None,
    *,
    n: int = 1,
    title: str | None = None,
    channel_id: str | None = CHANNEL_ID,
    channel_title: str | None = CHANNEL_TITLE,
    published_at: datetime | None = None,
    duration_s: int | None = 754,
) -> VideoMeta:
    vid = vid or video_id(n)
    return VideoMeta(
        video_id=vid,
        title=title if title is not None else f"Queues, retries & <idempotency> #{n} — Ça va? 🚀",
        channel_id=channel_id,
        channel_title=channel_title,
        published_at=published_at or T0 - timedelta(days=n),
        duration_s=duration_s,
    )


def segments(count: int = 6, *, language: str = "en", step_s: float = 4.25) -> tuple[Segment, ...]:
    lines = _LINES_JA if language == "ja" else _LINES_EN
    return tuple(
        Segment(start=round(i * step_s, 3), duration=step_s - 0.25, text=lines[i % len(lines)])
        for i in range(count)
    )


def transcript(
    vid: str | None = None,
    *,
    n: int = 1,
    language: str = "en",
    is_generated: bool = False,
    count: int = 6,
    **overrides: Any,
) -> Transcript:
    fields: dict[str, Any] = {
        "video_id": vid or video_id(n),
        "language": language,
        "language_name": {"en": "English", "ja": "Japanese"}.get(language),
        "is_generated": is_generated,
        "segments": segments(count, language=language),
        "source": "directory",
    }
    return Transcript(**(fields | overrides))


def usage(*, prompt: int = 12_345, output: int = 678, cost: float = 0.0015) -> Usage:
    return Usage(
        prompt_tokens=prompt,
        output_tokens=output,
        thinking_tokens=90,
        model_calls=1,
        cost_usd=cost,
    )


def analysis(
    vid: str | None = None,
    *,
    n: int = 1,
    version: str = "gemini:test-model:p1",
    analyzer: str = "gemini",
    model: str | None = "test-model",
    summary: str = "Queues deliver at least once; idempotent steps — et voilà — make that safe.",
    usage_: Usage | None = None,
    created_at: datetime = T0,
    **overrides: Any,
) -> Analysis:
    fields: dict[str, Any] = {
        "video_id": vid or video_id(n),
        "analysis_version": version,
        "analyzer": analyzer,
        "model": model,
        "summary": summary,
        "key_points": [
            "At-least-once delivery means duplicates happen.",
            "Backoff with jitter spreads retries — «toujours».",
        ],
        "topics": ["queues", "idempotency", "リトライ"],
        "quotes": [
            Quote(text="Dead letters are data: list & <redrive> them.", start_s=21.25),
            Quote(text="Café owners know this", start_s=123.0, speaker="Zoë"),
        ],
        "language": "en",
        "usage": usage_ if usage_ is not None else usage(),
        "created_at": created_at,
    }
    return Analysis(**(fields | overrides))


def offline_analysis(vid: str | None = None, *, n: int = 1, **overrides: Any) -> Analysis:
    """What the extractive analyzer produces: no model, no tokens, no cost."""
    return analysis(
        vid,
        n=n,
        version="extractive:v1",
        analyzer="extractive (offline)",
        model=None,
        usage_=Usage(),
        **overrides,
    )


def artifact_refs(vid: str, version: str = "gemini:test-model:p1") -> tuple[ArtifactRef, ...]:
    return (
        ArtifactRef(
            kind="transcript_json",
            key=f"transcripts/{vid}.json",
            content_type="application/json",
            size=2048,
        ),
        ArtifactRef(
            kind="report_md",
            key=f"reports/{vid}/{version.replace(':', '_')}.md",
            content_type="text/markdown; charset=utf-8",
            size=1024,
        ),
    )


def result(
    vid: str | None = None,
    *,
    n: int = 1,
    version: str = "gemini:test-model:p1",
    attempts: int = 1,
    finished_at: datetime = T0,
    video: VideoMeta | None = None,
    analysis_: Analysis | None = None,
) -> VideoResult:
    vid = vid or video_id(n)
    return VideoResult(
        video=video or meta(vid, n=n),
        transcript=transcript(vid),
        analysis=analysis_ or analysis(vid, version=version),
        artifacts=artifact_refs(vid, version),
        attempts=attempts,
        finished_at=finished_at,
    )


def failure(
    vid: str | None = None,
    *,
    n: int = 1,
    state: VideoState = VideoState.FAILED,
    error_code: str = "transcripts_disabled",
    error: str = "The video has transcripts disabled (Untertitel deaktiviert).",
    attempts: int = 1,
    at: datetime = T0,
    video: VideoMeta | None = None,
    detail: str | None = None,
) -> FailureRecord:
    vid = vid or video_id(n)
    return FailureRecord(
        video_id=vid,
        state=state,
        error_code=error_code,
        error=error,
        attempts=attempts,
        detail=detail,
        meta=video,
        at=at,
    )
