"""Where transcripts come from: a folder of transcript files (the bundled samples), or YouTube."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.models import Transcript


@runtime_checkable
class TranscriptSource(Protocol):
    name: str

    def fetch(self, video_id: str) -> Transcript:
        """The transcript of a video, or a PermanentError/TransientError saying why not."""
        ...

    def close(self) -> None:
        """Release sessions and files (a no-op where there are none); the source is done."""
        ...
