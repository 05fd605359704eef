"""The SQLite result store's rows and the models: named parameters in, models out.

SQLite has no timestamp or array types: times are fixed-width UTC ISO text (so text order
is time order) and lists are JSON text. Every write's parameters are built here, named as
the blocks of ``sql/queries/sqlite.sql`` name them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.models import (
    Analysis,
    ArtifactRef,
    BilledCall,
    Quote,
    Transcript,
    Usage,
    VideoMeta,
    VideoState,
    VideoStatus,
)


def ts(value: datetime | None) -> str | None:
    """A timestamp as fixed-width UTC ISO text, so text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def now() -> str:
    return ts(datetime.now(UTC)) or ""


def id_list(video_ids: Sequence[str]) -> str:
    """Ids as one JSON array parameter (the blocks read it with json_each)."""
    return json.dumps(list(dict.fromkeys(video_ids)))


# ---- parameters ------------------------------------------------------------------------


def meta_params(meta: VideoMeta, *, state: str, at: str | None) -> dict[str, Any]:
    """For merge_video.channel and merge_video.video."""
    return {
        "video_id": meta.video_id,
        "title": meta.title,
        "channel_id": meta.channel_id or None,
        "channel_title": meta.channel_title,
        "published_at": ts(meta.published_at),
        "duration_s": meta.duration_s,
        "state": state,
        "at": at,
        "now": now(),
    }


def transcript_params(t: Transcript, updated_at: str | None) -> dict[str, Any]:
    return t.model_dump(mode="json", exclude={"segments", "meta", "video_id"}) | {
        "video_id": t.video_id,
        "text": t.text,
        # straight to JSON text, no dict per segment on the way (a 12-hour stream: ~40,000),
        # and the same text the transcript JSON artifact was written with (encoded once)
        "segments": t.segments_json,
        "word_count": t.word_count,
        "duration_s": t.duration_s,
        "updated_at": updated_at,
    }


def analysis_params(a: Analysis, completed_at: str | None) -> dict[str, Any]:
    """For upsert_analysis: ``completed_at`` None keeps a paid reply, not done."""
    u = a.usage
    return {
        "video_id": a.video_id,
        "analysis_version": a.analysis_version,
        "analyzer": a.analyzer,
        "model": a.model,
        "summary": a.summary,
        "key_points": json.dumps(a.key_points, ensure_ascii=False),
        "topics": json.dumps(a.topics, ensure_ascii=False),
        "quotes": json.dumps([q.model_dump(mode="json") for q in a.quotes], ensure_ascii=False),
        "language": a.language,
        "prompt_tokens": u.prompt_tokens,
        "output_tokens": u.output_tokens,
        "thinking_tokens": u.thinking_tokens,
        "model_calls": u.model_calls,
        "cost_usd": u.cost_usd,
        "created_at": ts(a.created_at),
        "saved_at": now(),
        "completed_at": completed_at,
    }


def call_params(call: BilledCall) -> dict[str, Any]:
    """For record_call: one billed call; ``usage.model_calls`` is not kept (a row is a call)."""
    u = call.usage
    return {
        "call_id": call.call_id,
        "video_id": call.video_id,
        "analysis_version": call.analysis_version,
        "model": call.model,
        "purpose": call.purpose,
        "prompt_tokens": u.prompt_tokens,
        "output_tokens": u.output_tokens,
        "thinking_tokens": u.thinking_tokens,
        "cost_usd": u.cost_usd,
        "outcome": call.outcome.value,
        "at": ts(call.at),
        "recorded_at": now(),
    }


def usage_sums(row: sqlite3.Row) -> Usage:
    """A sums row (progress.analyses, .ledger, .unledgered) as a Usage."""
    return Usage(
        prompt_tokens=row["prompt_tokens"],
        output_tokens=row["output_tokens"],
        thinking_tokens=row["thinking_tokens"],
        model_calls=row["model_calls"],
        cost_usd=round(row["cost_usd"], 8),
    )


# ---- rows ------------------------------------------------------------------------------


def analysis_of(row: sqlite3.Row) -> Analysis:
    return Analysis(
        video_id=row["video_id"],
        analysis_version=row["analysis_version"],
        analyzer=row["analyzer"],
        model=row["model"],
        summary=row["summary"],
        key_points=json.loads(row["key_points"]),
        topics=json.loads(row["topics"]),
        quotes=[Quote.model_validate(q) for q in json.loads(row["quotes"])],
        language=row["language"],
        usage=Usage(
            prompt_tokens=row["prompt_tokens"],
            output_tokens=row["output_tokens"],
            thinking_tokens=row["thinking_tokens"],
            model_calls=row["model_calls"],
            cost_usd=row["cost_usd"],
        ),
        created_at=dt(row["created_at"]),
    )


def status_of(
    row: sqlite3.Row, analyses: list[sqlite3.Row], artifacts: list[sqlite3.Row]
) -> VideoStatus:
    """A video row (with channel_title and transcript_language joined in), its latest
    finished analysis and its artifacts, as the port's status."""
    vid = row["video_id"]
    has_meta = any(row[k] is not None for k in ("title", "channel_id", "published_at"))
    meta = (
        VideoMeta(
            video_id=vid,
            title=row["title"],
            channel_id=row["channel_id"],
            channel_title=row["channel_title"],
            published_at=dt(row["published_at"]),
            duration_s=row["duration_s"],
        )
        if has_meta or row["duration_s"] is not None
        else None
    )
    return VideoStatus(
        video_id=vid,
        state=VideoState(row["state"]),
        meta=meta,
        analysis=analysis_of(analyses[0]) if analyses else None,
        transcript_language=row["transcript_language"],
        artifacts=tuple(
            ArtifactRef(
                kind=a["kind"], key=a["key"], content_type=a["content_type"], size=a["size"]
            )
            for a in artifacts
        ),
        attempts=row["attempts"],
        error_code=row["error_code"],
        error=row["error"],
        updated_at=dt(row["updated_at"]),
    )
