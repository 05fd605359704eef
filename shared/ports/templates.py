"""Analyses the user defines (issue 13): their results in the result store. The analyzer that
runs a template is ``TemplateAnalyzer`` (``shared.ports.analysis``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shared.models import ArtifactRef
from shared.templates.results import TemplateResult


@runtime_checkable
class TemplateResultReader(Protocol):
    """A declared capability of a result store (every one has it): a video's template
    results, for the dashboard's video page and the static export, on the store's own
    connection (the same reader as ``get_video``)."""

    def template_results(self, video_id: str) -> list[TemplateResult]:
        """Every completed template result of a video, newest first."""
        ...


@runtime_checkable
class TemplateResults(TemplateResultReader, Protocol):
    """Template results in the result store (``template_results``), upserted by (video id,
    analysis version): a row is kept the moment the paid reply arrives, and completed
    (with its artifacts) once they are written. Claims and the spend ledger are the result
    store's own (``AnalysisClaims``, ``SpendLedger``), keyed by the template's version key."""

    name: str

    def find_template_result(self, video_id: str, analysis_version: str) -> TemplateResult | None:
        """The saved result of this version, completed or not (a paid reply to reuse)."""
        ...

    def save_template_result(self, result: TemplateResult) -> None: ...

    def complete_template_result(
        self, video_id: str, analysis_version: str, artifacts: Sequence[ArtifactRef]
    ) -> None:
        """Mark it done with its artifacts (also listed with the video's other artifacts
        when the video is known to the store)."""
        ...

    def close(self) -> None: ...
