"""The transcript-source contract: one suite every ``shared.ports.TranscriptSource`` keeps.

An adapter's test module subclasses ``TranscriptSourceContract`` and provides a ``harness``
fixture returning a ``TranscriptSourceHarness``: it puts videos where the source will find
them (a file in the folder, a video on the YouTube stub), stages the failures the pipeline
must tell apart, builds the source, and says what the backend can do. What differs between
backends is declared there, never by copying a test to change one assertion.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import pytest

from shared import errors
from shared.ports import TranscriptSource

#: the failures every source must classify the same way
Failure = Literal["transcripts_disabled", "video_unavailable", "upstream_unavailable"]

VIDEO = "ctVideo0001"
OTHER = "ctVideo0002"


@dataclass(frozen=True)
class Spoken:
    """A transcript as the backend holds it: timed lines in one language."""

    language: str
    segments: tuple[tuple[float, float, str], ...]
    generated: bool = False


ENGLISH = Spoken(
    "en",
    (
        (0.0, 2.5, "Hello and welcome."),
        (2.5, 3.0, "Today: queues, leases & retries."),
        (5.5, 4.25, "At least once, every time."),
    ),
)
UNICODE = Spoken(
    "ja",
    ((0.0, 1.2, "こんにちは、世界！"), (1.2, 2.0, "キューの話 🎉🚀"), (3.2, 1.0, "Tom & Jerry <3")),
)
CAPTIONS = Spoken("en", ((0.0, 1.0, "hello and welcome"), (1.0, 1.5, "auto")), generated=True)


class TranscriptSourceHarness(Protocol):
    #: the source's ``name`` (also each transcript's ``source``)
    name: str
    #: whether transcripts come with the video's metadata (``Transcript.meta``)
    carries_meta: bool

    def add(self, video_id: str, spoken: Spoken) -> None:
        """Make ``video_id`` have this transcript (in the languages the source asks for)."""
        ...

    def fail(self, video_id: str, failure: Failure) -> None:
        """Make fetching ``video_id`` fail this way."""
        ...

    def make(self) -> TranscriptSource:
        """A source on the harness's backend (``en`` and ``ja`` preferred, in that order)."""
        ...


class TranscriptSourceContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def source(self, harness: TranscriptSourceHarness) -> Iterator[TranscriptSource]:
        built = harness.make()
        yield built
        built.close()

    def test_implements_the_port(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        assert isinstance(source, TranscriptSource)
        assert source.name == harness.name

    def test_fetch_keeps_the_timed_segments(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        harness.add(VIDEO, ENGLISH)
        transcript = source.fetch(VIDEO)
        assert transcript.video_id == VIDEO
        assert transcript.language == "en"
        assert transcript.is_generated is False
        assert transcript.source == harness.name
        got = [(s.start, s.duration, s.text) for s in transcript.segments]
        assert got == [pytest.approx(seg) for seg in ENGLISH.segments]
        assert transcript.text == " ".join(seg[2] for seg in ENGLISH.segments)

    def test_auto_generated_captions_say_so(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        harness.add(VIDEO, CAPTIONS)
        transcript = source.fetch(VIDEO)
        assert transcript.is_generated is True
        assert [s.text for s in transcript.segments] == [seg[2] for seg in CAPTIONS.segments]

    def test_unicode_survives(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        harness.add(VIDEO, UNICODE)
        transcript = source.fetch(VIDEO)
        assert transcript.language == "ja"
        assert [s.text for s in transcript.segments] == [seg[2] for seg in UNICODE.segments]

    def test_fetching_again_gives_the_same_transcript(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        # at-least-once: a redelivered message fetches again and must see the same thing
        harness.add(VIDEO, ENGLISH)
        harness.add(OTHER, UNICODE)
        first = source.fetch(VIDEO)
        assert source.fetch(OTHER).video_id == OTHER
        assert source.fetch(VIDEO) == first

    def test_meta_is_carried_where_the_backend_has_it(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        harness.add(VIDEO, ENGLISH)
        meta = source.fetch(VIDEO).meta
        if harness.carries_meta:
            assert meta is not None and meta.video_id == VIDEO
        else:
            assert meta is None

    @pytest.mark.parametrize(
        ("failure", "error"),
        [
            ("transcripts_disabled", errors.TranscriptsDisabled),
            ("video_unavailable", errors.VideoUnavailable),
        ],
    )
    def test_permanent_failures_are_classified(
        self,
        harness: TranscriptSourceHarness,
        source: TranscriptSource,
        failure: Failure,
        error: type[errors.TubeqError],
    ) -> None:
        harness.fail(VIDEO, failure)
        with pytest.raises(error) as caught:
            source.fetch(VIDEO)
        assert isinstance(caught.value, errors.PermanentError)
        assert VIDEO in caught.value.message

    def test_an_outage_is_transient(
        self, harness: TranscriptSourceHarness, source: TranscriptSource
    ) -> None:
        harness.fail(VIDEO, "upstream_unavailable")
        with pytest.raises(errors.TransientError):
            source.fetch(VIDEO)

    def test_a_video_it_does_not_have_is_unavailable(self, source: TranscriptSource) -> None:
        with pytest.raises(errors.PermanentError):
            source.fetch("ctNobody000")

    def test_close_twice_is_harmless(self, harness: TranscriptSourceHarness) -> None:
        source = harness.make()
        source.close()
        source.close()
