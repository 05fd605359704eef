"""The embedded transcript source: one JSON file per video in a folder (the bundled samples).

File format (``<video_id>.json``; see ``samples/README.md``)::

    {"video": {...VideoMeta...}, "language": "en", "language_name": "English",
     "is_generated": false, "segments": [{"start": 0.0, "duration": 4.2, "text": "..."}]}

or, to stand in for a video whose transcript cannot be had, the same ``video`` plus
``"error": "<code>"`` where the code is one of ``shared.errors``' codes (below). That lets
the demo exercise every failure path (permanent and transient) without touching YouTube.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shared.adapter_settings import DirectoryTranscriptSettings
from shared.classify import classify
from shared.errors import (
    AgeRestricted,
    ConfigError,
    InvalidVideoId,
    NoTranscriptFound,
    PermanentError,
    RateLimited,
    RequestBlocked,
    TranscriptsDisabled,
    TubeqError,
    UpstreamUnavailable,
    VideoUnavailable,
    VideoUnplayable,
)
from shared.models import Segment, Transcript, VideoMeta
from shared.video_ids import is_video_id

# The "error" values a file may carry, by the error class they raise.
ERROR_CLASSES: dict[str, type[TubeqError]] = {
    cls.code: cls
    for cls in (
        TranscriptsDisabled,
        VideoUnavailable,
        NoTranscriptFound,
        AgeRestricted,
        VideoUnplayable,
        UpstreamUnavailable,
        RequestBlocked,
        RateLimited,
    )
}


class MalformedTranscriptFile(PermanentError):
    """A transcript file in the directory is not valid; its message names the file."""

    code = "malformed_transcript_file"


class _TranscriptFile(BaseModel):
    """What one file must hold: a transcript, or an error code standing in for one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: VideoMeta
    language: str | None = None
    language_name: str | None = None
    is_generated: bool | None = None
    segments: tuple[Segment, ...] | None = None
    error: str | None = None

    @model_validator(mode="after")
    def _transcript_or_error(self) -> _TranscriptFile:
        if self.error is not None:
            if self.error not in ERROR_CLASSES:
                raise ValueError(
                    f"unknown error {self.error!r}; use one of: {', '.join(ERROR_CLASSES)}"
                )
            if self.segments:
                raise ValueError("a file with an 'error' must not have segments")
            return self
        missing = [
            name for name in ("language", "is_generated", "segments") if getattr(self, name) is None
        ]
        if missing:
            raise ValueError(
                f"missing {', '.join(missing)} (a transcript needs language, is_generated "
                "and segments; a failure stand-in needs 'error')"
            )
        return self


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as one line: 'video.duration_s: Input should be ...; ...'."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "file"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts[:5]) + (f" (and {len(parts) - 5} more)" if len(parts) > 5 else "")


class DirectoryTranscriptSource:
    """Reads ``<video_id>.json`` transcripts from ``directory``; never touches the network."""

    name = "directory"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def from_settings(cls, section: DirectoryTranscriptSettings) -> Self:
        directory = section.directory
        if not directory.is_dir():
            raise ConfigError(
                f"TUBEQ_TRANSCRIPTS_DIR: {directory} is not a folder; point it at a folder of "
                "<video_id>.json transcript files (the default is the bundled samples)"
            )
        return cls(directory)

    def list_ids(self) -> list[str]:
        """The video ids this folder has a file for (every sample, for the demo), sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if is_video_id(p.stem))

    def meta(self, video_id: str) -> VideoMeta:
        """What the file says about the video (title, channel, ...), failure stand-ins too."""
        return self._load(video_id).video

    def close(self) -> None:
        """Nothing to release: every fetch opens and closes its own file."""

    def fetch(self, video_id: str) -> Transcript:
        doc = self._load(video_id)
        if doc.error is not None:
            error_cls = ERROR_CLASSES[doc.error]
            detail = (error_cls.__doc__ or doc.error).strip()
            if doc.error == UpstreamUnavailable.code:
                detail = "simulated outage of the transcript service (sample file)"
            raise error_cls(f"video {video_id}: {detail}")
        # The validator guarantees these are set when there is no error.
        assert doc.language is not None and doc.is_generated is not None
        assert doc.segments is not None
        return Transcript(
            video_id=video_id,
            language=doc.language,
            language_name=doc.language_name,
            is_generated=doc.is_generated,
            segments=doc.segments,
            source=self.name,
            meta=doc.video,
        )

    # ---- reading ------------------------------------------------------------------------

    def _path(self, video_id: str) -> Path:
        return self.directory / f"{video_id}.json"

    def _load(self, video_id: str) -> _TranscriptFile:
        # Checked before building a path, so an id can never reach outside the folder.
        if not is_video_id(video_id):
            raise InvalidVideoId(
                f"{video_id!r} is not a video id (11 characters of A-Z, a-z, 0-9, '_' or '-')"
            )
        path = self._path(video_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise VideoUnavailable(
                f"video {video_id}: no transcript file {path.name} in {self.directory} "
                "(add one, or set TUBEQ_TRANSCRIPTS_DIR to the folder that has it)"
            ) from None
        except OSError as exc:
            raise classify(exc) from exc
        try:
            # Straight from the bytes, in one pass: no dict per segment on the way (a 12-hour
            # stream is ~40,000 of them).
            doc = _TranscriptFile.model_validate_json(raw)
        except ValidationError:
            doc = _diagnose(path, raw)
        if doc.video.video_id != video_id:
            raise MalformedTranscriptFile(
                f"{path}: video.video_id is {doc.video.video_id!r} but the file is named for "
                f"{video_id!r}; rename the file or fix the id"
            )
        return doc


def _diagnose(path: Path, raw: bytes) -> _TranscriptFile:
    """Why a file did not validate, in the file's terms (encoding, JSON syntax with line and
    column, the fields at fault): the slow path, taken only by a bad file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedTranscriptFile(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedTranscriptFile(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise MalformedTranscriptFile(
            f"{path}: expected a JSON object with 'video' and 'segments' (or 'error'), "
            f"got {type(data).__name__}"
        )
    try:
        return _TranscriptFile.model_validate(data)
    except ValidationError as exc:
        raise MalformedTranscriptFile(f"{path}: {_describe(exc)}") from None
