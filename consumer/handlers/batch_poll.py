"""``batch.submit`` and ``batch.poll``: a Gemini batch from creation to its last reply
(issue 12).

Submit: the batch is sealed (no more videos), created at Gemini under a display name derived
from its id, and its Gemini name stored with state ``submitted``. A crash between create and
store leaves it ``sealed``: the redelivered submit job asks Gemini for a batch of that
display name first and adopts it, so no batch is created twice. Two submit jobs of one batch
(the one sent when it filled up and the one sent when it grew old) may run at once: the
lookup and the create are not atomic at Gemini, so the create is held under a claim (the
analysis claims of ``sql/006``, keyed ``batch:<id>``) and the batch re-read once it is held.

Poll: asks Gemini how the batch is doing and, while it runs, sends itself again with a
doubling delay (no consumer waits). Each submit starts a new poll chain (``poll_chain``) and a
poll of another chain stops, so duplicates die out. When the batch has succeeded every reply
is matched to its video by key and, per video:

1. its billed call goes to the spend ledger (at batch prices, under a call id made of the
   video, version and batch: recording it again is one row);
2. a valid reply is saved as the paid analysis (``save_analysis``), then a ``video.analyze``
   job is sent: the pipeline finds the saved reply, pays nothing, and writes the artifacts
   and rows as for an online analysis;
3. a failed request (a per-request error, an invalid or refused reply) is sent online
   (``TUBEQ_GEMINI_BATCH_FAILED_ONLINE``) or recorded as the video's failure, with its reason.

The batch's replies stay at Gemini, so a crash halfway through simply collects again: videos
already settled are skipped, the rest are matched anew, and nothing is bought twice (no
reply journal is needed: the paid reply is never only in this process's memory).

A batch that expired or failed sends its videos back to be collected into the next batch
(online after ``TUBEQ_GEMINI_BATCH_MAX_TRIES`` batches); a cancelled batch's videos
(``tubeq batch cancel``) are failed with that reason, or collected again, by
``TUBEQ_GEMINI_BATCH_CANCELLED``. A batch cancelled before it was submitted has no Gemini
name: the poll that ``tubeq batch cancel`` sends settles its videos all the same.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from consumer.handlers.base import Outcome
from consumer.handlers.batch_config import BatchConfig
from consumer.handlers.video import VideoHandler
from consumer.heartbeat import Heartbeat
from shared.errors import PermanentError, TransientError, TubeqError
from shared.gemini.batch_jobs import BatchCollectJob, BatchPollJob, BatchSubmitJob
from shared.gemini.batch_models import (
    BatchItem,
    BatchRecord,
    BatchReply,
    BatchState,
    ItemState,
    RemoteState,
    display_name,
)
from shared.gemini.spend import call_id
from shared.logging import get_logger
from shared.models import BilledCall, CallOutcome
from shared.ports import (
    AnalysisClaims,
    BatchAnalyzer,
    BatchStore,
    Queue,
    ResultStore,
    SpendLedger,
)
from shared.retry_policy import Action

log = get_logger("tubeq.batch")


class BatchRequestFailed(PermanentError):
    """Gemini answered this video's request in the batch with an error, or not at all."""

    code = "batch_request_failed"


class BatchCancelled(PermanentError):
    """The video's batch was cancelled (``tubeq batch cancel``) before it finished."""

    code = "batch_cancelled"


class BatchSubmitInProgress(TransientError):
    """Another consumer is creating this batch at Gemini; retry when it has finished."""

    code = "batch_submit_in_progress"
    records_failure = False
    waits_on_peer = True


#: a submit's claim lasts this long and is renewed every third of it while the submit runs
#: (an upload of a large JSONL file may take minutes); a consumer killed while holding it
#: delays the batch by at most this much, and never makes it be submitted twice
SUBMIT_CLAIM_TTL_S = 30.0


def claim_key(batch_id: str) -> str:
    """The claim's "video id": no video id has a colon, so it never meets a real claim."""
    return f"batch:{batch_id}"


@dataclass(frozen=True)
class BatchSubmitHandler:
    batches: BatchStore
    analyzer: BatchAnalyzer
    queue: Queue
    config: BatchConfig
    claims: AnalysisClaims

    @property
    def job_model(self) -> type[BatchSubmitJob]:
        return BatchSubmitJob

    def log_fields(self, job: BatchSubmitJob) -> dict[str, object]:
        return {"batch_id": job.batch_id}

    def record_failure(
        self, job: BatchSubmitJob, error: TubeqError, action: Action, attempt: int
    ) -> None:
        # the batch stays sealed in the store; `tubeq batch show` and the DLQ say why
        log.warning("batch.submit_failed", batch_id=job.batch_id, error=error.message)

    def process(self, job: BatchSubmitJob, attempt: int) -> Outcome:
        batch = self.batches.batch_seal(job.batch_id)
        if batch is None or batch.state not in (BatchState.SEALED, BatchState.SUBMITTED):
            return Outcome.SKIPPED  # unknown, or ended already: a late duplicate
        remote_name: str | None = None  # stored already: only its poll chain may be missing
        chain = uuid.uuid4().hex[:16]
        if batch.state == BatchState.SEALED:
            key = claim_key(batch.batch_id)
            owner = f"{socket.gethostname()}:{os.getpid()}:{chain}"
            wait = self.claims.claim_analysis(
                key, batch.analysis_version, owner, SUBMIT_CLAIM_TTL_S
            )
            if wait > 0:
                # early retries come soon (the holder is usually done in seconds), later
                # ones wait out the claim of a holder that died
                delay = wait + 1.0 if attempt > 2 else min(wait + 1.0, self.config.poll_s)
                raise BatchSubmitInProgress(
                    f"batch {batch.batch_id} is being submitted elsewhere", retry_after=delay
                )
            renewer = self._renewer(key, batch.analysis_version, owner)
            try:
                # the holder before us may have finished: its name is stored then
                batch = self.batches.batch_get(batch.batch_id) or batch
                if batch.state not in (BatchState.SEALED, BatchState.SUBMITTED):
                    return Outcome.SKIPPED  # cancelled meanwhile (`tubeq batch cancel`)
                if batch.state == BatchState.SEALED:
                    items = [i for i in self.batches.batch_items(batch.batch_id) if i.pending]
                    remote_name = self.analyzer.submit(display_name(batch.batch_id), items).name
                # a new chain each time: a poll of an older chain (a duplicate) stops
                self.batches.batch_update(
                    batch.batch_id, BatchState.SUBMITTED, remote_name=remote_name, poll_chain=chain
                )
            finally:
                renewer.stop()
                self._release(key, batch.analysis_version, owner)
        elif batch.state == BatchState.SUBMITTED:
            self.batches.batch_update(batch.batch_id, BatchState.SUBMITTED, poll_chain=chain)
        self.queue.send(
            [BatchPollJob(batch_id=batch.batch_id, chain=chain)], delay_s=self.config.poll_s
        )
        log.info("batch.submitted", batch_id=batch.batch_id, remote=remote_name, items=batch.items)
        return Outcome.DONE

    def _renewer(self, key: str, version: str, owner: str) -> Heartbeat:
        """Keeps the submit's claim while a slow upload or create runs. If it lapses all
        the same, the next holder finds the batch by its display name and adopts it."""

        def renew() -> bool:
            try:
                return self.claims.claim_analysis(key, version, owner, SUBMIT_CLAIM_TTL_S) == 0
            except TubeqError as exc:
                log.warning("batch.claim_renew_failed", claim=key, error=exc.message)
                return True

        return Heartbeat(renew, SUBMIT_CLAIM_TTL_S / 3, "batch-claim-renewer").start()

    def _release(self, key: str, version: str, owner: str) -> None:
        """Let the claim expire now (a claim of 0 s); if this fails it runs out on its own."""
        try:
            self.claims.claim_analysis(key, version, owner, 0.0)
        except TubeqError as exc:
            log.warning("batch.claim_release_failed", claim=key, error=exc.message)


@dataclass(frozen=True)
class BatchPollHandler:
    batches: BatchStore
    analyzer: BatchAnalyzer
    results: ResultStore
    ledger: SpendLedger
    queue: Queue
    config: BatchConfig

    @property
    def job_model(self) -> type[BatchPollJob]:
        return BatchPollJob

    def log_fields(self, job: BatchPollJob) -> dict[str, object]:
        return {"batch_id": job.batch_id, "polls": job.polls}

    def record_failure(
        self, job: BatchPollJob, error: TubeqError, action: Action, attempt: int
    ) -> None:
        log.warning("batch.poll_failed", batch_id=job.batch_id, error=error.message)

    def process(self, job: BatchPollJob, attempt: int) -> Outcome:
        batch = self.batches.batch_get(job.batch_id)
        if batch is None or batch.poll_chain != job.chain:
            return Outcome.SKIPPED  # another chain polls this batch now
        if batch.state == BatchState.SUBMITTED and batch.remote_name is not None:
            remote = self.analyzer.get(batch.remote_name)
            if not remote.state.ended:
                delay = self.config.poll_delay(job.polls)
                self.queue.send([job.model_copy(update={"polls": job.polls + 1})], delay_s=delay)
                log.info("batch.polled", batch_id=batch.batch_id, state=remote.state, next_s=delay)
                return Outcome.DONE
            if remote.state == RemoteState.SUCCEEDED:
                self._collect(batch)
                self.batches.batch_update(batch.batch_id, BatchState.SUCCEEDED)
                return Outcome.DONE
            # ended without replies: the state first, so a crash below resumes from it
            self.batches.batch_update(
                batch.batch_id, remote.state.store_state, error=f"Gemini: {remote.state.value}"
            )
            batch = self.batches.batch_get(batch.batch_id) or batch
        if batch.state in (BatchState.EXPIRED, BatchState.FAILED, BatchState.CANCELLED):
            self._requeue(batch)
        return Outcome.DONE

    def _collect(self, batch: BatchRecord) -> None:
        assert batch.remote_name is not None
        replies = {r.key: r for r in self.analyzer.results(batch.remote_name)}
        saved = failed = 0
        for item in self.batches.batch_items(batch.batch_id):
            if not item.pending:
                continue  # settled by an earlier delivery of this poll
            job = BatchCollectJob.model_validate_json(item.job)
            reply = replies.get(item.video_id)
            if reply is not None and reply.outcome is not None:
                self._record_call(batch, item, reply)
            if reply is not None and reply.analysis is not None:
                analysis = reply.analysis
                if item.language:  # the transcript's language is known (as online)
                    analysis = analysis.model_copy(update={"language": item.language})
                # the paid result, kept before anything else can fail
                self.results.save_analysis(analysis)
                # the pipeline reuses it and writes artifacts and rows as for any video
                self.queue.send([job.video_job()])
                self.batches.batch_item_settle(batch.batch_id, item.video_id, ItemState.SAVED)
                saved += 1
                continue
            reason = _reason(reply)
            self._fail(job, batch, item, BatchRequestFailed(reason), online=True)
            failed += 1
        log.info("batch.collected_results", batch_id=batch.batch_id, saved=saved, failed=failed)

    def _record_call(self, batch: BatchRecord, item: BatchItem, reply: BatchReply) -> None:
        """The request's bill, once: its call id names the batch, so a collection repeated
        after a crash records the same row again."""
        assert reply.outcome is not None
        self.ledger.record_call(
            BilledCall(
                call_id=call_id(
                    item.video_id, item.analysis_version, f"batch-{batch.batch_id}", "1"
                ),
                video_id=item.video_id,
                analysis_version=item.analysis_version,
                model=_model(batch),
                purpose="batch",
                usage=reply.usage,
                outcome=CallOutcome(reply.outcome),
            )
        )

    def _requeue(self, batch: BatchRecord) -> None:
        """Videos of a batch that ended without replies: collected into the next batch, or
        online after ``max_tries`` batches; a cancelled batch's videos fail with that reason.
        Sent before settled: a crash between the two sends again (the collect dedupes)."""
        for item in self.batches.batch_items(batch.batch_id):
            if not item.pending:
                continue
            job = BatchCollectJob.model_validate_json(item.job)
            if batch.state == BatchState.CANCELLED and not self.config.cancelled_requeue:
                error = BatchCancelled(f"batch {batch.batch_id} was cancelled")
                self._fail(job, batch, item, error, online=False)
                continue
            if item.tries >= self.config.max_tries:
                self.queue.send([job.video_job()])
            else:
                self.queue.send([job])
            self.batches.batch_item_settle(
                batch.batch_id, item.video_id, ItemState.REQUEUED, f"batch {batch.state.value}"
            )
        log.info("batch.requeued", batch_id=batch.batch_id, state=batch.state.value)

    def _fail(
        self,
        job: BatchCollectJob,
        batch: BatchRecord,
        item: BatchItem,
        error: PermanentError,
        *,
        online: bool,
    ) -> None:
        if online and self.config.failed_online:
            self.queue.send([job.video_job()])  # paid online, at the online price
        else:
            VideoHandler(lambda _j, _a: Outcome.DONE, self.results).record_failure(
                job.video_job(), error, Action.ACK, item.tries
            )
        self.batches.batch_item_settle(
            batch.batch_id, item.video_id, ItemState.FAILED, error.message
        )


def _reason(reply: BatchReply | None) -> str:
    if reply is None:
        return "the batch returned no reply for this video"
    code = f"{reply.error_code}: " if reply.error_code else ""
    return f"{code}{reply.error or 'no usable reply'}"[:2000]


def _model(batch: BatchRecord) -> str:
    # "gemini:<model>:<prompt version>"
    parts = batch.analysis_version.split(":")
    return parts[1] if len(parts) >= 3 else batch.analysis_version
