"""A template's analysis as stored: the reply (JSON, checked against the template's schema),
the schema beside it, who made it and what it cost."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.models import ArtifactRef, Frozen, Usage, VideoId, utcnow


class TemplateResult(Frozen):
    video_id: VideoId
    template: str
    #: the idempotency key with video_id (``AnalysisTemplate.version_key``)
    analysis_version: str
    result: dict[str, Any]
    output_schema: dict[str, Any]
    analyzer: str
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    created_at: datetime = Field(default_factory=utcnow)
    #: set, with the artifacts, once the result is rendered (a row without it is a paid
    #: reply kept for reuse, not a finished analysis)
    completed_at: datetime | None = None
    artifacts: tuple[ArtifactRef, ...] = ()
