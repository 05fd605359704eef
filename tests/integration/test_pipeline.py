"""The pipeline and the runner on the real embedded adapters (SQLite queue and results,
local artifacts, the bundled samples, the extractive analyzer).

Only a few things are test doubles: a counting wrapper around the real analyzer (to prove
"no paid call twice"), a transcript source wrapper that fails on cue, and a store whose
``save_analysis`` fails on cue; the Gemini tests run the real analyzer against the stub.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import types
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from consumer.journal import FileReplyJournal
from consumer.pipeline import Outcome, Pipeline
from consumer.runner import Runner, RunnerConfig
from consumer.spend import DeferredLedger
from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import StoreUnavailable, TransientError, UpstreamUnavailable
from shared.factory import build_analyzer
from shared.models import (
    Analysis,
    Delivery,
    Transcript,
    Usage,
    VideoJob,
    VideoMeta,
    VideoState,
)
from shared.ports import Analyzer
from shared.retry_policy import RetryPolicy
from shared.settings import BUNDLED_SAMPLES, Settings
from tests.support import gemini_stub as gs

OK_ID = "tq-sample01"
DISABLED_ID = next(
    p.stem
    for p in sorted(BUNDLED_SAMPLES.glob("*.json"))
    if "transcripts_disabled" in p.read_text()
)
OUTAGE_ID = next(
    p.stem
    for p in sorted(BUNDLED_SAMPLES.glob("*.json"))
    if "upstream_unavailable" in p.read_text()
)


class CountingAnalyzer:
    """The real extractive analyzer, counting calls per video (a paid call, in production)."""

    name = "extractive"

    def __init__(self) -> None:
        self.inner = ExtractiveAnalyzer()
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def analysis_version(self) -> str:
        return self.inner.analysis_version

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis:
        with self._lock:
            self.calls[transcript.video_id] += 1
        made = self.inner.analyze(transcript, meta)
        # billed like a model call, so the pipeline treats it as paid (journal, claims)
        return made.model_copy(update={"usage": Usage(model_calls=1, prompt_tokens=100)})


class FlakySource:
    """The real directory source, failing the first ``failures[id]`` fetches of a video."""

    name = "directory"

    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.inner = DirectoryTranscriptSource(BUNDLED_SAMPLES)
        self.failures = dict(failures or {})
        self.fetches: Counter[str] = Counter()

    def fetch(self, video_id: str) -> Transcript:
        self.fetches[video_id] += 1
        if self.failures.get(video_id, 0) > 0:
            self.failures[video_id] -= 1
            raise UpstreamUnavailable("simulated 503 from the transcript service")
        return self.inner.fetch(video_id)


class ExplodingArtifacts(LocalArtifactStore):
    """Local artifacts whose report uploads fail N times: a failure after the paid call."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def put(self, key: str, data: bytes, content_type: str, *, title: str | None = None) -> None:
        if self.failures > 0 and key.startswith("reports/"):
            self.failures -= 1
            raise TransientError("simulated storage outage")
        super().put(key, data, content_type)


@pytest.fixture
def results(tmp_path: Path) -> SqliteResultStore:
    return SqliteResultStore(tmp_path / "results.sqlite3")


@pytest.fixture
def analyzer() -> CountingAnalyzer:
    return CountingAnalyzer()


def make_pipeline(
    tmp_path: Path,
    results: SqliteResultStore,
    analyzer: CountingAnalyzer,
    source: FlakySource | None = None,
    artifacts: LocalArtifactStore | None = None,
) -> Pipeline:
    return Pipeline(
        transcripts=source or FlakySource(),
        analyzer=analyzer,
        results=results,
        artifacts=artifacts or LocalArtifactStore(tmp_path / "artifacts"),
    )


@contextmanager
def first_copy_analysing(pipeline: Pipeline, analyzer: CountingAnalyzer) -> Iterator[None]:
    """One copy of ``OK_ID`` held inside its (paid) analysis on another thread while the
    body runs; on the way out the analysis finishes and that copy completes."""
    inside, release = threading.Event(), threading.Event()
    real_analyze = analyzer.analyze

    def slow_analyze(transcript: Transcript, meta: VideoMeta | None) -> Analysis:
        inside.set()
        release.wait(5)
        return real_analyze(transcript, meta)

    analyzer.analyze = slow_analyze  # type: ignore[method-assign]
    first = threading.Thread(target=pipeline.process, args=(VideoJob(video_id=OK_ID), 1))
    first.start()
    try:
        assert inside.wait(5)
        yield
    finally:
        release.set()
        first.join(5)


def make_runner(queue: SqliteQueue, pipeline: Pipeline, max_retries: int = 3) -> Runner:
    return Runner(
        queue=queue,
        process=pipeline.process,
        results=pipeline.results,
        policy=RetryPolicy(max_retries=max_retries, base_s=1, cap_s=1, jitter=0),
        config=RunnerConfig(
            batch_size=5, concurrency=3, visibility_timeout_s=30, poll_interval_s=0.05
        ),
    )


# ---- the pipeline alone ----------------------------------------------------------------


def test_success_writes_rows_and_artifacts(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    pipeline = make_pipeline(tmp_path, results, analyzer)
    assert pipeline.process(VideoJob(video_id=OK_ID)) is Outcome.DONE

    video = results.get_video(OK_ID)
    assert video is not None and video.state is VideoState.DONE
    assert video.analysis is not None and video.analysis.summary
    assert video.meta is not None and video.meta.title  # from the sample's metadata
    kinds = {a.kind for a in video.artifacts}
    assert {"transcript_json", "transcript_txt", "transcript_srt", "transcript_vtt"} <= kinds
    assert "report_md" in kinds
    for art in video.artifacts:
        assert (tmp_path / "artifacts" / art.key).stat().st_size == art.size


def test_duplicate_delivery_is_one_analysis_and_one_call(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    pipeline = make_pipeline(tmp_path, results, analyzer)
    job = VideoJob(video_id=OK_ID)
    assert pipeline.process(job, 1) is Outcome.DONE
    assert pipeline.process(job, 2) is Outcome.SKIPPED
    assert pipeline.process(VideoJob(video_id=OK_ID), 1) is Outcome.SKIPPED  # re-enqueued
    assert analyzer.calls[OK_ID] == 1
    with closing(sqlite3.connect(tmp_path / "results.sqlite3")) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM analyses WHERE video_id = ?", (OK_ID,)
        ).fetchone()
    assert count == 1


def test_crash_after_the_paid_call_reuses_the_saved_analysis(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    artifacts = ExplodingArtifacts(tmp_path / "artifacts", failures=1)
    source = FlakySource()
    pipeline = make_pipeline(tmp_path, results, analyzer, source=source, artifacts=artifacts)
    with pytest.raises(TransientError):
        pipeline.process(VideoJob(video_id=OK_ID), 1)
    assert results.find_analysis(OK_ID, analyzer.analysis_version) is not None
    assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.DONE
    assert analyzer.calls[OK_ID] == 1
    assert source.fetches[OK_ID] == 1  # the retry read the saved transcript, not YouTube


def test_two_copies_of_one_video_at_once_pay_once(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    """At-least-once delivery can run one video twice at the same moment: one pays, the
    other waits for it (a transient 'in progress' error) and then reuses its analysis."""
    from consumer.pipeline import AnalysisInProgress

    pipeline = make_pipeline(tmp_path, results, analyzer)
    with first_copy_analysing(pipeline, analyzer):
        with pytest.raises(AnalysisInProgress) as info:
            pipeline.process(VideoJob(video_id=OK_ID), 1)  # the duplicate, meanwhile
        assert info.value.retry_after is not None and info.value.retry_after > 1
    assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.SKIPPED
    assert analyzer.calls[OK_ID] == 1


def test_forced_job_reanalyses_once_even_when_redelivered(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    pipeline = make_pipeline(tmp_path, results, analyzer)
    pipeline.process(VideoJob(video_id=OK_ID))
    forced = VideoJob(video_id=OK_ID, force=True)
    assert pipeline.process(forced, 1) is Outcome.DONE
    assert pipeline.process(forced, 2) is Outcome.DONE  # redelivered: reuses the new one
    assert analyzer.calls[OK_ID] == 2


# ---- through the runner and the SQLite queue -------------------------------------------


def test_permanent_failure_is_recorded_and_not_retried(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    source = FlakySource()
    runner = make_runner(queue, make_pipeline(tmp_path, results, analyzer, source))
    queue.send([VideoJob(video_id=DISABLED_ID), VideoJob(video_id=OK_ID)])
    stats = runner.run(burst=True)

    assert (stats.done, stats.failed, stats.retried) == (1, 1, 0)
    assert source.fetches[DISABLED_ID] == 1
    video = results.get_video(DISABLED_ID)
    assert video is not None and video.state is VideoState.FAILED
    assert video.error_code == "transcripts_disabled"
    assert queue.stats().backlog == 0 and queue.stats().dead == 0


def test_transient_failure_then_success(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    source = FlakySource({OK_ID: 1})
    runner = make_runner(queue, make_pipeline(tmp_path, results, analyzer, source))
    queue.send([VideoJob(video_id=OK_ID)])
    stats = runner.run(burst=True, burst_wait_s=5)

    assert (stats.retried, stats.done) == (1, 1)
    assert source.fetches[OK_ID] == 2
    video = results.get_video(OK_ID)
    assert video is not None and video.state is VideoState.DONE and video.attempts == 2
    assert analyzer.calls[OK_ID] == 1


def test_out_of_retries_goes_to_the_dead_letter_queue_with_its_error(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3", max_retries=1)
    runner = make_runner(queue, make_pipeline(tmp_path, results, analyzer), max_retries=1)
    queue.send([VideoJob(video_id=OUTAGE_ID)])
    stats = runner.run(burst=True, burst_wait_s=5)

    assert (stats.retried, stats.dead) == (1, 1)
    dead = queue.dead_letters()
    assert [d.body.video_id for d in dead if isinstance(d.body, VideoJob)] == [OUTAGE_ID]
    assert dead[0].last_error and "upstream_unavailable" in dead[0].last_error
    video = results.get_video(OUTAGE_ID)
    assert video is not None and video.state is VideoState.DEAD

    assert queue.redrive() == 1  # and redriven, it is tried again
    assert queue.stats().ready == 1


def test_one_bad_message_never_fails_its_batch(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    good = [p.stem for p in sorted(BUNDLED_SAMPLES.glob("*.json"))][:6]
    source = FlakySource({good[2]: 99})
    runner = make_runner(queue, make_pipeline(tmp_path, results, analyzer, source))
    queue.send([VideoJob(video_id=v) for v in good])
    runner.run(burst=True)
    states = {v: results.get_video(v) for v in good}
    assert states[good[2]] is not None and states[good[2]].state is VideoState.RETRYING  # type: ignore[union-attr]
    others = [s for v, s in states.items() if v != good[2]]
    assert all(s is not None and s.state in (VideoState.DONE, VideoState.FAILED) for s in others)


def test_long_work_keeps_its_lease(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    """Work longer than the visibility timeout is not handed to a second consumer."""
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    other = SqliteQueue(tmp_path / "q.sqlite3")
    pipeline = make_pipeline(tmp_path, results, analyzer)
    started, release = threading.Event(), threading.Event()

    def slow(job: VideoJob, attempt: int) -> Outcome:
        started.set()
        release.wait(5)
        return pipeline.process(job, attempt)

    runner = Runner(
        queue=queue,
        process=slow,
        results=results,
        policy=RetryPolicy(),
        config=RunnerConfig(concurrency=1, visibility_timeout_s=0.4, poll_interval_s=0.05),
    )
    queue.send([VideoJob(video_id=OK_ID)])
    thread = threading.Thread(target=runner.run, kwargs={"burst": True})
    thread.start()
    assert started.wait(5)
    stolen = []
    for _ in range(12):  # 1.2 s: three times the lease
        stolen += other.pull(1, 10)
        threading.Event().wait(0.1)
    release.set()
    thread.join(10)
    assert stolen == []
    assert runner.stats.done == 1 and queue.stats().backlog == 0


def test_a_rate_limit_pauses_pulling_instead_of_burning_retries(tmp_path: Path) -> None:
    """After a 429 the consumer stops taking messages until the server's delay has passed."""
    import time

    from shared.errors import RateLimited

    queue = SqliteQueue(tmp_path / "q.sqlite3")
    started: list[tuple[str, float]] = []

    def process(job: VideoJob, attempt: int) -> Outcome:
        started.append((job.video_id, time.monotonic()))
        if len(started) == 1:
            raise RateLimited("429 from the model", retry_after=1.0)
        return Outcome.DONE

    runner = Runner(
        queue=queue,
        process=process,
        results=SqliteResultStore(tmp_path / "r.sqlite3"),
        policy=RetryPolicy(base_s=1, jitter=0),
        config=RunnerConfig(concurrency=1, poll_interval_s=0.02),
    )
    queue.send([VideoJob(video_id=f"ratelimit{i:02d}") for i in range(3)])
    stats = runner.run(burst=True, burst_wait_s=5)
    assert stats.retried == 1 and stats.done == 3
    assert started[1][1] - started[0][1] >= 0.9, "pulled again before the 429's delay"


class RecordingQueue(SqliteQueue):
    """The SQLite queue, noting the delay of every retry (or free handback) it is asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.retry_delays: list[int] = []
        self.released_delays: list[int] = []
        self.retried = threading.Event()

    def retry(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        self.retry_delays.append(delay_s)
        self.retried.set()
        super().retry(delivery, delay_s=delay_s, error=error)

    def release(self, delivery: Delivery, *, delay_s: int, error: str) -> None:
        self.released_delays.append(delay_s)
        self.retried.set()
        super().release(delivery, delay_s=delay_s, error=error)


def test_a_duplicate_beside_its_holder_is_done_within_seconds_without_fetching(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    """Two deliveries of one video at once: the duplicate finds the claim held before it
    fetches anything, asks to come back in seconds (not the claim's 600 s), and is done as
    soon as the holder is: one model call, one transcript fetch."""
    queue = RecordingQueue(tmp_path / "q.sqlite3")
    source = FlakySource()
    pipeline = dataclasses.replace(
        make_pipeline(tmp_path, results, analyzer, source), in_progress_retry_s=0.5
    )
    real_analyze = analyzer.analyze

    def analyze_until_the_duplicate_is_back(
        transcript: Transcript, meta: VideoMeta | None
    ) -> Analysis:
        assert queue.retried.wait(10)  # the holder finishes once the duplicate went back
        return real_analyze(transcript, meta)

    analyzer.analyze = analyze_until_the_duplicate_is_back  # type: ignore[method-assign]
    queue.send([VideoJob(video_id=OK_ID), VideoJob(video_id=OK_ID)])
    stats = make_runner(queue, pipeline).run(burst=True, burst_wait_s=5)

    # handed back, its attempt given back (SQLite): waiting on the original is not a failure
    assert (stats.done, stats.skipped, stats.handed_back, stats.retried) == (1, 1, 1, 0)
    assert queue.released_delays == [1]  # what it asked for (0.5 s, whole seconds): not 600 s
    assert analyzer.calls[OK_ID] == 1
    assert source.fetches[OK_ID] == 1  # the duplicate fetched nothing
    assert queue.stats().backlog == 0


@pytest.mark.parametrize(
    ("attempt", "claim_left_s", "expected"),
    [(1, 600.0, 5.0), (2, 600.0, 10.0), (3, 600.0, 601.0), (1, 2.0, 3.0)],
)
def test_a_duplicate_comes_back_soon_then_when_the_claim_runs_out(
    tmp_path: Path,
    results: SqliteResultStore,
    analyzer: CountingAnalyzer,
    attempt: int,
    claim_left_s: float,
    expected: float,
) -> None:
    """Soon and doubling for the first attempts (the holder usually takes a second), then
    the claim's end (a long analysis), so early retries never use up the message's."""
    from consumer.pipeline import AnalysisInProgress

    pipeline = make_pipeline(tmp_path, results, analyzer)
    other = "another-consumer"
    version = analyzer.analysis_version
    assert results.claim_analysis(OK_ID, version, other, claim_left_s) == 0
    with pytest.raises(AnalysisInProgress) as info:
        pipeline.process(VideoJob(video_id=OK_ID), attempt)
    assert info.value.retry_after == pytest.approx(expected, abs=0.1)
    assert analyzer.calls[OK_ID] == 0


def test_a_long_analysis_keeps_its_claim(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    """An analysis that outlasts one claim renews it, so a duplicate still waits."""
    from consumer.pipeline import AnalysisInProgress

    pipeline = Pipeline(
        transcripts=FlakySource(),
        analyzer=analyzer,
        results=results,
        artifacts=LocalArtifactStore(tmp_path / "artifacts"),
        claim_ttl_s=0.3,
    )
    with first_copy_analysing(pipeline, analyzer):
        threading.Event().wait(1.0)  # more than three claim lifetimes
        with pytest.raises(AnalysisInProgress):
            pipeline.process(VideoJob(video_id=OK_ID), 1)
    assert analyzer.calls[OK_ID] == 1


# ---- a paid reply survives a failed save (issue 9, item 2) -----------------------------


class FailingSaves(SqliteResultStore):
    """The real SQLite store whose ``save_analysis`` fails ``failures`` times first (the
    store down, its disk full, SQLite busy past its timeout)."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures
        self.save_calls = 0

    def save_analysis(self, analysis: Analysis) -> None:
        self.save_calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise StoreUnavailable("simulated: the result store is unreachable")
        super().save_analysis(analysis)


def journaled_pipeline(
    tmp_path: Path,
    results: SqliteResultStore,
    analyzer: Analyzer,
    journal: FileReplyJournal,
    source: FlakySource | None = None,
    ledger: DeferredLedger | None = None,
) -> Pipeline:
    return Pipeline(
        transcripts=source or FlakySource(),
        analyzer=analyzer,
        results=results,
        artifacts=LocalArtifactStore(tmp_path / "artifacts"),
        journal=journal,
        ledger=ledger,
        save_retry_delays_s=(0.0, 0.0),
    )


def test_a_failed_save_keeps_the_reply_and_the_next_delivery_does_not_pay(
    tmp_path: Path, analyzer: CountingAnalyzer
) -> None:
    results = FailingSaves(tmp_path / "results.sqlite3", failures=3)  # every try of attempt 1
    journal = FileReplyJournal(tmp_path / "journal")
    source = FlakySource()
    pipeline = journaled_pipeline(tmp_path, results, analyzer, journal, source)

    with pytest.raises(StoreUnavailable):
        pipeline.process(VideoJob(video_id=OK_ID), 1)
    assert results.save_calls == 3  # tried again within the attempt first
    assert analyzer.calls[OK_ID] == 1
    assert len(journal.pending()) == 1  # the paid reply is on disk
    kept = journal.find(OK_ID, analyzer.analysis_version)
    assert kept is not None

    assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.DONE
    assert analyzer.calls[OK_ID] == 1  # reused, not bought again
    assert source.fetches[OK_ID] == 1  # and the transcript kept before the call was read
    assert journal.pending() == []  # cleaned once the store had it
    video = results.get_video(OK_ID)
    assert video is not None and video.state is VideoState.DONE
    assert video.analysis == kept


def test_a_save_that_fails_once_is_tried_again_within_the_attempt(
    tmp_path: Path, analyzer: CountingAnalyzer
) -> None:
    results = FailingSaves(tmp_path / "results.sqlite3", failures=1)
    journal = FileReplyJournal(tmp_path / "journal")
    pipeline = journaled_pipeline(tmp_path, results, analyzer, journal)
    assert pipeline.process(VideoJob(video_id=OK_ID), 1) is Outcome.DONE
    assert results.save_calls == 2 and analyzer.calls[OK_ID] == 1
    assert journal.pending() == []


def test_a_journaled_reply_keeps_the_claim_from_other_machines(
    tmp_path: Path, analyzer: CountingAnalyzer
) -> None:
    """Another consumer (another disk, no journal entry) waits for the claim to run out
    instead of paying for the reply that waits in this consumer's journal."""
    from consumer.pipeline import AnalysisInProgress

    results = FailingSaves(tmp_path / "results.sqlite3", failures=3)
    here = journaled_pipeline(tmp_path, results, analyzer, FileReplyJournal(tmp_path / "j1"))
    elsewhere = journaled_pipeline(tmp_path, results, analyzer, FileReplyJournal(tmp_path / "j2"))
    with pytest.raises(StoreUnavailable):
        here.process(VideoJob(video_id=OK_ID), 1)
    with pytest.raises(AnalysisInProgress):
        elsewhere.process(VideoJob(video_id=OK_ID), 2)
    assert analyzer.calls[OK_ID] == 1
    assert here.process(VideoJob(video_id=OK_ID), 3) is Outcome.DONE
    assert elsewhere.process(VideoJob(video_id=OK_ID), 4) is Outcome.SKIPPED
    assert analyzer.calls[OK_ID] == 1


def test_a_leftover_journal_entry_goes_when_the_video_is_done(
    tmp_path: Path, results: SqliteResultStore, analyzer: CountingAnalyzer
) -> None:
    journal = FileReplyJournal(tmp_path / "journal")
    pipeline = journaled_pipeline(tmp_path, results, analyzer, journal)
    assert pipeline.process(VideoJob(video_id=OK_ID), 1) is Outcome.DONE
    stale = results.find_analysis(OK_ID, analyzer.analysis_version)
    assert stale is not None
    journal.keep(stale)  # as if forgetting it had failed after the save
    assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.SKIPPED
    assert journal.pending() == []


@pytest.fixture
def gemini() -> Iterator[gs.GeminiStub]:
    server = gs.GeminiStub().start()
    yield server
    server.stop()


def gemini_settings(stub: gs.GeminiStub, tmp_path: Path) -> Settings:
    return Settings(
        analyzer_backend="gemini",
        gemini_api_key=stub.api_key,
        gemini_base_url=stub.base_url,
        gemini_model="gemini-3.1-flash-lite",
        gemini_timeout_s=5.0,
        gemini_rpm=10_000,
        gemini_tpm=100_000_000,
        gemini_budget_wait_s=0.0,
        data_dir=tmp_path / "data",
    )


def test_with_gemini_a_failed_save_is_not_paid_for_twice(
    tmp_path: Path, gemini: gs.GeminiStub
) -> None:
    gemini.push(gs.ok(gs.analysis_dict()))  # one paid reply; a second request gets a 500
    results = FailingSaves(tmp_path / "results.sqlite3", failures=3)
    journal = FileReplyJournal(tmp_path / "journal")
    analyzer = build_analyzer(gemini_settings(gemini, tmp_path))
    try:
        pipeline = journaled_pipeline(tmp_path, results, analyzer, journal)
        with pytest.raises(StoreUnavailable):
            pipeline.process(VideoJob(video_id=OK_ID), 1)
        assert len(gemini.requests) == 1
        assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.DONE
        assert len(gemini.requests) == 1  # generateContent was not called again
        assert journal.pending() == []
        assert results.is_done(OK_ID, analyzer.analysis_version)
    finally:
        analyzer.close()
        results.close()


def test_with_gemini_every_billed_call_reaches_the_ledger(
    tmp_path: Path, gemini: gs.GeminiStub
) -> None:
    """The composition root hands the result store to the analyzer as its spend ledger:
    a video whose replies are all invalid ends failed, and its calls are still counted."""
    from shared.errors import InvalidModelOutput

    results = SqliteResultStore(tmp_path / "results.sqlite3")
    gemini.push(gs.ok("not json", output_tokens=40), gs.ok("still not json", output_tokens=50))
    analyzer = build_analyzer(gemini_settings(gemini, tmp_path), ledger=results)
    try:
        pipeline = Pipeline(
            transcripts=FlakySource(),
            analyzer=analyzer,
            results=results,
            artifacts=LocalArtifactStore(tmp_path / "artifacts"),
        )
        with pytest.raises(InvalidModelOutput):
            pipeline.process(VideoJob(video_id=OK_ID), 1)
        assert len(gemini.requests) == 2  # the call and its repair
        progress = results.progress()
        assert progress.analyses == 0
        assert progress.usage.model_calls == 2
        assert progress.usage.output_tokens == 90
        assert progress.usage.cost_usd > 0
        assert progress.calls_by_outcome == {"invalid": 2}
    finally:
        analyzer.close()
        results.close()


class FullDiskJournal(FileReplyJournal):
    def free_bytes(self) -> int | None:
        return 4096


def test_no_model_is_paid_while_the_journal_disk_is_full(
    tmp_path: Path, analyzer: CountingAnalyzer
) -> None:
    results = SqliteResultStore(tmp_path / "results.sqlite3")
    pipeline = journaled_pipeline(
        tmp_path, results, analyzer, FullDiskJournal(tmp_path / "journal")
    )
    with pytest.raises(StoreUnavailable, match="disk is full"):
        pipeline.process(VideoJob(video_id=OK_ID), 1)
    assert analyzer.calls[OK_ID] == 0  # handed back unpaid: nowhere to keep the reply


def test_a_reply_the_full_disk_refused_is_reused_by_this_process(
    tmp_path: Path, analyzer: CountingAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = FailingSaves(tmp_path / "results.sqlite3", failures=3)
    journal = FileReplyJournal(tmp_path / "journal")
    pipeline = journaled_pipeline(tmp_path, results, analyzer, journal)

    def no_space(*_: object, **__: object) -> tuple[int, str]:
        raise OSError(28, "No space left on device")

    # only the journal's disk is full (the artifact folder is elsewhere)
    monkeypatch.setattr("consumer.journal.tempfile", types.SimpleNamespace(mkstemp=no_space))
    with pytest.raises(StoreUnavailable):
        pipeline.process(VideoJob(video_id=OK_ID), 1)
    monkeypatch.undo()
    assert journal.pending() == []  # nothing on disk…
    assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.DONE
    assert analyzer.calls[OK_ID] == 1  # …yet not bought twice


def test_a_reply_held_in_memory_keeps_the_claim_and_reaches_the_disk_later(
    tmp_path: Path, analyzer: CountingAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills between the paid call and its journal write: the reply is held by
    this process, which keeps the claim (a sibling waits instead of paying); once there is
    room it is written to the journal the consumers on this machine share, and the
    sibling reuses it (the fault suite's disk-full case paid 6 videos twice without this)."""
    from consumer.pipeline import AnalysisInProgress

    results = FailingSaves(tmp_path / "results.sqlite3", failures=3)
    here = journaled_pipeline(tmp_path, results, analyzer, FileReplyJournal(tmp_path / "j"))
    sibling_journal = FileReplyJournal(tmp_path / "j")
    sibling = journaled_pipeline(tmp_path, results, analyzer, sibling_journal)

    def no_space(*_: object, **__: object) -> tuple[int, str]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("consumer.journal.tempfile", types.SimpleNamespace(mkstemp=no_space))
    with pytest.raises(StoreUnavailable):
        here.process(VideoJob(video_id=OK_ID), 1)
    with pytest.raises(AnalysisInProgress):
        sibling.process(VideoJob(video_id=OK_ID), 2)  # the claim is still held
    assert sibling_journal.pending() == []
    monkeypatch.undo()  # room again

    assert here.journal is not None
    assert here.journal.find(OK_ID, analyzer.analysis_version) is not None  # written now
    assert len(sibling_journal.pending()) == 1
    assert sibling.process(VideoJob(video_id=OK_ID), 3) is Outcome.DONE
    assert analyzer.calls[OK_ID] == 1


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs in this 'process'."""


class DiesBeforeFlush(DeferredLedger):
    def flush(self) -> None:
        raise _Killed


def test_with_gemini_a_kill_between_journal_and_ledger_loses_no_ledger_row(
    tmp_path: Path, gemini: gs.GeminiStub
) -> None:
    """The fault suite saw it: the reply survived in the journal, its billed call did not
    reach the ledger. The calls now go into the journal entry and the reuse records them."""
    gemini.push(gs.ok(gs.analysis_dict()))  # one paid reply; a second request gets a 500
    results = SqliteResultStore(tmp_path / "results.sqlite3")
    settings = gemini_settings(gemini, tmp_path)
    journal_dir = tmp_path / "journal"

    first = DiesBeforeFlush(results, journal_dir)
    analyzer = build_analyzer(settings, ledger=first)
    try:
        journal = FileReplyJournal(journal_dir)
        pipeline = journaled_pipeline(tmp_path, results, analyzer, journal, ledger=first)
        with pytest.raises(_Killed):
            pipeline.process(VideoJob(video_id=OK_ID), 1)
    finally:
        analyzer.close()
    assert results.progress().usage.model_calls == 0  # the row died with the process

    # the restarted consumer: a new ledger, the same journal folder
    second = DeferredLedger(results, journal_dir)
    analyzer = build_analyzer(settings, ledger=second)
    try:
        journal = FileReplyJournal(journal_dir)
        pipeline = journaled_pipeline(tmp_path, results, analyzer, journal, ledger=second)
        assert pipeline.process(VideoJob(video_id=OK_ID), 2) is Outcome.DONE
        assert len(gemini.requests) == 1  # the journaled reply, not a new call
        progress = results.progress()
        assert progress.usage.model_calls == 1  # the call is in the ledger once
        assert progress.calls_by_outcome == {"ok": 1}
        assert progress.usage.cost_usd > 0
    finally:
        analyzer.close()
        results.close()
