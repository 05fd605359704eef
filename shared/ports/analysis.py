"""The analyzers: a transcript (or, for Gemini, the video itself) in, an analysis out; an
analysis template's analyzer; and where a paid partial reply is kept for reuse."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.models import Analysis, Transcript, VideoMeta
from shared.templates.model import AnalysisTemplate
from shared.templates.results import TemplateResult


@runtime_checkable
class Analyzer(Protocol):
    name: str

    @property
    def analysis_version(self) -> str:
        """Part of the idempotency key: changes when the model or prompt changes."""
        ...

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis: ...

    def close(self) -> None:
        """Release clients and budgets (a no-op where there are none)."""
        ...


@runtime_checkable
class VideoAnalyzer(Protocol):
    """An analyzer that can watch a public video itself (Gemini), for videos without a
    transcript. A declared capability: the pipeline asks ``isinstance(a, VideoAnalyzer)``."""

    def analyze_video(self, video_id: str, meta: VideoMeta | None) -> Analysis: ...


@runtime_checkable
class PartialStore(Protocol):
    """Where a paid partial result (one chunk's reply) is kept the moment it arrives, so a
    retry reuses it instead of buying it again (``shared.gemini.partials``)."""

    def get(self, key: str) -> bytes | None:
        """The bytes saved under ``key``, or None when there are none."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Save (or overwrite) ``data`` under ``key``."""
        ...


# ---- issue 13: analyses the user defines -------------------------------------------------


@runtime_checkable
class TemplateAnalyzer(Protocol):
    """Runs an analysis template (``shared.templates``) on a transcript: Gemini with the
    template's schema as structured output, or offline heuristics. What it returns matches
    the template's schema (checked), or it raises a ``TubeqError`` saying why not."""

    name: str

    @property
    def analysis_version(self) -> str:
        """The analyzer's own version: a template's key is built on it (``version_key``)."""
        ...

    def analyze_template(
        self, template: AnalysisTemplate, transcript: Transcript, meta: VideoMeta | None
    ) -> TemplateResult: ...

    def close(self) -> None: ...
