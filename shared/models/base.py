"""What every model builds on: the frozen base model, the video id field, the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from shared.video_ids import parse_video_ref


def utcnow() -> datetime:
    return datetime.now(UTC)


def _video_id(value: str) -> str:
    # Accept any URL form at the edge, store only the normalised id.
    return parse_video_ref(value)


VideoId = Annotated[str, AfterValidator(_video_id)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
