"""Transcripts: timed segments (compact, validated by pydantic) and the transcript of a video."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any, ClassVar, Self

from pydantic import Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from shared.models.base import Frozen, VideoId
from shared.models.videos import VideoMeta


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
