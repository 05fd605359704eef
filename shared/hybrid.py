"""Search with three rankings: full-text, semantic and hybrid (``SearchQuery.mode``).

- ``fulltext``: the store's full-text search (FTS5 / tsvector), as before.
- ``semantic``: the query embedded (``RETRIEVAL_QUERY``), the nearest passages by cosine
  similarity (``VectorIndex.nearest``).
- ``hybrid``: both lists fused by reciprocal rank fusion (Cormack et al., 2009): each hit
  scores ``1 / (RRF_K + rank)`` in each list it is in, summed. Ranks, not scores, are fused,
  so bm25, ts_rank and cosine similarity need no common scale. A semantic hit within
  ``MERGE_S`` seconds of a full-text hit of the same video is the same place: one hit, with
  the full-text hit's second and marked snippet (more precise), found by both.

The query's embedding is one billed call, recorded in the spend ledger (``purpose =
'search'``). Semantic modes need ``TUBEQ_EMBEDDING_BACKEND``: without it they are refused
with a message saying so, never silently answered full-text.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from shared.embeddings import EmbedTask, SemanticSearchOff
from shared.logging import get_logger
from shared.models import BilledCall, CallOutcome, Usage
from shared.ports import Embedder, Search, SpendLedger, VectorIndex
from shared.search import SearchHit, SearchQuery

log = get_logger(__name__)

#: the constant of reciprocal rank fusion (60 in the paper and in most engines)
RRF_K = 60
#: a semantic and a full-text hit this close in one video are one place
MERGE_S = 10
#: candidates taken from each ranking per hit asked for (fusion needs depth to reorder)
DEPTH = 3


def fuse(fulltext: list[SearchHit], semantic: list[SearchHit], limit: int) -> list[SearchHit]:
    """Reciprocal rank fusion of two best-first lists (see the module docstring)."""
    fused: list[tuple[float, SearchHit]] = []
    for rank, hit in enumerate(fulltext, start=1):
        fused.append((1.0 / (RRF_K + rank), hit))
    for rank, hit in enumerate(semantic, start=1):
        share = 1.0 / (RRF_K + rank)
        for i, (score, known) in enumerate(fused):
            same = (
                known.video_id == hit.video_id
                and known.passage == hit.passage == "transcript"
                and abs(known.at_s - hit.at_s) <= MERGE_S
                and "semantic" not in known.matched_by
            )
            if same:
                both = known.model_copy(update={"matched_by": ["fulltext", "semantic"]})
                fused[i] = (score + share, both)
                break
        else:
            fused.append((share, hit))
    fused.sort(key=lambda pair: -pair[0])
    return [hit.model_copy(update={"score": round(score, 6)}) for score, hit in fused[:limit]]


def collapse_adjacent(hits: list[SearchHit]) -> list[SearchHit]:
    """Best first, one hit per place: a passage is a caption line and the next line's words,
    so when two passages of a video starting within ``MERGE_S`` both come near the query,
    the words they share, the later one's own line, are what matched. One hit stays, with
    the better similarity, at the later start."""
    kept: list[SearchHit] = []
    for hit in hits:
        for i, known in enumerate(kept):
            if (
                known.video_id == hit.video_id
                and known.passage == hit.passage == "transcript"
                and abs(known.at_s - hit.at_s) <= MERGE_S
            ):
                if hit.at_s > known.at_s:
                    kept[i] = known.model_copy(
                        update={"at_s": hit.at_s, "text": hit.text, "snippet": hit.snippet}
                    )
                break
        else:
            kept.append(hit)
    return kept


@dataclass
class SemanticSide:
    """What the semantic rankings need: the vectors, the embedder, the ledger for its calls."""

    vectors: VectorIndex
    embedder: Embedder
    ledger: SpendLedger | None = None

    def ready(self) -> bool:
        """Whether there are vectors of the configured model to search."""
        return self.vectors.count(self.embedder.model) > 0

    def hits(self, query: SearchQuery, limit: int) -> list[SearchHit]:
        text = query.semantic_text or query.text
        vectors, usage = self.embedder.embed([text], EmbedTask.QUERY)
        self._record(text, usage)
        wanted = query.model_copy(update={"limit": min(limit * 2, 200)})
        matches = self.vectors.nearest(wanted, vectors[0], self.embedder.model)
        return collapse_adjacent([m.hit() for m in matches])[:limit]

    def _record(self, text: str, usage: Usage) -> None:
        if self.ledger is None:
            return
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        call = BilledCall(
            call_id=f"search:{digest}#{uuid.uuid4().hex[:12]}",
            model=self.embedder.model.name,
            purpose="search",
            usage=usage,
            outcome=CallOutcome.OK,
        )
        try:
            self.ledger.record_call(call)
        except Exception as exc:  # spend counted best-effort: the search is paid already
            log.warning("search.ledger_write_failed", call_id=call.call_id, error=repr(exc))

    def close(self) -> None:
        self.embedder.close()
        self.vectors.close()


@dataclass
class RankedSearch:
    """A ``Search`` that answers every mode: the store's full-text search, and, when
    semantic search is set up, the semantic side."""

    fulltext: Search
    semantic: SemanticSide | None = None
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.fulltext.name

    def semantic_ready(self) -> bool:
        """Semantic search is set up and has vectors (``tubeq ask`` then retrieves hybrid)."""
        return self.semantic is not None and self.semantic.ready()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        if query.mode == "fulltext":
            return self.fulltext.search(query)
        if self.semantic is None:
            raise SemanticSearchOff(
                f"--mode {query.mode} needs semantic search, which is off here: set "
                "TUBEQ_EMBEDDING_BACKEND=gemini (and TUBEQ_GEMINI_API_KEY), embed the analysed "
                "videos with `tubeq embed --all` and `tubeq consume --burst`, then search again"
            )
        depth = min(query.limit * DEPTH, 200)
        if query.mode == "semantic":
            return self.semantic.hits(query, query.limit)
        fulltext = self.fulltext.search(query.model_copy(update={"limit": depth}))
        semantic = self.semantic.hits(query, depth)
        return fuse(fulltext, semantic, query.limit)

    def close(self) -> None:
        try:
            self.fulltext.close()
        finally:
            if self.semantic is not None:
                self.semantic.close()
