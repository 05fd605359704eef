"""The batch analyzer contract: one suite every ``shared.ports.BatchAnalyzer`` keeps.

An adapter's test module subclasses ``BatchAnalyzerContract`` and provides a ``harness``
fixture returning a ``BatchAnalyzerHarness``: it builds the analyzer on its backend (the
Batch API stub through the real google-genai client), says what the backend did (the
batches it created, the requests it billed and what they cost at batch prices) and steers
it: how the next batch ends, which requests fail or come back unusable, and an error for the
next call. The backend answers each request from its text: the summary names the marker of
the transcript it was asked about, so a reply matched to the wrong video shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Literal, Protocol

import pytest

from shared import errors
from shared.gemini.batch_models import (
    BatchItem,
    BatchReply,
    BatchState,
    ItemState,
    RemoteBatch,
    RemoteState,
)
from shared.models import CallOutcome, Segment, Transcript, Usage
from shared.ports import BatchAnalyzer

#: a request's transcript names its video: "talk marker <video id>"
MARKER = re.compile(r"talk marker ([A-Za-z0-9_-]{11})")

Outcome = Literal["SUCCEEDED", "FAILED", "EXPIRED"]
Spoiled = Literal["invalid", "truncated", "refused"]
Fault = Literal["rate_limited", "unavailable"]


def summary_for(marker: str) -> str:
    """The summary a backend writes for the transcript with this marker."""
    return f"The talk with marker {marker} explains queues."


def video(n: int) -> str:
    return f"ctBatch{n:04d}"


def talk(video_id: str, lines: int = 6) -> Transcript:
    texts = [f"This is talk marker {video_id} about queues."] + [
        f"Line {i}: retries back off, and dead letters keep their error." for i in range(lines)
    ]
    segments = tuple(Segment(start=i * 5.0, duration=5.0, text=t) for i, t in enumerate(texts))
    return Transcript(video_id=video_id, language="en", is_generated=False, segments=segments)


class BatchAnalyzerHarness(Protocol):
    #: the online analyzer's ``analysis_version`` (a batch reply is the same analysis)
    online_version: str
    #: a transcript of more tokens than this is analysed online, in chunks
    chunk_tokens: int

    def make(self) -> BatchAnalyzer:
        """A new batch analyzer on the harness's backend."""
        ...

    def creates(self) -> list[str]:
        """The display name of every batch created at the backend (each one paid)."""
        ...

    def billed(self) -> list[str]:
        """The key of every request the backend billed, once each time it billed it."""
        ...

    def billed_cost(self) -> float:
        """What the backend billed, at batch prices."""
        ...

    def finish_next(self, outcome: Outcome) -> None:
        """The next batch to end ends so (the others succeed)."""
        ...

    def fail_requests(self, keys: set[str]) -> None:
        """These requests get an error instead of a response (not billed)."""
        ...

    def spoil(self, key: str, how: Spoiled) -> None:
        """This request's (billed) response is off-schema, cut off at the cap, or blocked."""
        ...

    def fault(self, kind: Fault) -> None:
        """The backend's next call answers a 429 asking for 17 s, or a 503."""
        ...


def items(analyzer: BatchAnalyzer, videos: Sequence[str]) -> list[BatchItem]:
    built = []
    for vid in videos:
        prompt = analyzer.request_text(talk(vid), None)
        assert prompt is not None
        built.append(
            BatchItem(
                batch_id="b-contract",
                video_id=vid,
                analysis_version=analyzer.analysis_version,
                state=ItemState.PENDING,
                prompt=prompt,
                job="{}",
            )
        )
    return built


def wait_until_ended(analyzer: BatchAnalyzer, name: str) -> list[RemoteState]:
    """Every state ``get`` says, up to the end (the backend moves on as it is polled)."""
    seen = []
    for _ in range(20):
        state = analyzer.get(name).state
        seen.append(state)
        if state.ended:
            return seen
    raise AssertionError(f"batch {name} never ended: {seen}")


class BatchAnalyzerContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def analyzer(self, harness: BatchAnalyzerHarness) -> Iterator[BatchAnalyzer]:
        built = harness.make()
        yield built
        built.close()

    def run(
        self, analyzer: BatchAnalyzer, name: str, videos: Sequence[str]
    ) -> tuple[RemoteBatch, list[RemoteState]]:
        remote = analyzer.submit(name, items(analyzer, videos))
        return remote, wait_until_ended(analyzer, remote.name)

    def test_implements_the_port(self, analyzer: BatchAnalyzer) -> None:
        assert isinstance(analyzer, BatchAnalyzer)

    def test_the_version_is_the_online_analyzers(self, harness: BatchAnalyzerHarness) -> None:
        # the same request as online: a video analysed either way is done for both
        first, second = harness.make(), harness.make()
        try:
            assert first.analysis_version == second.analysis_version == harness.online_version
        finally:
            first.close()
            second.close()

    def test_the_request_is_the_transcript(self, analyzer: BatchAnalyzer) -> None:
        transcript = talk(video(1))
        text = analyzer.request_text(transcript, None)
        assert text is not None
        assert all(s.text in text for s in transcript.segments)

    def test_a_blank_or_long_transcript_goes_online(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        blank = Transcript(
            video_id=video(1),
            language="en",
            is_generated=True,
            segments=(Segment(start=0, duration=1, text="  "),),
        )
        assert analyzer.request_text(blank, None) is None  # online says why it cannot
        # ~12 tokens a line: well past the chunk size, so map-reduce, which is online only
        long = talk(video(2), lines=harness.chunk_tokens // 4)
        assert analyzer.request_text(long, None) is None

    def test_a_batch_runs_and_each_reply_comes_back_to_its_video(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        videos = [video(n) for n in range(5)]
        remote, states = self.run(analyzer, "tubeq-batch-contract-1", videos)
        assert remote.name and remote.display_name == "tubeq-batch-contract-1"
        assert not remote.state.ended
        assert states[-1] == RemoteState.SUCCEEDED and states[-1].store_state == (
            BatchState.SUCCEEDED
        )
        assert all(not s.ended for s in states[:-1])
        replies = analyzer.results(remote.name)
        assert sorted(r.key for r in replies) == videos
        for reply in replies:
            assert reply.outcome == CallOutcome.OK and reply.error_code is None
            assert reply.analysis is not None
            assert reply.analysis.video_id == reply.key
            assert reply.analysis.summary == summary_for(reply.key)
            assert reply.analysis.analysis_version == analyzer.analysis_version

    def test_a_submit_again_under_the_same_name_adopts_the_batch(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        # a submit that died after creating the batch, run again: no second paid batch
        batch = items(analyzer, [video(1), video(2)])
        first = analyzer.submit("tubeq-batch-contract-2", batch)
        again = harness.make()
        try:
            second = again.submit("tubeq-batch-contract-2", batch)
        finally:
            again.close()
        assert second.name == first.name
        assert harness.creates() == ["tubeq-batch-contract-2"]
        other = analyzer.submit("tubeq-batch-contract-3", batch)  # another name: another batch
        assert other.name != first.name
        assert harness.creates() == ["tubeq-batch-contract-2", "tubeq-batch-contract-3"]

    def test_the_batches_are_listed(self, analyzer: BatchAnalyzer) -> None:
        batch = items(analyzer, [video(1)])
        names = {analyzer.submit(f"tubeq-batch-contract-l{n}", batch).name for n in range(3)}
        assert {r.name for r in analyzer.list(10)} == names
        assert len(analyzer.list(2)) == 2
        assert analyzer.list(0) == []  # at most the limit, as the batch store's list

    @pytest.mark.parametrize("outcome", ["FAILED", "EXPIRED"])
    def test_a_batch_that_ends_without_replies_says_so_and_bills_nothing(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer, outcome: Outcome
    ) -> None:
        harness.finish_next(outcome)
        remote, states = self.run(analyzer, "tubeq-batch-contract-4", [video(1), video(2)])
        assert states[-1] == RemoteState(f"JOB_STATE_{outcome}")
        assert states[-1].store_state == BatchState(outcome.lower())
        assert harness.billed() == [] and harness.billed_cost() == 0
        with pytest.raises(errors.PermanentError, match=f"it is {outcome.lower()}"):
            analyzer.results(remote.name)  # nothing to collect: the videos are requeued

    def test_a_cancelled_batch_ends_cancelled(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        remote = analyzer.submit("tubeq-batch-contract-5", items(analyzer, [video(1)]))
        analyzer.cancel(remote.name)
        state = analyzer.get(remote.name).state
        assert state == RemoteState.CANCELLED and state.ended
        assert state.store_state == BatchState.CANCELLED
        assert harness.billed() == []

    def test_a_failed_request_fails_its_video_alone_unbilled(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        videos = [video(n) for n in range(4)]
        harness.fail_requests({videos[2]})
        remote, _ = self.run(analyzer, "tubeq-batch-contract-6", videos)
        replies = {r.key: r for r in analyzer.results(remote.name)}
        assert sorted(replies) == videos
        failed = replies.pop(videos[2])
        assert failed.analysis is None and failed.outcome is None  # not billed
        assert failed.usage == Usage()
        assert failed.error_code == "batch_request_failed" and failed.error
        for key, reply in replies.items():
            assert reply.analysis is not None and reply.analysis.summary == summary_for(key)
        assert sorted(harness.billed()) == sorted(replies)

    @pytest.mark.parametrize(
        ("how", "outcome"),
        [
            ("invalid", CallOutcome.INVALID),
            ("truncated", CallOutcome.TRUNCATED),
            ("refused", CallOutcome.REFUSED),
        ],
    )
    def test_an_unusable_reply_is_that_videos_billed_failure(
        self,
        harness: BatchAnalyzerHarness,
        analyzer: BatchAnalyzer,
        how: Spoiled,
        outcome: CallOutcome,
    ) -> None:
        videos = [video(1), video(2)]
        harness.spoil(videos[0], how)
        remote, _ = self.run(analyzer, "tubeq-batch-contract-7", videos)
        replies = {r.key: r for r in analyzer.results(remote.name)}
        spoiled = replies[videos[0]]
        # a batch has no repair turn: the reply is the video's failure, and it was paid
        assert spoiled.analysis is None and spoiled.outcome == outcome
        assert spoiled.error_code and spoiled.error
        assert spoiled.usage.model_calls == 1 and spoiled.usage.cost_usd > 0
        assert replies[videos[1]].outcome == CallOutcome.OK

    def test_every_billed_request_is_in_the_replies_once(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        videos = [video(n) for n in range(6)]
        harness.fail_requests({videos[0]})
        harness.spoil(videos[1], "invalid")
        remote, _ = self.run(analyzer, "tubeq-batch-contract-8", videos)
        replies = analyzer.results(remote.name)
        billed = [r for r in replies if r.outcome is not None]
        assert sorted(r.key for r in billed) == sorted(harness.billed())
        assert all(r.usage.model_calls == 1 for r in billed)
        total = sum((r.usage for r in replies), Usage())
        assert total.model_calls == len(harness.billed()) == 5
        assert total.cost_usd == pytest.approx(harness.billed_cost(), abs=1e-8 * len(billed))
        # reading the replies again (a poll redelivered) is the same replies, billed no more
        assert _same(analyzer.results(remote.name), replies)
        assert len(harness.billed()) == 5

    def test_a_429_is_rate_limited_with_the_servers_delay_and_creates_nothing(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        batch = items(analyzer, [video(1)])
        harness.fault("rate_limited")
        with pytest.raises(errors.RateLimited) as caught:
            analyzer.submit("tubeq-batch-contract-9", batch)
        assert caught.value.retry_after == pytest.approx(17.0)
        assert harness.creates() == []
        analyzer.submit("tubeq-batch-contract-9", batch)  # the retry
        assert harness.creates() == ["tubeq-batch-contract-9"]

    def test_an_outage_while_polling_is_transient(
        self, harness: BatchAnalyzerHarness, analyzer: BatchAnalyzer
    ) -> None:
        remote = analyzer.submit("tubeq-batch-contract-10", items(analyzer, [video(1)]))
        harness.fault("unavailable")
        with pytest.raises(errors.UpstreamUnavailable):
            analyzer.get(remote.name)
        assert wait_until_ended(analyzer, remote.name)[-1] == RemoteState.SUCCEEDED

    def test_an_unknown_batch_is_a_permanent_error(self, analyzer: BatchAnalyzer) -> None:
        with pytest.raises(errors.PermanentError) as caught:
            analyzer.get("batches/doesnotexist")
        assert not isinstance(caught.value, errors.TransientError)

    def test_close_twice_is_harmless(self, harness: BatchAnalyzerHarness) -> None:
        analyzer = harness.make()
        analyzer.close()
        analyzer.close()


def _same(a: Sequence[BatchReply], b: Sequence[BatchReply]) -> bool:
    """The same replies, but for when each analysis object was made (``created_at``)."""

    def seen(replies: Sequence[BatchReply]) -> list[tuple[object, ...]]:
        return sorted(
            (
                r.key,
                r.outcome,
                r.usage,
                r.error_code,
                r.error,
                r.analysis.model_dump(exclude={"created_at"}) if r.analysis else None,
            )
            for r in replies
        )

    return seen(a) == seen(b)
