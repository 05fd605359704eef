"""What happens to one video: transcript → analysis → artifacts → rows.

Delivery is at-least-once, so every step is safe to repeat:

- a video already analysed with this analysis version is skipped (no transcript fetch, no
  model call) unless the job is forced;
- the model's reply is saved the moment it arrives and reused on redelivery, so a crash
  after a paid call never buys the same analysis twice (a forced job reuses an analysis
  made after the job was requested). "Saved" is two steps: first the consumer's own
  journal on disk (``consumer.journal``: atomic, fsynced), then the result store (tried
  again within the attempt on a transient failure); the journal entry goes once the store
  has the reply. If the store cannot take it, the next delivery here reads the journal
  before it claims or pays, and the claim is kept (not released) so a delivery elsewhere
  waits for it to run out rather than paying at once;
- artifact keys are deterministic, so a retry overwrites instead of adding;
- the final write is one transaction keyed by (video id, analysis version).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from consumer.claims import ClaimKeeper
from consumer.handlers.base import Outcome
from consumer.journal import ReplyJournal
from consumer.metadata import merge_meta
from consumer.spend import DeferredLedger
from shared.artifacts import (
    JSON,
    TRANSCRIPT_KINDS,
    iter_artifacts,
    parse_transcript_json,
    render_transcript_json,
    transcript_keys,
)
from shared.errors import (
    ArtifactNotFound,
    NoTranscriptFound,
    StoreUnavailable,
    TranscriptsDisabled,
    TransientError,
)
from shared.logging import get_logger
from shared.models import (
    Analysis,
    ArtifactRef,
    Transcript,
    VideoJob,
    VideoMeta,
    VideoResult,
)
from shared.ports import Analyzer, ArtifactStore, ResultStore, TranscriptSource, VideoAnalyzer

log = get_logger("tubeq.pipeline")


class AnalysisInProgress(TransientError):
    """Another consumer holds the claim on this analysis; retry when it has finished."""

    code = "analysis_in_progress"
    records_failure = False
    waits_on_peer = True


__all__ = ["AnalysisInProgress", "Outcome", "Pipeline", "VideoAnalyzer"]


@dataclass(frozen=True)
class Pipeline:
    transcripts: TranscriptSource
    analyzer: Analyzer
    results: ResultStore
    artifacts: ArtifactStore
    #: with no transcript, let the analyzer watch the video (only if it can)
    video_fallback: bool = False
    #: how long a consumer may hold the right to pay for one analysis (a lease's length)
    claim_ttl_s: float = 600.0
    #: where a paid reply waits on this machine's disk until the result store has it
    #: (None: straight to the store, and a failed save loses the reply)
    journal: ReplyJournal | None = None
    #: pauses before trying ``save_analysis`` again within the attempt after a transient
    #: failure (a store blip, SQLite busy): the reply is paid for, worth a short wait
    save_retry_delays_s: tuple[float, ...] = (0.5, 2.0)
    #: the analyzer's billed calls, held until the reply is journaled, then sent to the
    #: spend ledger (``consumer.spend``); None when the analyzer records straight to a store
    ledger: DeferredLedger | None = None
    #: below this much free space where the journal lives, no model is paid: a reply that
    #: could be kept nowhere would be bought again on redelivery
    journal_min_free_bytes: int = 1 << 20
    #: a duplicate that finds the analysis claimed asks to be retried this soon (the holder
    #: usually finishes within seconds), doubling with each attempt …
    in_progress_retry_s: float = 5.0
    #: … for this many attempts; later ones wait out the claim (a long analysis), so early
    #: retries never use up the message's retries while a long analysis runs
    in_progress_short_retries: int = 2
    #: renews the claims of the analyses running here (one thread for all of them)
    _claims: ClaimKeeper = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_claims", ClaimKeeper(self.results, self.claim_ttl_s))

    def process(self, job: VideoJob, attempt: int = 1) -> Outcome:
        video_id = job.video_id
        version = self.analyzer.analysis_version
        bound = log.bind(video_id=video_id, attempt=attempt, analysis_version=version)
        if not job.force and self.results.is_done(video_id, version):
            self._forget(video_id, version)  # a journaled reply finished elsewhere
            bound.info("video.skipped", reason="already analysed with this version")
            return Outcome.SKIPPED

        # The journal first: a reply paid for here whose save failed; into the store with it
        # before anything else, so no consumer anywhere pays for it again.
        saved = self._journaled(job, version)
        if saved is not None:
            bound.info("analysis.journal_reused", created_at=str(saved.created_at))
            self._record_journaled_calls(video_id, version)
            self._save(saved)
        else:
            saved = self._reusable(job, version)
        if saved is None:
            # Claimed before the transcript is fetched: a duplicate running beside the
            # holder goes back to the queue at once, without fetching it again.
            analysis, transcript, json_ref = self._analyse(job, attempt, version, bound)
        else:
            bound.info("analysis.reused", created_at=str(saved.created_at))
            analysis = saved
            transcript, json_ref = self._transcript_for_reuse(job, bound)
        meta = merge_meta(video_id, job.meta, transcript.meta if transcript else None)
        if transcript is None:
            # Keep the row shape: an empty transcript says "analysed from the video itself".
            transcript = Transcript(
                video_id=video_id,
                language=analysis.language,
                is_generated=False,
                segments=(),
                source="none (video input)",
            )

        refs = self._store_artifacts(transcript, analysis, meta, json_ref)
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

    def _reusable(self, job: VideoJob, version: str) -> Analysis | None:
        """A saved (paid) analysis this job may use: any, or one newer than a forced job."""
        saved = self.results.find_analysis(job.video_id, version)
        if saved is not None and (not job.force or saved.created_at >= job.requested_at):
            return saved
        return None

    def _journaled(self, job: VideoJob, version: str) -> Analysis | None:
        """A reply kept in this machine's journal that this job may use (as ``_reusable``)."""
        if self.journal is None:
            return None
        kept = self.journal.find(job.video_id, version)
        if kept is not None and (not job.force or kept.created_at >= job.requested_at):
            return kept
        return None

    def _record_journaled_calls(self, video_id: str, version: str) -> None:
        """The calls kept with a journaled reply, into the ledger: a kill may have come
        between the journal write and the flush (recording one twice is one row)."""
        if self.journal is None or self.ledger is None:
            return
        for call in self.journal.calls(video_id, version):
            self.ledger.record_call(call)
        self.ledger.flush()

    def _check_journal_room(self) -> None:
        """A full disk under the journal means a paid reply could be kept nowhere (the store
        is usually on it too): hand the message back instead of paying."""
        if self.journal is None:
            return
        free = self.journal.free_bytes()
        if free is not None and free < self.journal_min_free_bytes:
            raise StoreUnavailable(
                f"the reply journal's disk is full ({free:,} bytes free at "
                f"{self.journal.location}): free some space or move TUBEQ_JOURNAL_DIR; "
                "no model call is paid until then"
            )

    def _journal(self, analysis: Analysis) -> bool:
        """Keep the reply on disk before the store is asked; True when it is kept. A journal
        that fails (a full disk) is no reason to drop the reply: the store may still take it."""
        if self.journal is None or analysis.usage.model_calls == 0:
            return False  # nothing was paid for (the offline analyzer): no fsyncs for it
        calls = self.ledger.held() if self.ledger is not None else []
        try:
            self.journal.keep(analysis, calls)
        except OSError as exc:
            # Not on disk (full), but held by this process, which keeps the claim: a
            # redelivery here reuses it, a sibling waits for it instead of paying again.
            remembered = self.journal.find(analysis.video_id, analysis.analysis_version)
            log.warning(
                "analysis.journal_failed",
                video_id=analysis.video_id,
                held_in_memory=remembered is not None,
                error=repr(exc),
            )
            return remembered is not None
        return True

    def _save(self, analysis: Analysis) -> None:
        """``save_analysis``, tried again after a transient failure; then the journal entry
        goes (the store has the reply). The last failure is raised, the entry stays."""
        delays = self.save_retry_delays_s
        for tries, delay in enumerate((*delays, None), start=1):
            try:
                self.results.save_analysis(analysis)
                break
            except TransientError as exc:
                if delay is None:
                    raise
                log.warning(
                    "analysis.save_retry",
                    video_id=analysis.video_id,
                    tries=tries,
                    delay_s=delay,
                    error=repr(exc),
                )
                time.sleep(delay)
        self._forget(analysis.video_id, analysis.analysis_version)

    def _forget(self, video_id: str, version: str) -> None:
        if self.journal is None:
            return
        try:
            self.journal.forget(video_id, version)
        except OSError as exc:  # harmless: the entry is reused or dropped later
            log.warning("analysis.journal_forget_failed", video_id=video_id, error=repr(exc))

    def _transcript_for_reuse(
        self, job: VideoJob, bound: Any
    ) -> tuple[Transcript | None, ArtifactRef | None]:
        """A retry after the paid call reads the transcript it was made from, instead of
        going back to YouTube (which may block us now, or the video may have gone)."""
        transcript = self._saved_transcript(job.video_id)
        if transcript is not None:
            return transcript, None
        return self._fetch(job, bound)

    def _fetch(self, job: VideoJob, bound: Any) -> tuple[Transcript | None, ArtifactRef | None]:
        """The transcript from the source (None: analyse the video itself, if allowed), and
        the transcript JSON artifact, written at once (see below)."""
        try:
            transcript = self.transcripts.fetch(job.video_id)
        except (TranscriptsDisabled, NoTranscriptFound) as exc:
            if not (self.video_fallback and isinstance(self.analyzer, VideoAnalyzer)):
                raise
            bound.info("transcript.missing", reason=exc.code, fallback="video input")
            return None, None
        bound.info(
            "transcript.fetched",
            language=transcript.language,
            generated=transcript.is_generated,
            segments=len(transcript.segments),
        )
        # Kept before the paid call, so a retry after it need not fetch again; rendered with
        # the metadata the artifacts get, so it is written once, not again with them.
        meta = merge_meta(job.video_id, job.meta, transcript.meta)
        key = transcript_keys(job.video_id)["transcript_json"]
        data = render_transcript_json(transcript, meta)
        self.artifacts.put(key, data, JSON, title=meta.title)
        return transcript, ArtifactRef(
            kind="transcript_json", key=key, content_type=JSON, size=len(data)
        )

    def _saved_transcript(self, video_id: str) -> Transcript | None:
        key = transcript_keys(video_id)["transcript_json"]
        try:
            return parse_transcript_json(self.artifacts.get(key))
        except ArtifactNotFound:
            return None
        except (ValueError, KeyError) as exc:  # unreadable: fetch it again
            log.warning("transcript.saved_unreadable", video_id=video_id, error=repr(exc))
            return None

    def _analyse(
        self, job: VideoJob, attempt: int, version: str, bound: Any
    ) -> tuple[Analysis, Transcript | None, ArtifactRef | None]:
        """The paid step: claimed first (before the transcript is fetched), so no two
        consumers pay for the same analysis and a duplicate does no work at all."""
        self._check_journal_room()
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        wait = self.results.claim_analysis(job.video_id, version, owner, self.claim_ttl_s)
        if wait > 0:
            # Someone else is paying for it right now; they may even have finished.
            saved = self._reusable(job, version)
            if saved is not None:
                bound.info("analysis.reused", created_at=str(saved.created_at))
                return (saved, *self._transcript_for_reuse(job, bound))
            delay = self._in_progress_delay(wait, attempt)
            bound.info("analysis.in_progress", claim_left_s=round(wait, 1), retry_after_s=delay)
            raise AnalysisInProgress(
                f"another consumer is analysing {job.video_id}; retrying when it is done",
                retry_after=delay,
            )
        self._claims.hold(job.video_id, version, owner)
        journaled = stored = False
        try:
            transcript, json_ref = self._fetch(job, bound)
            meta = merge_meta(job.video_id, job.meta, transcript.meta if transcript else None)
            try:
                if transcript is None:
                    assert isinstance(self.analyzer, VideoAnalyzer)  # checked by _fetch
                    analysis = self.analyzer.analyze_video(job.video_id, meta)
                else:
                    analysis = self.analyzer.analyze(transcript, meta)
                # Kept before anything else can fail: this is the paid part.
                journaled = self._journal(analysis)
            finally:
                # the billed calls, also of a failed analysis, once the reply is safe
                if self.ledger is not None:
                    self.ledger.flush()
            self._save(analysis)
            stored = True
        finally:
            self._claims.release(job.video_id, version, owner)
            if stored or not journaled:
                self._release(job.video_id, version, owner)
            else:
                # The reply waits in this machine's journal: let the claim run out on its
                # own, so a delivery elsewhere waits for it instead of paying again.
                log.warning("analysis.save_failed_journaled", video_id=job.video_id)
        log.info(
            "analysis.saved",
            video_id=job.video_id,
            analyzer=analysis.analyzer,
            prompt_tokens=analysis.usage.prompt_tokens,
            output_tokens=analysis.usage.output_tokens,
        )
        return analysis, transcript, json_ref

    def _in_progress_delay(self, claim_left_s: float, attempt: int) -> float:
        """How soon a duplicate should come back: the holder usually finishes in about a
        second, so soon, doubling; after ``in_progress_short_retries`` attempts, when the
        claim runs out (a long analysis), and never later than that."""
        full = claim_left_s + 1.0
        if attempt > self.in_progress_short_retries:
            return full
        return min(full, self.in_progress_retry_s * (1 << max(0, attempt - 1)))

    def _release(self, video_id: str, version: str, owner: str) -> None:
        """Let the claim expire now (a claim of 0 s), so a retry or a forced job need not
        wait it out; if this fails, the claim simply runs out on its own."""
        try:
            self.results.claim_analysis(video_id, version, owner, 0.0)
        except Exception as exc:
            log.warning("analysis.claim_release_failed", video_id=video_id, error=repr(exc))

    def _store_artifacts(
        self,
        transcript: Transcript,
        analysis: Analysis,
        meta: VideoMeta,
        json_ref: ArtifactRef | None,
    ) -> list[ArtifactRef]:
        """Render and write one artifact at a time (a 12-hour transcript's renderings are
        megabytes each); the transcript JSON written at fetch time is not written again."""
        refs = []
        skip = set(TRANSCRIPT_KINDS) if not transcript.segments else set()
        if json_ref is not None and transcript.segments:
            refs.append(json_ref)
            skip.add(json_ref.kind)
        for art in iter_artifacts(transcript, analysis, meta, skip=skip):
            self.artifacts.put(art.key, art.data, art.content_type, title=art.title)
            refs.append(
                ArtifactRef(
                    kind=art.kind, key=art.key, content_type=art.content_type, size=len(art.data)
                )
            )
            del art  # let this rendering go before the next one is made
        return refs
