"""``video.embed``: embed a video's transcript passages and analysis for semantic search
(``shared.embeddings``), and the hook that sends that job after a video is analysed.

Idempotent by content: the vector index says, per text, the hash of the text its stored
vector was made from (``VectorIndex.plan``); only texts without a vector of this model and
size, or whose text changed, are sent, in calls of at most ``Embedder.max_batch`` texts. Each
call's vectors are saved as soon as they arrive (a paid result is kept at once), so a job
cut off halfway pays, when redelivered, only for the rest; a job run again pays nothing.

Every call goes to the spend ledger (``purpose = 'embed'``): held, the vectors saved, then
flushed, as the pipeline does with its replies (``consumer.spend.DeferredLedger``), so a
ledger that is down costs no vectors and loses no row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from consumer.handlers.base import Outcome
from shared.embeddings import (
    EmbeddedText,
    EmbeddingPlan,
    EmbeddingSource,
    EmbedTask,
    EmbedVideoJob,
)
from shared.errors import TubeqError
from shared.logging import get_logger
from shared.models import BilledCall, CallOutcome, VideoJob
from shared.ports import Embedder, JobSender, SpendLedger, VectorIndex
from shared.retry_policy import Action

log = get_logger("tubeq.embed")

#: the analysis step of the video handler (``TemplateRouter`` / ``Pipeline.process``)
Process = Callable[[VideoJob, int], Outcome]
SUMMARY = "summary"


@dataclass(frozen=True)
class EmbedHandler:
    vectors: VectorIndex
    embedder: Embedder
    ledger: SpendLedger
    #: called after each saved batch (``DeferredLedger.flush``): the held calls go out
    flush: Callable[[], None] = lambda: None

    @property
    def job_model(self) -> type[EmbedVideoJob]:
        return EmbedVideoJob

    def log_fields(self, job: EmbedVideoJob) -> dict[str, object]:
        return {"video_id": job.video_id}

    def record_failure(
        self, job: EmbedVideoJob, error: TubeqError, action: Action, attempt: int
    ) -> None:
        # the video's analysis is done and stays so; the DLQ keeps the job and its reason
        log.warning(
            "embed.failed",
            video_id=job.video_id,
            error_code=error.code,
            error=error.message,
            action=action.value,
            attempt=attempt,
        )

    def process(self, job: EmbedVideoJob, attempt: int) -> Outcome:
        model = self.embedder.model
        bound = log.bind(video_id=job.video_id, attempt=attempt, model=model.name)
        plan = self.vectors.plan(job.video_id, model)
        if plan is None:
            bound.info("embed.skipped", reason="no finished analysis")
            return Outcome.SKIPPED
        todo = plan.todo()
        if not todo:
            bound.info(
                "embed.skipped", reason="every text embedded already", texts=len(plan.sources)
            )
            return Outcome.SKIPPED
        cost = 0.0
        for start in range(0, len(todo), self.embedder.max_batch):
            batch = todo[start : start + self.embedder.max_batch]
            vectors, usage = self.embedder.embed([s.text for s in batch], EmbedTask.DOCUMENT)
            self.ledger.record_call(
                BilledCall(
                    # each real call its own row; a replay of the same row is one row
                    call_id=f"embed:{job.video_id}:{model.name}/{model.dimensions}"
                    f"#{uuid.uuid4().hex[:12]}",
                    video_id=job.video_id,
                    model=model.name,
                    purpose="embed",
                    usage=usage,
                    outcome=CallOutcome.OK,
                )
            )
            self._save(plan, batch, vectors)
            cost += usage.cost_usd
        bound.info(
            "embed.done",
            embedded=len(todo),
            texts=len(plan.sources),
            calls=-(-len(todo) // self.embedder.max_batch),
            cost_usd=round(cost, 8),
        )
        return Outcome.DONE

    def _save(
        self, plan: EmbeddingPlan, batch: list[EmbeddingSource], vectors: list[list[float]]
    ) -> None:
        rows = [EmbeddedText(s, v) for s, v in zip(batch, vectors, strict=True)]
        try:
            self.vectors.save(plan, self.embedder.model, rows)
        finally:
            self.flush()  # the call is paid whether its vectors were kept or not


@dataclass(frozen=True)
class EmbedAfterAnalysis:
    """The video handler's analysis step, then a ``video.embed`` job for the video (semantic
    search on): after a summary analysis is recorded (DONE), and after a redelivery finds it
    recorded already (SKIPPED), so a send that failed once is made by the retry."""

    analyse: Process
    queue: JobSender

    def __call__(self, job: VideoJob, attempt: int) -> Outcome:
        outcome = self.analyse(job, attempt)
        if job.template == SUMMARY:
            self.queue.send([EmbedVideoJob(video_id=job.video_id, source="analysis")])
        return outcome
