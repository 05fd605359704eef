"""A video's metadata, from wherever it came."""

from __future__ import annotations

from shared.models import VideoMeta


def merge_meta(video_id: str, *metas: VideoMeta | None) -> VideoMeta:
    """The first source that knows a field wins: the job's metadata (from the Data API)
    first, the transcript source's after it fills the gaps."""
    merged: dict[str, object] = {"video_id": video_id}
    for meta in metas:
        if meta is None:
            continue
        for key, value in meta.model_dump().items():
            if value is not None and merged.get(key) is None:
                merged[key] = value
    return VideoMeta.model_validate(merged)
