"""``video.analyze``: analyse one video (``consumer.pipeline``), record its failures as the
video's state in the result store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consumer.handlers.base import Outcome
from shared.errors import TubeqError
from shared.models import FailureRecord, VideoJob, VideoState
from shared.ports import ResultWriter
from shared.retry_policy import Action

#: the analysis step: ``Pipeline.process``, or a stand-in in tests and benchmarks
Process = Callable[[VideoJob, int], Outcome]

_STATES = {
    Action.ACK: VideoState.FAILED,
    Action.RETRY: VideoState.RETRYING,
    Action.DEAD: VideoState.DEAD,
}


@dataclass(frozen=True)
class VideoHandler:
    analyse: Process
    results: ResultWriter

    @property
    def job_model(self) -> type[VideoJob]:
        return VideoJob

    def process(self, job: VideoJob, attempt: int) -> Outcome:
        return self.analyse(job, attempt)

    def log_fields(self, job: VideoJob) -> dict[str, object]:
        return {"video_id": job.video_id}

    def record_failure(
        self, job: VideoJob, error: TubeqError, action: Action, attempt: int
    ) -> None:
        detail = getattr(error, "raw", None)  # an invalid model reply, kept for inspection
        self.results.record_failure(
            FailureRecord(
                video_id=job.video_id,
                state=_STATES[action],
                error_code=error.code,
                error=error.message[:2000],
                attempts=attempt,
                detail=detail if isinstance(detail, str) else None,
                meta=job.meta,
            )
        )
