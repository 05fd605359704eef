"""What happens to one video under an analysis template other than ``summary``: transcript →
the template's analysis → its artifacts → its row (``template_results``).

The summary pipeline's guarantees, on the template's own version key (which holds the
template's name and content hash, so it never collides with the summary or another
template):

- a result already completed under this key is skipped unless the job is forced;
- the right to pay is claimed first (the result store's ``claim_analysis``), so two copies
  of one message never both call the model;
- the reply is saved the moment it arrives (retried within the attempt on a transient
  failure) and reused on redelivery, so a crash after the paid call never buys it twice;
  if it cannot be saved, the claim is kept until it runs out, so a delivery elsewhere
  waits instead of paying again (there is no disk journal for template replies: the
  summary pipeline's is for ``Analysis`` rows);
- the billed calls go to the spend ledger (``DeferredLedger``) once the reply is in hand;
- the transcript is read from the transcript JSON artifact when one was written (by any
  pipeline), else fetched and written there;
- artifact keys are deterministic; the row is completed with them last.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from consumer.handlers.base import Outcome
from consumer.metadata import merge_meta
from consumer.pipeline import AnalysisInProgress
from consumer.spend import DeferredLedger
from shared.artifacts import JSON, parse_transcript_json, render_transcript_json, transcript_keys
from shared.errors import ArtifactNotFound, TransientError
from shared.logging import get_logger
from shared.models import ArtifactRef, Transcript, VideoJob
from shared.ports import (
    AnalysisClaims,
    ArtifactStore,
    TemplateAnalyzer,
    TemplateResults,
    TranscriptSource,
)
from shared.templates.loader import resolve
from shared.templates.model import SUMMARY, AnalysisTemplate
from shared.templates.render import iter_template_artifacts
from shared.templates.results import TemplateResult

log = get_logger("tubeq.templates")

Process = Callable[[VideoJob, int], Outcome]


@dataclass(frozen=True)
class TemplatePipeline:
    transcripts: TranscriptSource
    analyzer: TemplateAnalyzer
    claims: AnalysisClaims
    store: TemplateResults
    artifacts: ArtifactStore
    templates: Mapping[str, AnalysisTemplate]
    ledger: DeferredLedger | None = None
    claim_ttl_s: float = 600.0
    save_retry_delays_s: tuple[float, ...] = (0.5, 2.0)
    in_progress_retry_s: float = 5.0

    def process(self, job: VideoJob, attempt: int = 1) -> Outcome:
        template = resolve(dict(self.templates), job.template)
        version = template.version_key(self.analyzer.analysis_version)
        bound = log.bind(video_id=job.video_id, template=template.name, analysis_version=version)
        saved = self.store.find_template_result(job.video_id, version)
        if saved is not None and saved.completed_at is not None and not job.force:
            bound.info("template.skipped", reason="already analysed with this version")
            return Outcome.SKIPPED
        if saved is not None and (not job.force or saved.created_at >= job.requested_at):
            bound.info("template.reused", created_at=str(saved.created_at))
            result, transcript = saved, self._transcript(job)
        else:
            result, transcript = self._analyse(job, template, version, attempt)
        meta = merge_meta(job.video_id, job.meta, transcript.meta)
        refs = []
        for art in iter_template_artifacts(template, result, meta, transcript.duration_s):
            self.artifacts.put(art.key, art.data, art.content_type, title=art.title)
            refs.append(
                ArtifactRef(
                    kind=art.kind, key=art.key, content_type=art.content_type, size=art.size
                )
            )
        self.store.complete_template_result(job.video_id, version, refs)
        bound.info("template.done", artifacts=len(refs), cost_usd=result.usage.cost_usd)
        return Outcome.DONE

    def _analyse(
        self, job: VideoJob, template: AnalysisTemplate, version: str, attempt: int
    ) -> tuple[TemplateResult, Transcript]:
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        wait = self.claims.claim_analysis(job.video_id, version, owner, self.claim_ttl_s)
        if wait > 0:
            delay = min(wait + 1.0, self.in_progress_retry_s * (1 << max(0, attempt - 1)))
            raise AnalysisInProgress(
                f"another consumer is running template {template.name!r} on {job.video_id}; "
                "retrying when it is done",
                retry_after=delay,
            )
        stored = paid = False
        try:
            transcript = self._transcript(job)
            meta = merge_meta(job.video_id, job.meta, transcript.meta)
            try:
                result = self.analyzer.analyze_template(template, transcript, meta)
                paid = result.usage.model_calls > 0
            finally:
                if self.ledger is not None:
                    self.ledger.flush()  # the billed calls, also of a failed reply
            self._save(result)
            stored = True
        finally:
            if stored or not paid:
                try:
                    self.claims.claim_analysis(job.video_id, version, owner, 0.0)
                except Exception as exc:  # the claim simply runs out
                    log.warning("template.claim_release_failed", error=repr(exc))
            else:
                log.warning("template.save_failed_claim_kept", video_id=job.video_id)
        return result, transcript

    def _save(self, result: TemplateResult) -> None:
        for delay in (*self.save_retry_delays_s, None):
            try:
                self.store.save_template_result(result)
                return
            except TransientError:
                if delay is None:
                    raise
                time.sleep(delay)

    def _transcript(self, job: VideoJob) -> Transcript:
        """The transcript JSON artifact when there is one (no second trip to YouTube),
        else the source's, written there at once."""
        key = transcript_keys(job.video_id)["transcript_json"]
        try:
            return parse_transcript_json(self.artifacts.get(key))
        except ArtifactNotFound:
            pass
        except (ValueError, KeyError) as exc:
            log.warning("transcript.saved_unreadable", video_id=job.video_id, error=repr(exc))
        transcript = self.transcripts.fetch(job.video_id)
        meta = merge_meta(job.video_id, job.meta, transcript.meta)
        self.artifacts.put(key, render_transcript_json(transcript, meta), JSON, title=meta.title)
        return transcript


@dataclass(frozen=True)
class TemplateRouter:
    """The video handler's analysis step: the summary pipeline for ``summary`` jobs (as
    before templates), the template pipeline for the others."""

    summary: Process
    templates: TemplatePipeline

    def __call__(self, job: VideoJob, attempt: int) -> Outcome:
        if job.template == SUMMARY:
            return self.summary(job, attempt)
        return self.templates.process(job, attempt)
