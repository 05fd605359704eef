"""What model calls cost: token usage, and the spend ledger's row for each billed call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.models.base import Frozen, VideoId, utcnow


class Usage(Frozen):
    prompt_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    thinking_tokens: int = Field(default=0, ge=0)
    model_calls: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            thinking_tokens=self.thinking_tokens + other.thinking_tokens,
            model_calls=self.model_calls + other.model_calls,
            cost_usd=round(self.cost_usd + other.cost_usd, 8),
        )


class CallOutcome(StrEnum):
    """How a billed model call ended (the spend ledger's ``outcome``)."""

    OK = "ok"  # a valid reply, used
    INVALID = "invalid"  # off-schema or unparsable output (a repair call may follow)
    TRUNCATED = "truncated"  # cut off by the output-token cap
    REFUSED = "refused"  # a safety or policy refusal
    ERROR = "error"  # billed, then failed otherwise


class BilledCall(Frozen):
    """One model call the provider bills, whatever became of it: a row of the spend ledger.

    ``call_id`` is the idempotency key (the same call recorded twice is one row): derive it
    from what makes the call unique (video, analysis version, chunk or step, attempt of
    that step), never from a clock.
    """

    call_id: str = Field(min_length=1, max_length=200)
    video_id: VideoId | None = None
    analysis_version: str | None = None
    model: str
    #: what the call was for: "analysis", "chunk", "merge", "repair", "video", "batch", …
    purpose: str = "analysis"
    usage: Usage
    outcome: CallOutcome
    at: datetime = Field(default_factory=utcnow)
