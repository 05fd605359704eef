"""The contract every result store (SQLite, Postgres, Supabase) must keep.

Grouped by the narrow ports of ``shared.ports`` (``AnalysisClaims``, ``VideoStates``,
``ResultWriter``, ``AnalystReader``, and the ``SpendLedger`` every result store keeps);
``ResultStoreContract`` is all of them. Use it by
subclassing in a ``test_result_store_*.py`` module and providing three fixtures::

    class TestPostgresResultStore(ResultStoreContract):
        @pytest.fixture
        def store(self, ...) -> Iterator[ResultBackend]:
            ...  # a fresh, EMPTY store implementing the four ports
        @pytest.fixture
        def count_rows(self, store) -> Callable[[str], int]:
            ...  # rows in a table: videos, transcripts, analyses, artifacts, failures
        @pytest.fixture
        def backend(self) -> Backend:
            return Backend(name="postgres", ids_per_call=500, page_size=200)

What differs between adapters is declared in ``Backend`` and the tests size themselves
from it; no test is copied to change one assertion. Only the ports' methods are used,
plus ``count_rows`` to prove that repeated writes never add rows (at-least-once delivery
must not double anything).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InvalidInput
from shared.models import BilledCall, CallOutcome, Usage, VideoJob, VideoMeta, VideoState
from shared.ports import (
    AnalysisClaims,
    AnalystReader,
    ResultBackend,
    ResultWriter,
    SpendLedger,
    VideoStates,
)
from tests.support import factories as f

V1 = "gemini:test-model:p1"
V2 = "gemini:test-model:p2"
CountRows = Callable[[str], int]


@dataclass(frozen=True)
class Backend:
    """What a result adapter declares about itself, for the tests to size themselves."""

    name: str
    #: the most ids one done_ids/video_states query takes (None: any number at once)
    ids_per_call: int | None
    #: rows per channel_results page (None: one read returns every row)
    page_size: int | None


class _Harness:
    @pytest.fixture
    def store(self) -> Iterator[ResultBackend]:
        raise NotImplementedError("subclasses provide a fresh, empty result store")

    @pytest.fixture
    def count_rows(self, store: ResultBackend) -> CountRows:
        raise NotImplementedError("subclasses say how to count rows in a table")

    @pytest.fixture
    def backend(self) -> Backend:
        raise NotImplementedError("subclasses declare what their adapter does")

    def _many_ids(self, backend: Backend) -> int:
        """More ids than one query takes: each chunk has to be asked and merged."""
        return 2 * backend.ids_per_call + 200 if backend.ids_per_call else 1200


class AnalysisClaimsContract(_Harness):
    """``AnalysisClaims``: who may pay for an analysis, and the paid replies kept."""

    def test_implements_the_port(self, store: ResultBackend) -> None:
        assert isinstance(store, AnalysisClaims)

    def test_saved_analysis_is_found_but_not_done(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        vid = f.video_id(1)
        paid = f.analysis(vid, version=V1)
        store.save_analysis(paid)

        assert store.find_analysis(vid, V1) == paid
        assert store.find_analysis(vid, V2) is None
        assert not store.is_done(vid, V1)
        assert store.done_ids([vid], V1) == set()

        store.save_analysis(paid)  # saved again after a crash and redelivery
        store.record_success(f.result(vid, version=V1, analysis_=paid))
        assert store.is_done(vid, V1)
        assert count_rows("analyses") == 1

    def test_saving_again_does_not_undo_done(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        store.record_success(f.result(vid, version=V1))
        store.save_analysis(f.analysis(vid, version=V1, summary="A forced re-run, saved."))
        assert store.is_done(vid, V1)
        found = store.find_analysis(vid, V1)
        assert found is not None
        assert found.summary == "A forced re-run, saved."

    def test_claim_is_exclusive_until_it_expires(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        assert store.claim_analysis(vid, V1, "consumer-a", 60) == 0
        wait = store.claim_analysis(vid, V1, "consumer-b", 60)
        assert 50 < wait <= 60  # b must wait for a's claim to run out
        assert store.claim_analysis(vid, V1, "consumer-a", 60) == 0  # a renews its own

    def test_claim_can_be_taken_over_once_expired(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        assert store.claim_analysis(vid, V1, "crashed-consumer", 0.2) == 0
        time.sleep(0.4)
        assert store.claim_analysis(vid, V1, "consumer-b", 60) == 0
        assert store.claim_analysis(vid, V1, "crashed-consumer", 60) > 0

    def test_claims_are_per_video_and_version(self, store: ResultBackend) -> None:
        assert store.claim_analysis(f.video_id(1), V1, "a", 60) == 0
        assert store.claim_analysis(f.video_id(2), V1, "b", 60) == 0
        assert store.claim_analysis(f.video_id(1), "another-version", "b", 60) == 0

    def test_a_claim_of_zero_seconds_releases_only_ones_own(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        assert store.claim_analysis(vid, V1, "consumer-a", 60) == 0
        assert store.claim_analysis(vid, V1, "consumer-b", 0) > 55  # not b's to release
        assert store.claim_analysis(vid, V1, "consumer-a", 0) == 0  # a is done with it
        assert store.claim_analysis(vid, V1, "consumer-b", 60) == 0  # no wait for b

    def test_a_bad_claim_is_refused_before_it_is_sent(self, store: ResultBackend) -> None:
        for ttl in (-1, -0.001, float("nan"), float("inf"), 8 * 86400):
            with pytest.raises(InvalidInput, match="ttl_s"):
                store.claim_analysis(f.video_id(1), V1, "consumer-a", ttl)
        with pytest.raises(InvalidInput, match="owner"):
            store.claim_analysis(f.video_id(1), V1, "", 60)


class VideoStatesContract(_Harness):
    """``VideoStates``: done per version, the state of many videos at once, enqueueing."""

    def test_implements_the_port(self, store: ResultBackend) -> None:
        assert isinstance(store, VideoStates)

    def test_done_ids_per_version(self, store: ResultBackend) -> None:
        a, b, c = f.video_id(1), f.video_id(2), f.video_id(3)
        store.record_success(f.result(a, version=V1))
        store.record_success(f.result(b, version=V1))
        store.record_success(f.result(a, version=V2))
        store.save_analysis(f.analysis(c, version=V1))  # saved, never finished
        store.record_failure(f.failure(c, state=VideoState.RETRYING))

        assert store.done_ids([a, b, c, f.video_id(99)], V1) == {a, b}
        assert store.done_ids([a, b, c], V2) == {a}
        assert store.done_ids([a, a, b], V1) == {a, b}
        assert store.done_ids([], V1) == set()
        assert store.is_done(a, V2)
        assert not store.is_done(b, V2)
        assert not store.is_done(c, V1)

    def test_done_ids_with_many_ids(self, store: ResultBackend, backend: Backend) -> None:
        store.record_success(f.result(f.video_id(7), version=V1))
        last = self._many_ids(backend) - 1
        store.record_success(f.result(f.video_id(last), version=V1))
        ids = [f.video_id(i) for i in range(last + 1)]  # more than one query's worth
        assert store.done_ids(ids, V1) == {f.video_id(7), f.video_id(last)}

    def test_states_of_unknown_ids_are_absent(self, store: ResultBackend) -> None:
        assert store.states([]) == {}
        assert store.states([f.video_id(1), f.video_id(2)]) == {}
        store.mark_queued([VideoJob(video_id=f.video_id(1))])
        assert store.states([f.video_id(1), f.video_id(2)]) == {f.video_id(1): VideoState.QUEUED}

    def test_states_reports_each_state(self, store: ResultBackend) -> None:
        ids = {state: f.video_id(i) for i, state in enumerate(VideoState, start=1)}
        store.mark_queued([VideoJob(video_id=ids[VideoState.QUEUED])])
        store.save_analysis(f.analysis(ids[VideoState.PROCESSING]))  # paid, not finished
        store.record_success(f.result(ids[VideoState.DONE]))
        for state in (VideoState.RETRYING, VideoState.FAILED, VideoState.DEAD):
            store.record_failure(f.failure(ids[state], state=state))
        unknown = f.video_id(99)

        # duplicates and unknown ids in the request change nothing
        asked = [unknown, *ids.values(), ids[VideoState.DONE]]
        found = store.states(asked)

        assert found == {vid: state for state, vid in ids.items()}
        assert all(isinstance(state, VideoState) for state in found.values())
        # the same answer as one get_video per id, which it replaces
        for vid, state in found.items():
            status = store.get_video(vid)
            assert status is not None and status.state == state

    def test_states_follow_later_writes(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        store.record_failure(f.failure(vid, state=VideoState.FAILED))
        assert store.states([vid]) == {vid: VideoState.FAILED}
        store.mark_queued([VideoJob(video_id=vid)])  # re-enqueued: tried again
        assert store.states([vid]) == {vid: VideoState.QUEUED}
        store.record_success(f.result(vid))
        assert store.states([vid]) == {vid: VideoState.DONE}

    def test_states_of_more_ids_than_one_query_takes(
        self, store: ResultBackend, backend: Backend
    ) -> None:
        # known videos at the start, at a chunk's edges and at the end of a long request,
        # so each of the adapter's chunks has to be asked and merged
        count = self._many_ids(backend)
        edge = backend.ids_per_call or 500
        known = {
            f.video_id(0): VideoState.QUEUED,
            f.video_id(edge - 1): VideoState.DONE,
            f.video_id(edge): VideoState.FAILED,
            f.video_id(count - 300): VideoState.QUEUED,
            f.video_id(count - 1): VideoState.DEAD,
        }
        store.mark_queued(
            [VideoJob(video_id=v) for v, s in known.items() if s == VideoState.QUEUED]
        )
        store.record_success(f.result(f.video_id(edge - 1)))
        store.record_failure(f.failure(f.video_id(edge), state=VideoState.FAILED))
        store.record_failure(f.failure(f.video_id(count - 1), state=VideoState.DEAD))

        ids = [f.video_id(i) for i in range(count)]
        assert store.states(ids) == known
        assert store.states(list(reversed(ids))) == known

    def test_mark_queued_marks_new_and_failed_videos_not_done_ones(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        """Enqueued again, a failed video is queued (it will be tried again); a done one
        stays done (the consumer will skip it) unless the job forces a new analysis."""
        done, failed, new = f.video_id(1), f.video_id(2), f.video_id(3)
        store.record_success(f.result(done))
        store.record_failure(f.failure(failed, state=VideoState.FAILED))
        jobs = [VideoJob(video_id=v) for v in (done, failed)]
        jobs.append(VideoJob(video_id=new, meta=f.meta(new, n=3)))

        store.mark_queued(jobs)
        store.mark_queued(jobs)  # enqueued twice

        states = {}
        for vid in (done, failed, new):
            status = store.get_video(vid)
            assert status is not None
            states[vid] = status.state
        assert states == {done: "done", failed: "queued", new: "queued"}
        new_status = store.get_video(new)
        assert new_status is not None
        assert new_status.meta is not None
        assert new_status.meta.title == f.meta(new, n=3).title
        assert count_rows("videos") == 3

        store.mark_queued([VideoJob(video_id=done, force=True)])
        forced = store.get_video(done)
        assert forced is not None and forced.state == "queued"


class ResultWriterContract(_Harness):
    """``ResultWriter``: successes and failures, idempotent under redelivery."""

    def test_implements_the_port(self, store: ResultBackend) -> None:
        assert isinstance(store, ResultWriter)

    def test_record_success_reads_back(self, store: ResultBackend) -> None:
        result = f.result(n=1, attempts=2)
        store.record_success(result)

        status = store.get_video(f.video_id(1))
        assert status is not None
        assert status.state == VideoState.DONE
        assert status.analysis == result.analysis  # every field, unicode included
        assert status.attempts == 2
        assert status.transcript_language == "en"
        assert status.error_code is None
        assert status.meta is not None
        assert status.meta.title == result.video.title
        assert status.meta.channel_id == f.CHANNEL_ID
        assert status.meta.channel_title == f.CHANNEL_TITLE
        assert status.meta.published_at == result.video.published_at
        assert status.meta.duration_s == result.video.duration_s
        assert {(a.kind, a.key, a.content_type, a.size) for a in status.artifacts} == {
            (a.kind, a.key, a.content_type, a.size) for a in result.artifacts
        }
        assert store.is_done(f.video_id(1), V1)

    def test_record_success_twice_is_idempotent(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        result = f.result(n=1)
        store.record_success(result)
        first = store.get_video(f.video_id(1))
        first_progress = store.progress()

        store.record_success(result)  # a redelivery

        assert store.get_video(f.video_id(1)) == first
        assert store.progress() == first_progress
        assert count_rows("videos") == 1
        assert count_rows("transcripts") == 1
        assert count_rows("analyses") == 1
        assert count_rows("artifacts") == len(result.artifacts)

    def test_new_version_keeps_the_old_analysis(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        vid = f.video_id(1)
        store.record_success(f.result(vid, version=V1))
        later = f.T0 + timedelta(hours=1)
        store.record_success(f.result(vid, version=V2, finished_at=later))

        status = store.get_video(vid)
        assert status is not None
        assert status.analysis is not None
        assert status.analysis.analysis_version == V2  # the latest one
        assert store.find_analysis(vid, V1) is not None
        assert store.is_done(vid, V1)
        assert store.is_done(vid, V2)
        assert count_rows("videos") == 1
        assert count_rows("analyses") == 2

    def test_record_failure_then_retry_updates_the_video(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        store.record_failure(
            f.failure(vid, state=VideoState.RETRYING, error_code="rate_limited", attempts=1)
        )
        store.record_failure(
            f.failure(
                vid,
                state=VideoState.DEAD,
                error_code="rate_limited",
                error="Too many requests — réessayez plus tard",
                attempts=4,
                at=f.T0 + timedelta(minutes=5),
                video=f.meta(vid),
            )
        )
        status = store.get_video(vid)
        assert status is not None
        assert status.state == VideoState.DEAD
        assert status.attempts == 4
        assert status.error_code == "rate_limited"
        assert status.error == "Too many requests — réessayez plus tard"
        assert status.analysis is None
        assert status.meta is not None
        assert status.meta.title == f.meta(vid).title

    def test_failure_does_not_downgrade_done(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        result = f.result(vid, version=V1)
        store.record_success(result)
        # e.g. a later, forced run with a new prompt version fails
        store.record_failure(f.failure(vid, state=VideoState.FAILED, attempts=1))
        store.record_failure(f.failure(vid, state=VideoState.RETRYING, attempts=2))

        status = store.get_video(vid)
        assert status is not None
        assert status.state == VideoState.DONE
        assert status.analysis == result.analysis
        assert store.is_done(vid, V1)
        assert store.failures() == []

    def test_success_after_failure_clears_the_error(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        store.record_failure(f.failure(vid, state=VideoState.RETRYING, error_code="unexpected"))
        store.record_success(f.result(vid, attempts=2, finished_at=f.T0 + timedelta(minutes=1)))
        status = store.get_video(vid)
        assert status is not None
        assert status.state == VideoState.DONE
        assert status.error_code is None
        assert status.error is None
        assert store.failures() == []

    def test_failures_are_kept_as_history(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        vid = f.video_id(1)
        for attempt in (1, 2, 2, 3):  # attempt 2 reported twice (a redelivered report)
            store.record_failure(
                f.failure(
                    vid, state=VideoState.RETRYING, error_code="rate_limited", attempts=attempt
                )
            )
        assert count_rows("failures") == 3
        status = store.get_video(vid)
        assert status is not None and status.attempts == 3

    def test_the_latest_runs_artifacts_replace_the_earlier_set(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        vid = f.video_id(1)
        first = f.result(vid)
        store.record_success(first)
        kept = first.artifacts[:1]
        later = first.model_copy(update={"artifacts": kept, "finished_at": f.T0 + timedelta(1)})
        store.record_success(later)
        status = store.get_video(vid)
        assert status is not None
        assert [a.kind for a in status.artifacts] == [a.kind for a in kept]
        assert count_rows("artifacts") == len(kept)

    def test_writes_that_make_no_sense_are_refused(
        self, store: ResultBackend, count_rows: CountRows
    ) -> None:
        mixed = f.result(f.video_id(1)).model_copy(update={"analysis": f.analysis(f.video_id(2))})
        with pytest.raises(InvalidInput, match="mixes videos"):
            store.record_success(mixed)
        with pytest.raises(InvalidInput, match="failed, retrying, dead"):
            store.record_failure(f.failure(f.video_id(1), state=VideoState.DONE))
        assert count_rows("videos") == 0


class AnalystReaderContract(_Harness):
    """``AnalystReader``: what the CLI, the API and the exports read back."""

    def test_implements_the_port(self, store: ResultBackend) -> None:
        assert isinstance(store, AnalystReader)

    def test_empty_store_reads_nothing(self, store: ResultBackend) -> None:
        assert store.get_video(f.video_id(1)) is None
        assert store.find_analysis(f.video_id(1), V1) is None
        assert not store.is_done(f.video_id(1), V1)
        assert store.done_ids([f.video_id(1)], V1) == set()
        assert store.failures() == []
        assert list(store.channel_results(f.CHANNEL_ID)) == []
        progress = store.progress()
        assert progress.total_videos == 0
        assert progress.analyses == 0
        assert sum(progress.by_state.values()) == 0
        assert progress.usage.cost_usd == 0

    def test_failures_newest_first_with_limit(self, store: ResultBackend) -> None:
        states = [VideoState.FAILED, VideoState.DEAD, VideoState.RETRYING, VideoState.FAILED]
        for i, state in enumerate(states):
            store.record_failure(
                f.failure(
                    f.video_id(i),
                    state=state,
                    error_code=f"code_{i}",
                    at=f.T0 + timedelta(minutes=i),
                )
            )
        store.record_success(f.result(f.video_id(10)))
        store.mark_queued([VideoJob(video_id=f.video_id(11))])

        listed = store.failures()
        assert [s.video_id for s in listed] == [f.video_id(i) for i in (3, 2, 1, 0)]
        assert [s.error_code for s in listed] == ["code_3", "code_2", "code_1", "code_0"]
        assert [s.state for s in listed] == list(reversed(states))
        assert all(s.error for s in listed)
        assert [s.video_id for s in store.failures(limit=2)] == [f.video_id(3), f.video_id(2)]

    def test_progress_counts_states_and_sums_usage(self, store: ResultBackend) -> None:
        u1 = Usage(
            prompt_tokens=1000,
            output_tokens=200,
            thinking_tokens=10,
            model_calls=1,
            cost_usd=0.00125,
        )
        u2 = Usage(
            prompt_tokens=3000, output_tokens=400, thinking_tokens=0, model_calls=2, cost_usd=0.0031
        )
        a, b = f.video_id(1), f.video_id(2)
        store.record_success(f.result(a, analysis_=f.analysis(a, usage_=u1)))
        store.record_success(f.result(b, analysis_=f.analysis(b, usage_=u2)))
        store.record_success(f.result(b, analysis_=f.analysis(b, usage_=u2)))  # redelivered
        store.record_failure(f.failure(f.video_id(3), state=VideoState.FAILED))
        store.record_failure(f.failure(f.video_id(4), state=VideoState.DEAD))
        store.mark_queued([VideoJob(video_id=f.video_id(5)), VideoJob(video_id=f.video_id(6))])

        progress = store.progress()
        by_state = {k: v for k, v in progress.by_state.items() if v}
        assert by_state == {"done": 2, "failed": 1, "dead": 1, "queued": 2}
        assert progress.total_videos == 6
        assert progress.analyses == 2
        assert progress.usage.prompt_tokens == 4000
        assert progress.usage.output_tokens == 600
        assert progress.usage.thinking_tokens == 10
        assert progress.usage.model_calls == 3
        assert progress.usage.cost_usd == pytest.approx(0.00435)
        assert progress.first_day == f.T0.date()  # the first analysis's day, in UTC

    def test_channel_results(self, store: ResultBackend) -> None:
        other = "UCsomeOtherChannel0000002"
        for i in (1, 2, 3):
            store.record_success(f.result(f.video_id(i), video=f.meta(f.video_id(i), n=i)))
        store.record_failure(
            f.failure(f.video_id(4), state=VideoState.FAILED, video=f.meta(f.video_id(4), n=4))
        )
        store.record_success(f.result(f.video_id(5), video=f.meta(f.video_id(5), channel_id=other)))

        rows = list(store.channel_results(f.CHANNEL_ID))
        assert {r.video_id for r in rows} == {f.video_id(i) for i in (1, 2, 3, 4)}
        by_id = {r.video_id: r for r in rows}
        assert by_id[f.video_id(1)].analysis is not None
        assert by_id[f.video_id(4)].state == VideoState.FAILED
        assert by_id[f.video_id(4)].analysis is None
        assert [r.video_id for r in store.channel_results(other)] == [f.video_id(5)]
        assert list(store.channel_results("UCnobody")) == []

    def test_channel_results_in_publish_order_across_pages(
        self, store: ResultBackend, backend: Backend
    ) -> None:
        count = (backend.page_size or 10) + 5  # a page and then some
        for i in range(count):
            vid = f.video_id(i)
            store.record_success(f.result(vid, video=f.meta(vid, n=i % 7 + 1)))
        undated = VideoMeta(video_id=f.video_id(count), channel_id=f.CHANNEL_ID)
        store.record_failure(f.failure(undated.video_id, video=undated))
        rows = list(store.channel_results(f.CHANNEL_ID))
        assert rows[0].video_id == undated.video_id  # an unknown date sorts first
        assert len(rows) == count + 1
        assert len({r.video_id for r in rows}) == count + 1
        keys = [(r.meta.published_at, r.video_id) for r in rows if r.meta and r.meta.published_at]
        assert keys == sorted(keys)


def billed(
    call_id: str,
    *,
    vid: str | None,
    outcome: CallOutcome = CallOutcome.OK,
    prompt: int = 1000,
    output: int = 100,
    thinking: int = 0,
    cost: float = 0.001,
    purpose: str = "analysis",
    version: str | None = V1,
    at: datetime = f.T0,
) -> BilledCall:
    return BilledCall(
        call_id=call_id,
        video_id=vid,
        analysis_version=version if vid else None,
        model="test-model",
        purpose=purpose,
        usage=Usage(
            prompt_tokens=prompt,
            output_tokens=output,
            thinking_tokens=thinking,
            model_calls=1,
            cost_usd=cost,
        ),
        outcome=outcome,
        at=at,
    )


class SpendLedgerContract(_Harness):
    """``SpendLedger``: every billed call counted once, whatever became of it (issue 9)."""

    def test_implements_the_port(self, store: ResultBackend) -> None:
        assert isinstance(store, SpendLedger)

    def test_calls_of_a_failed_video_count_once_each(self, store: ResultBackend) -> None:
        vid = f.video_id(1)
        calls = [
            billed(f"{vid}:{V1}:analysis#1", vid=vid, outcome=CallOutcome.INVALID, cost=0.002),
            billed(
                f"{vid}:{V1}:analysis.repair#1",
                vid=vid,
                outcome=CallOutcome.TRUNCATED,
                purpose="repair",
                output=8192,
                thinking=40,
                cost=0.0125,
            ),
            billed(f"{vid}:{V1}:analysis#2", vid=vid, outcome=CallOutcome.REFUSED, cost=0.0005),
        ]
        for call in calls:
            store.record_call(call)
        for call in calls:  # recorded again (a retried record, a redelivery): no new rows
            store.record_call(call)
        # the same id with other figures is the same call: the first record stands
        store.record_call(calls[0].model_copy(update={"usage": Usage(prompt_tokens=9)}))
        store.record_failure(f.failure(vid, state=VideoState.FAILED))

        progress = store.progress()
        assert progress.analyses == 0
        assert progress.usage.model_dump(exclude={"cost_usd"}) == {
            "prompt_tokens": 3000,
            "output_tokens": 8392,
            "thinking_tokens": 40,
            "model_calls": 3,
        }
        assert progress.usage.cost_usd == pytest.approx(0.015)
        assert progress.analysis_usage == Usage()
        assert progress.calls_by_outcome == {"invalid": 1, "truncated": 1, "refused": 1}
        assert progress.first_day == f.T0.date()

    def test_a_saved_analysis_is_not_counted_twice(self, store: ResultBackend) -> None:
        a, b, c = f.video_id(1), f.video_id(2), f.video_id(3)
        # a: an invalid reply, then a repair that was kept (the analysis says what it cost)
        store.record_call(billed("a-1", vid=a, outcome=CallOutcome.INVALID, cost=0.01))
        store.record_call(billed("a-2", vid=a, purpose="repair", cost=0.02))
        kept = Usage(prompt_tokens=2000, output_tokens=200, model_calls=2, cost_usd=0.03)
        store.record_success(f.result(a, analysis_=f.analysis(a, usage_=kept)))
        # b: analysed before the ledger existed: its analysis is all there is to count
        legacy = Usage(prompt_tokens=500, output_tokens=50, model_calls=1, cost_usd=0.004)
        store.record_success(f.result(b, analysis_=f.analysis(b, usage_=legacy)))
        # c: one call that belongs to no video (a batch's own call)
        store.record_call(billed("batch-1", vid=None, purpose="batch", cost=0.001))
        store.record_failure(f.failure(c, state=VideoState.DEAD))

        progress = store.progress()
        assert progress.analyses == 2
        assert progress.usage.model_calls == 2 + 1 + 1
        assert progress.usage.prompt_tokens == 2000 + 500 + 1000
        assert progress.usage.cost_usd == pytest.approx(0.03 + 0.004 + 0.001)
        assert progress.analysis_usage.model_calls == 3
        assert progress.analysis_usage.cost_usd == pytest.approx(0.034)
        assert progress.calls_by_outcome == {"ok": 2, "invalid": 1}

    def test_first_day_is_the_earliest_spend(self, store: ResultBackend) -> None:
        earlier = datetime(2025, 1, 2, 23, 30, tzinfo=UTC)
        store.record_call(billed("late", vid=f.video_id(1), at=f.T0 + timedelta(days=3)))
        store.record_call(billed("early", vid=f.video_id(2), at=earlier))
        store.record_success(f.result(f.video_id(3)))  # created at T0, no ledger rows
        assert store.progress().first_day == earlier.date()


class ResultStoreContract(
    AnalysisClaimsContract,
    VideoStatesContract,
    ResultWriterContract,
    AnalystReaderContract,
    SpendLedgerContract,
):
    """All of them: what every result adapter (a ``ResultBackend``) keeps."""

    def test_implements_the_backend_port(self, store: ResultBackend, backend: Backend) -> None:
        assert isinstance(store, ResultBackend)
        assert store.name == backend.name
