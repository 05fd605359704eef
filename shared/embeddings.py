"""Semantic search, the engine-neutral part: what is embedded, the ``video.embed`` job, and
how a semantic hit becomes a ``SearchHit``.

What is embedded, per video (``EmbeddingSource``):

- every row of the full-text index (``transcript_segments``: a caption line with the next
  line's words), so a semantic hit links to the second its line starts, as a full-text hit
  does, and the two rankings speak of the same passages;
- the latest finished analysis: its summary and each key point (they link to the start).

A vector is stored under (video, model, dimensions, kind, ref) with the sha256 of the text it
was made from: embedding a video again pays only for texts that are new or changed for that
model and size (``plan``), so a redelivered or re-enqueued job costs nothing, and a second
model sits beside the first instead of overwriting it.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import InvalidInput, PermanentError
from shared.jobs import Job
from shared.models import VideoId
from shared.search import SearchHit

#: a semantic hit's snippet is this much of its text (it has no match to mark)
SNIPPET_CHARS = 240


class EmbedTask(StrEnum):
    """Gemini's task types: passages are embedded as documents, a search as a query."""

    DOCUMENT = "RETRIEVAL_DOCUMENT"
    QUERY = "RETRIEVAL_QUERY"


class SourceKind(StrEnum):
    SEGMENT = "segment"
    SUMMARY = "summary"
    KEY_POINT = "key_point"


class EmbedVideoJob(Job):
    """Embed a video's transcript passages and analysis (``consumer.handlers.embed``)."""

    kind: ClassVar[str] = "video.embed"
    version: ClassVar[int] = 1

    video_id: VideoId
    #: where the job came from: "analysis" (after a video was analysed), "cli", "api"
    source: str = "cli"

    @property
    def label(self) -> str:
        return f"{self.video_id} (embed)"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingSource(BaseModel):
    """One text of a video to embed, as the result store has it now."""

    model_config = ConfigDict(frozen=True)

    kind: SourceKind
    #: the segment's number; the key point's index; 0 for the summary
    ref: int = Field(ge=0)
    #: the second the passage starts (0 for the analysis texts: they speak of the whole video)
    at_s: float = Field(0.0, ge=0)
    text: str
    #: the hash of the text its stored vector was made from (None: no vector yet)
    stored_hash: str | None = None

    @property
    def hash(self) -> str:
        return text_hash(self.text)

    @property
    def embedded(self) -> bool:
        return self.stored_hash == self.hash


@dataclass(frozen=True)
class VideoCard:
    """What a semantic hit shows of its video (and what search filters on)."""

    video_id: str
    title: str | None = None
    channel_id: str | None = None
    channel_title: str | None = None
    published_at: datetime | None = None
    language: str | None = None


@dataclass(frozen=True)
class EmbeddingPlan:
    """A video's texts and its card, from the result store (``EmbeddingSources``)."""

    card: VideoCard
    sources: list[EmbeddingSource]

    def todo(self) -> list[EmbeddingSource]:
        return [s for s in self.sources if not s.embedded]


@dataclass(frozen=True)
class EmbeddedText:
    """A source and its vector, ready to store."""

    source: EmbeddingSource
    vector: Sequence[float]


@dataclass(frozen=True)
class EmbeddingModel:
    """Which vectors: a model at a size. Vectors of another model or size are never compared."""

    name: str
    dimensions: int

    def check(self, vector: Sequence[float]) -> None:
        if len(vector) != self.dimensions:
            raise DimensionMismatch(
                f"the embedding model {self.name} returned {len(vector)}-dimension vectors, "
                f"and TUBEQ_EMBEDDING_DIMENSIONS is {self.dimensions}: set it to a size the "
                "model makes (gemini-embedding-001: 768, 1536 or 3072)"
            )


class SemanticSearchOff(InvalidInput):
    """A semantic mode was asked of a server where semantic search is off (no embedding
    backend): the request cannot be served as asked (the API answers 400, saying how)."""

    code = "semantic_search_off"


class DimensionMismatch(PermanentError):
    """The model's vectors are not the size the settings ask for."""

    code = "embedding_dimension_mismatch"
    #: a setting to fix, not this video's fault: the consumer stops (exit 4), the job kept
    systemic = True


@dataclass(frozen=True)
class SemanticMatch:
    """One passage near a query, as a vector index returns it."""

    card: VideoCard
    kind: SourceKind
    at_s: float
    text: str
    #: cosine similarity, 1 = same direction
    similarity: float

    def hit(self) -> SearchHit:
        snippet = self.text if len(self.text) <= SNIPPET_CHARS else self.text[:SNIPPET_CHARS] + "…"
        return SearchHit(
            video_id=self.card.video_id,
            title=self.card.title,
            channel_id=self.card.channel_id,
            channel_title=self.card.channel_title,
            published_at=self.card.published_at,
            language=self.card.language,
            at_s=int(self.at_s),
            snippet=html.escape(snippet, quote=False),
            text=self.text,
            score=round(self.similarity, 6),
            passage=self.kind.value if self.kind != SourceKind.SEGMENT else "transcript",
            matched_by=["semantic"],
        )
