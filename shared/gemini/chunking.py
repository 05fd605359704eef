"""Token estimates and splitting long transcripts into chunks on segment boundaries.

Token estimate: ``ceil(utf8_bytes / 4)``. Gemini's tokenizer averages about 4 characters per
token on English text; counting UTF-8 bytes instead of characters keeps the estimate honest for
other scripts (Cyrillic or Greek ≈ 2 chars per token, CJK ≈ 1.3), where a plain ``chars / 4``
would badly undercount. It is a cheap, deliberately slightly generous guess: calling
``count_tokens`` per video would cost a round trip (and quota) to decide something this coarse.
The real counts come back in ``usage_metadata`` and are what cost is computed from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.models import Segment

BYTES_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def format_timestamp(seconds: float) -> str:
    """``[123.4s]``: seconds, so the model copies them into ``start_s`` without arithmetic."""
    return f"[{seconds:.1f}s]"


def render_segments(segments: Sequence[Segment]) -> str:
    """One line per segment, each with its real start time."""
    lines = []
    for seg in segments:
        text = " ".join(seg.text.split())
        if text:
            lines.append(f"{format_timestamp(seg.start)} {text}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Chunk:
    index: int  # from 0
    segments: tuple[Segment, ...]

    @property
    def start_s(self) -> float:
        return self.segments[0].start if self.segments else 0.0

    @property
    def end_s(self) -> float:
        return max((s.end for s in self.segments), default=0.0)

    @property
    def text(self) -> str:
        return render_segments(self.segments)


def split_into_chunks(segments: Sequence[Segment], max_tokens: int) -> list[Chunk]:
    """Greedy split on segment boundaries so each chunk's rendered text stays under
    ``max_tokens`` (estimated). A single segment larger than that becomes a chunk of its own
    (segments are a few seconds of speech, so this does not happen with real captions)."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    chunks: list[Chunk] = []
    current: list[Segment] = []
    used = 0
    for seg in segments:
        line = render_segments([seg])
        if not line:
            continue
        cost = estimate_tokens(line) + 1  # + the newline joining it
        if current and used + cost > max_tokens:
            chunks.append(Chunk(len(chunks), tuple(current)))
            current, used = [], 0
        current.append(seg)
        used += cost
    if current:
        chunks.append(Chunk(len(chunks), tuple(current)))
    return chunks
