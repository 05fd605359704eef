"""The data tubeq moves around: jobs, transcripts, analyses, results, queue deliveries."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)
from pydantic_core import core_schema

from shared.jobs import Envelope, Job, read_job
from shared.video_ids import parse_video_ref


def utcnow() -> datetime:
    return datetime.now(UTC)


def _video_id(value: str) -> str:
    # Accept any URL form at the edge, store only the normalised id.
    return parse_video_ref(value)


VideoId = Annotated[str, AfterValidator(_video_id)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---- what goes on the queue ------------------------------------------------------------


class VideoMeta(Frozen):
    """What is known about a video beyond its id (from the Data API or a sample file)."""

    video_id: VideoId
    title: str | None = None
    channel_id: str | None = None
    channel_title: str | None = None
    published_at: datetime | None = None
    duration_s: int | None = Field(default=None, ge=0)


class VideoJob(Job):
    """Analyse this video. Small on purpose (a queue message holds at most 128 KB)."""

    kind: ClassVar[str] = "video.analyze"
    version: ClassVar[int] = 1

    video_id: VideoId
    #: re-analyse even if an analysis of this version exists (an analysis newer than
    #: ``requested_at`` is reused, so a redelivered forced job still pays only once)
    force: bool = False
    requested_at: datetime = Field(default_factory=utcnow)
    #: where the job came from: "cli", "api", "backfill:<channel>", "schedule", "demo"
    source: str = "cli"
    meta: VideoMeta | None = None
    #: the analysis template to run (``shared.templates``); "summary" is tubeq's original
    #: analysis. Added with a default, and left out of a summary job's dump, so a summary
    #: job is on the wire exactly as before (a consumer not yet upgraded still reads it)
    #: and messages without it read as summary jobs
    template: str = Field(default="summary", pattern=r"^[a-z][a-z0-9_]{0,39}$")

    @model_serializer(mode="wrap")
    def _summary_as_before(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # a wrap serializer, not Field(exclude_if=...): the Worker's pydantic (<= 2.10)
        # has no exclude_if
        data: dict[str, Any] = handler(self)
        if data.get("template") == "summary":
            del data["template"]
        return data

    @property
    def label(self) -> str:
        return self.video_id if self.template == "summary" else f"{self.video_id} ({self.template})"


# ---- transcripts -----------------------------------------------------------------------


class Segment:
    """One timed line of a transcript: ``start`` (seconds from the start of the video, >= 0),
    ``duration`` (>= 0) and ``text``.

    Not a pydantic model, on purpose: a 12-hour stream has ~40,000 segments, and a model
    instance carries a ``__dict__`` and a fields-set of its own (~400 bytes more than these
    three slots). Pydantic still validates and serialises it as a field of ``Transcript``
    (a dict in, a dict out: ``__get_pydantic_core_schema__``), in one pass over the list,
    and a JSON document straight from its bytes. Immutable, compared and hashed by value.
    """

    __slots__ = ("duration", "start", "text")
    start: float
    duration: float
    text: str

    def __init__(self, start: float, duration: float, text: str) -> None:
        start_s, duration_s = _seconds("start", start), _seconds("duration", duration)
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, not {type(text).__name__}")
        _set = object.__setattr__
        _set(self, "start", start_s)
        _set(self, "duration", duration_s)
        _set(self, "text", text)

    @property
    def end(self) -> float:
        return self.start + self.duration

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Segment is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Segment is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (self.start, self.duration, self.text) == (other.start, other.duration, other.text)

    def __hash__(self) -> int:
        return hash((self.start, self.duration, self.text))

    def __repr__(self) -> str:
        return f"Segment(start={self.start!r}, duration={self.duration!r}, text={self.text!r})"

    def __reduce__(self) -> tuple[type[Segment], tuple[float, float, str]]:
        return (Segment, (self.start, self.duration, self.text))

    def as_dict(self) -> dict[str, Any]:
        """The stored shape: ``{"start", "duration", "text"}``."""
        return {"start": self.start, "duration": self.duration, "text": self.text}

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        seconds = core_schema.float_schema(ge=0)
        fields = core_schema.typed_dict_schema(
            {
                "start": core_schema.typed_dict_field(seconds),
                "duration": core_schema.typed_dict_field(seconds),
                "text": core_schema.typed_dict_field(core_schema.str_schema()),
            },
            extra_behavior="forbid",
        )
        from_dict = core_schema.no_info_after_validator_function(_segment_of, fields)
        return core_schema.json_or_python_schema(
            json_schema=from_dict,
            python_schema=core_schema.no_info_wrap_validator_function(_segment_or_dict, from_dict),
            serialization=core_schema.plain_serializer_function_ser_schema(Segment.as_dict),
        )


#: machine JSON strings as ``json.dumps(..., ensure_ascii=False)`` writes them (in C)
_encode_str = json.encoder.encode_basestring


def _number(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else json.dumps(value)


def encode_segments(segments: Iterable[Segment]) -> str:
    """``[{"start":…,"duration":…,"text":…},…]`` as compact JSON text, written straight from
    the segments (no dict per segment on the way); ``json.loads`` reads it back."""
    return (
        "["
        + ",".join(
            f'{{"start":{_number(s.start)},"duration":{_number(s.duration)},'
            f'"text":{_encode_str(s.text)}}}'
            for s in segments
        )
        + "]"
    )


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not value >= 0:  # NaN too
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def _segment_or_dict(value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> Any:
    return value if isinstance(value, Segment) else handler(value)


def _segment_of(fields: dict[str, Any]) -> Segment:
    """A segment from fields pydantic has already checked (no second check)."""
    seg = Segment.__new__(Segment)
    _set = object.__setattr__
    _set(seg, "start", fields["start"])
    _set(seg, "duration", fields["duration"])
    _set(seg, "text", fields["text"])
    return seg


class Transcript(Frozen):
    video_id: VideoId
    language: str = Field(description="BCP-47-ish code, e.g. 'en', 'de', 'pt-BR'")
    language_name: str | None = None
    is_generated: bool = Field(description="True when YouTube's speech recognition made it")
    #: set when the text was machine-translated from another language
    translated_from: str | None = None
    segments: tuple[Segment, ...]
    #: where it came from: "directory", "youtube"
    source: str = "directory"
    meta: VideoMeta | None = None

    # Worked out once per transcript (each is a pass over every segment, and the renderers,
    # the analyzer and the result store each ask); the model is frozen, so they cannot go
    # stale, and ``model_copy`` drops them (a copy may have other segments).
    _DERIVED: ClassVar[tuple[str, ...]] = ("text", "duration_s", "word_count", "segments_json")

    @cached_property
    def text(self) -> str:
        return " ".join(t for t in (s.text.strip() for s in self.segments) if t)

    @cached_property
    def duration_s(self) -> float:
        return max((s.end for s in self.segments), default=0.0)

    @cached_property
    def word_count(self) -> int:
        return sum(len(s.text.split()) for s in self.segments)

    @cached_property
    def segments_json(self) -> str:
        """The segments as compact JSON text (``encode_segments``): the transcript JSON
        artifact and the result store's row both carry it, encoded once."""
        return encode_segments(self.segments)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        for name in self._DERIVED:
            copy.__dict__.pop(name, None)
        return copy


# ---- analyses --------------------------------------------------------------------------


class Quote(Frozen):
    text: str = Field(min_length=1)
    start_s: float = Field(ge=0, description="where the quote starts, in seconds")
    speaker: str | None = None


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


# ---- results ---------------------------------------------------------------------------


class VideoState(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    RETRYING = "retrying"  # a transient failure; the queue will redeliver
    FAILED = "failed"  # a permanent failure; recorded, not retried
    DEAD = "dead"  # transient failures exhausted max_retries; in the dead-letter queue


class ArtifactRef(Frozen):
    kind: str = Field(description="transcript_json, transcript_txt, transcript_srt, ...")
    key: str
    content_type: str
    size: int = Field(ge=0)


class VideoResult(Frozen):
    """Everything the pipeline records for a finished video, written in one transaction."""

    video: VideoMeta
    transcript: Transcript
    analysis: Analysis
    artifacts: tuple[ArtifactRef, ...] = ()
    attempts: int = Field(default=1, ge=1)
    finished_at: datetime = Field(default_factory=utcnow)


class FailureRecord(Frozen):
    video_id: VideoId
    state: VideoState
    error_code: str
    error: str
    attempts: int = Field(ge=1)
    #: e.g. the raw model reply of an invalid output, for inspection
    detail: str | None = None
    meta: VideoMeta | None = None
    at: datetime = Field(default_factory=utcnow)


class VideoStatus(Frozen):
    """One video as the result store sees it (for `tubeq show`, the API, skip checks)."""

    video_id: str
    state: VideoState
    meta: VideoMeta | None = None
    analysis: Analysis | None = None
    transcript_language: str | None = None
    artifacts: tuple[ArtifactRef, ...] = ()
    attempts: int = 0
    error_code: str | None = None
    error: str | None = None
    updated_at: datetime | None = None


class Progress(Frozen):
    """Counts per state plus spend, for `tubeq status` and `GET /v1/progress`."""

    by_state: dict[str, int]
    total_videos: int
    analyses: int
    #: the spend of every billed model call (the spend ledger), calls for videos that ended
    #: failed included; an analysis with no ledger rows counts with its own usage
    usage: Usage
    #: what the saved analyses cost: the part of the spend that bought a kept result
    analysis_usage: Usage = Field(default_factory=Usage)
    #: billed calls per ``CallOutcome`` value (only outcomes that occurred)
    calls_by_outcome: dict[str, int] = Field(default_factory=dict)
    #: the first day (UTC) with spend
    first_day: date | None = None


# ---- the queue -------------------------------------------------------------------------


class Delivery(Frozen):
    """A message leased to one consumer until ``lease_expires_at``.

    It carries the job's ``envelope`` as it came off the queue (the adapters know no job
    model); ``body`` is the job in it, read through the catalogue of job kinds.
    """

    message_id: str
    lease_id: str
    envelope: Envelope
    #: how many times it has been delivered, this time included (1 on the first delivery)
    attempts: int = Field(ge=1)
    enqueued_at: datetime
    lease_expires_at: datetime

    @property
    def body(self) -> Job:
        """The job; a ``shared.jobs.JobUnreadable`` when this code cannot read it."""
        return read_job(self.envelope)


class DeadLetter(Frozen):
    message_id: str
    #: the job when this code can read it, else the message body as it was on the queue
    body: SerializeAsAny[Job] | dict[str, Any]
    attempts: int
    last_error: str | None
    enqueued_at: datetime | None
    dead_at: datetime | None


class QueueStats(Frozen):
    ready: int = 0
    delayed: int = 0
    in_flight: int = 0
    dead: int = 0

    @property
    def backlog(self) -> int:
        return self.ready + self.delayed + self.in_flight


# ---- channels and alerts (issue 10) ----------------------------------------------------


class ChannelSummary(Frozen):
    """One channel the result store holds videos of, with counts (``tubeq channels``)."""

    channel_id: str
    title: str | None = None
    videos: int = 0
    analysed: int = 0
    #: failed or dead: given up on
    failed: int = 0
    #: queued, processing or retrying
    pending: int = 0
    last_published: datetime | None = None


class Alert(Frozen):
    """One operator alert: one per event (a dead-letter threshold crossed, a consumer
    stopped, a spend limit passed, a backfill finished), never one per video."""

    #: what happened, e.g. ``dlq_threshold``, ``consumer_stopped``, ``spend_limit``
    kind: str
    #: one line a phone notification can show whole
    title: str
    #: the details: counts, cost, what to do next
    text: str
    #: the same key never alerts twice (``shared.alerts`` keeps the keys it sent)
    dedupe_key: str
    fields: dict[str, str] = Field(default_factory=dict)
