"""``batch.collect``: a video's request into the open Gemini batch (issue 12).

The transcript is fetched as the online path fetches it (and kept as the transcript JSON
artifact, so the video job that writes the rows later reads it instead of fetching again);
the request is the online analyzer's own prompt. The result store puts the video in the one
open batch of its analysis version; a video is in at most one live batch, so a redelivered
collect job adds nothing.

A batch is closed by size (the job whose video fills it sends the submit job now) or by age
(the job whose video opened it sends a submit job delayed by the batch's maximum age). Both
are decided from the batch row, not from whether this delivery added the video, so a job
redelivered after a crash sends them again (a submit job is idempotent) and no batch is
left unsubmitted.

Not batched, sent as an online ``video.analyze`` job instead: a video with a saved reply
(the video job only writes its rows), and one long enough for the chunked map-reduce path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from consumer.handlers.base import Handler, Outcome
from consumer.handlers.batch_config import BatchConfig
from consumer.handlers.batch_poll import BatchPollHandler, BatchSubmitHandler
from consumer.handlers.video import VideoHandler
from consumer.metadata import merge_meta
from shared.artifacts import JSON, parse_transcript_json, render_transcript_json, transcript_keys
from shared.errors import ArtifactNotFound, TubeqError
from shared.gemini.batch_jobs import BatchCollectJob, BatchSubmitJob
from shared.gemini.batch_models import BatchItem, BatchState, ItemState
from shared.logging import get_logger
from shared.models import Transcript, VideoMeta
from shared.ports import (
    ArtifactStore,
    BatchAnalyzer,
    BatchStore,
    Queue,
    ResultBackend,
    ResultStore,
    TranscriptSource,
)
from shared.retry_policy import Action

log = get_logger("tubeq.batch")


@dataclass(frozen=True)
class BatchCollectHandler:
    transcripts: TranscriptSource
    artifacts: ArtifactStore
    results: ResultStore
    batches: BatchStore
    analyzer: BatchAnalyzer
    queue: Queue
    config: BatchConfig

    @property
    def job_model(self) -> type[BatchCollectJob]:
        return BatchCollectJob

    def log_fields(self, job: BatchCollectJob) -> dict[str, object]:
        return {"video_id": job.video_id}

    def record_failure(
        self, job: BatchCollectJob, error: TubeqError, action: Action, attempt: int
    ) -> None:
        # a collect failure is the video's, recorded where the online path records it
        VideoHandler(lambda _j, _a: Outcome.DONE, self.results).record_failure(
            job.video_job(), error, action, attempt
        )

    def process(self, job: BatchCollectJob, attempt: int) -> Outcome:
        vid = job.video_id
        version = self.analyzer.analysis_version
        bound = log.bind(video_id=vid, attempt=attempt, analysis_version=version)
        if not job.force and self.results.is_done(vid, version):
            bound.info("batch.collect_skipped", reason="already analysed with this version")
            return Outcome.SKIPPED
        saved = self.results.find_analysis(vid, version)
        if saved is not None and (not job.force or saved.created_at >= job.requested_at):
            # paid for already (a batch reply or an online one): only the rows are missing
            self.queue.send([job.video_job()])
            bound.info("batch.collect_saved_reply", sent="video.analyze")
            return Outcome.DONE
        transcript, meta = self._transcript(job)
        text = self.analyzer.request_text(transcript, meta)
        if text is None:
            self.queue.send([job.video_job()])
            bound.info("batch.collect_online", reason="long transcript: chunked, online")
            return Outcome.DONE
        item = BatchItem(
            batch_id="",
            video_id=vid,
            analysis_version=version,
            state=ItemState.PENDING,
            prompt=text,
            job=job.model_dump_json(),
            language=transcript.language,
        )
        batch, added = self.batches.batch_add(item, uuid.uuid4().hex[:16], self.config.max_requests)
        if batch.sealed_by == vid and batch.state == BatchState.SEALED:
            self.queue.send([BatchSubmitJob(batch_id=batch.batch_id)])
        elif batch.opened_by == vid and batch.state == BatchState.OPEN:
            self.queue.send(
                [BatchSubmitJob(batch_id=batch.batch_id)], delay_s=self.config.max_age_s
            )
        bound.info("batch.collected", batch_id=batch.batch_id, items=batch.items, added=added)
        return Outcome.DONE

    def _transcript(self, job: BatchCollectJob) -> tuple[Transcript, VideoMeta]:
        """The transcript kept by an earlier attempt, or fetched now and kept at once (the
        online path's transcript JSON artifact, which the video job later reads)."""
        key = transcript_keys(job.video_id)["transcript_json"]
        try:
            transcript = parse_transcript_json(self.artifacts.get(key))
            return transcript, merge_meta(job.video_id, job.meta, transcript.meta)
        except ArtifactNotFound:
            pass
        except (ValueError, KeyError) as exc:  # unreadable: fetch it again
            log.warning("transcript.saved_unreadable", video_id=job.video_id, error=repr(exc))
        transcript = self.transcripts.fetch(job.video_id)
        meta = merge_meta(job.video_id, job.meta, transcript.meta)
        self.artifacts.put(key, render_transcript_json(transcript, meta), JSON, title=meta.title)
        return transcript, meta


def batch_handlers(
    *,
    transcripts: TranscriptSource,
    artifacts: ArtifactStore,
    results: ResultBackend,
    batches: BatchStore,
    analyzer: BatchAnalyzer,
    queue: Queue,
    config: BatchConfig,
) -> list[Handler[Any]]:
    """The three batch kinds, for a consumer's ``HandlerRegistry``."""
    return [
        BatchCollectHandler(transcripts, artifacts, results, batches, analyzer, queue, config),
        BatchSubmitHandler(batches, analyzer, queue, config, results),
        BatchPollHandler(batches, analyzer, results, results, queue, config),
    ]
