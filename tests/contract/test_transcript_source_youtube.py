"""The transcript-source contract on the YouTube source: the real youtube-transcript-api,
routed by the adapter's session to the local YouTube stub (consent page included)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from shared.adapter_settings import YouTubeTranscriptSettings
from shared.adapters.youtube_transcripts import YouTubeTranscriptSource
from tests.contract.transcript_source_contract import (
    Failure,
    Spoken,
    TranscriptSourceContract,
)
from tests.support.youtube_stub import StubVideo, Track, YouTubeStub

pytestmark = pytest.mark.services

#: how the stub stages each failure the contract asks for
STATES: dict[Failure, str] = {
    "transcripts_disabled": "disabled",
    "video_unavailable": "unavailable",
    "upstream_unavailable": "500",
}
NAMES = {"en": "English", "ja": "日本語"}


@dataclass
class YouTubeHarness:
    stub: YouTubeStub
    name: str = "youtube"
    carries_meta: bool = False

    def add(self, video_id: str, spoken: Spoken) -> None:
        label = NAMES[spoken.language] + (" (auto-generated)" if spoken.generated else "")
        track = Track(spoken.language, label, list(spoken.segments), generated=spoken.generated)
        self.stub.add(video_id, StubVideo(tracks=[track]))

    def fail(self, video_id: str, failure: Failure) -> None:
        english = Track("en", "English", [(0.0, 1.0, "never served")])
        self.stub.add(video_id, StubVideo(tracks=[english], state=STATES[failure]))

    def make(self) -> YouTubeTranscriptSource:
        section = YouTubeTranscriptSettings(
            languages=("en", "ja"), base_url=self.stub.url, timeout_s=2.0
        )
        return YouTubeTranscriptSource.from_settings(section)


class TestYouTubeTranscriptSource(TranscriptSourceContract):
    @pytest.fixture
    def harness(self) -> Iterator[YouTubeHarness]:
        server = YouTubeStub(require_consent=True)
        with server:
            yield YouTubeHarness(server)
