"""What happens to one video: transcript → analysis → artifacts → rows.

Delivery is at-least-once, so every step is safe to repeat:

- a video already analysed with this analysis version is skipped (no transcript fetch, no
  model call) unless the job is forced;
- the model's reply is saved the moment it arrives and reused on redelivery, so a crash
  after a paid call never buys the same analysis twice (a forced job reuses an analysis
  made after the job was requested);
- artifact keys are deterministic, so a retry overwrites instead of adding;
- the final write is one transaction keyed by (video id, analysis version).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from shared.artifacts import render_artifacts
from shared.errors import NoTranscriptFound, TranscriptsDisabled
from shared.logging import get_logger
from shared.models import (
    Analysis,
    ArtifactRef,
    Transcript,
    VideoJob,
    VideoMeta,
    VideoResult,
)
from shared.ports import Analyzer, ArtifactStore, ResultStore, TranscriptSource

log = get_logger("tubeq.pipeline")


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # already analysed with this version


@runtime_checkable
class VideoAnalyzer(Protocol):
    """An analyzer that can watch a public video itself (Gemini), for transcript-less ones."""

    def analyze_video(self, video_id: str, meta: VideoMeta | None) -> Analysis: ...


@dataclass(frozen=True)
class Pipeline:
    transcripts: TranscriptSource
    analyzer: Analyzer
    results: ResultStore
    artifacts: ArtifactStore
    #: with no transcript, let the analyzer watch the video (only if it can)
    video_fallback: bool = False

    def process(self, job: VideoJob, attempt: int = 1) -> Outcome:
        video_id = job.video_id
        version = self.analyzer.analysis_version
        bound = log.bind(video_id=video_id, attempt=attempt, analysis_version=version)
        if not job.force and self.results.is_done(video_id, version):
            bound.info("video.skipped", reason="already analysed with this version")
            return Outcome.SKIPPED

        try:
            transcript = self.transcripts.fetch(video_id)
            bound.info(
                "transcript.fetched",
                language=transcript.language,
                generated=transcript.is_generated,
                segments=len(transcript.segments),
            )
        except (TranscriptsDisabled, NoTranscriptFound) as exc:
            if not (self.video_fallback and isinstance(self.analyzer, VideoAnalyzer)):
                raise
            bound.info("transcript.missing", reason=exc.code, fallback="video input")
            transcript = None

        meta = _merge_meta(video_id, job.meta, transcript.meta if transcript else None)
        analysis = self._analysis(job, transcript, meta, version)
        if transcript is None:
            # Keep the row shape: an empty transcript says "analysed from the video itself".
            transcript = Transcript(
                video_id=video_id,
                language=analysis.language,
                is_generated=False,
                segments=(),
                source="none (video input)",
            )

        refs = self._store_artifacts(transcript, analysis, meta)
        self.results.record_success(
            VideoResult(
                video=meta,
                transcript=transcript,
                analysis=analysis,
                artifacts=tuple(refs),
                attempts=attempt,
            )
        )
        bound.info("video.done", artifacts=len(refs), cost_usd=analysis.usage.cost_usd)
        return Outcome.DONE

    def _analysis(
        self,
        job: VideoJob,
        transcript: Transcript | None,
        meta: VideoMeta,
        version: str,
    ) -> Analysis:
        saved = self.results.find_analysis(job.video_id, version)
        if saved is not None and (not job.force or saved.created_at >= job.requested_at):
            log.info("analysis.reused", video_id=job.video_id, created_at=str(saved.created_at))
            return saved
        if transcript is None:
            assert isinstance(self.analyzer, VideoAnalyzer)  # checked by the caller
            analysis = self.analyzer.analyze_video(job.video_id, meta)
        else:
            analysis = self.analyzer.analyze(transcript, meta)
        # Saved before anything else can fail: this is the paid part.
        self.results.save_analysis(analysis)
        log.info(
            "analysis.saved",
            video_id=job.video_id,
            analyzer=analysis.analyzer,
            prompt_tokens=analysis.usage.prompt_tokens,
            output_tokens=analysis.usage.output_tokens,
        )
        return analysis

    def _store_artifacts(
        self, transcript: Transcript, analysis: Analysis, meta: VideoMeta
    ) -> list[ArtifactRef]:
        refs = []
        for art in render_artifacts(transcript, analysis, meta):
            if art.kind.startswith("transcript_") and not transcript.segments:
                continue
            self.artifacts.put(art.key, art.data, art.content_type)
            refs.append(
                ArtifactRef(
                    kind=art.kind, key=art.key, content_type=art.content_type, size=len(art.data)
                )
            )
        return refs


def _merge_meta(video_id: str, *metas: VideoMeta | None) -> VideoMeta:
    """The job's metadata (from the Data API) wins; the source fills the gaps."""
    merged: dict[str, object] = {"video_id": video_id}
    for meta in metas:
        if meta is None:
            continue
        for key, value in meta.model_dump().items():
            if value is not None and merged.get(key) is None:
                merged[key] = value
    return VideoMeta.model_validate(merged)
