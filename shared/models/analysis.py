"""Analyses: the structured content an analyzer produces, and the analysis as stored."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from shared.models.base import Frozen, VideoId, utcnow
from shared.models.spend import Usage


class Quote(Frozen):
    text: str = Field(min_length=1)
    start_s: float = Field(ge=0, description="where the quote starts, in seconds")
    speaker: str | None = None


class AnalysisContent(Frozen):
    """The structured part an analyzer produces (the schema the model is held to)."""

    summary: str = Field(min_length=1, description="a few sentences on what the video says")
    key_points: list[str] = Field(description="the main points, one sentence each")
    topics: list[str] = Field(description="short topic labels, lowercase")
    quotes: list[Quote] = Field(description="notable verbatim quotes with their timestamps")
    language: str = Field(description="language of the transcript the analysis was made from")

    @field_validator("topics")
    @classmethod
    def _normalise_topics(cls, topics: list[str]) -> list[str]:
        seen: dict[str, None] = {}
        for t in topics:
            label = " ".join(t.lower().split())
            if label:
                seen.setdefault(label, None)
        return list(seen)


class Analysis(AnalysisContent):
    """An analysis as stored: the content plus who made it and what it cost."""

    video_id: VideoId
    #: the idempotency key together with video_id: analyzer kind + model + prompt version
    analysis_version: str
    analyzer: str = Field(description="'extractive (offline)' or 'gemini'")
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    created_at: datetime = Field(default_factory=utcnow)
