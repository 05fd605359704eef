"""The vector-index contract: one suite every ``shared.ports.VectorIndex`` adapter keeps
(sqlite-vec beside the embedded store; pgvector in Postgres, directly and over PostgREST).

An adapter's test module subclasses ``VectorIndexContract`` and provides a ``harness``
fixture returning a ``VectorHarness``: an empty result store of the adapter's engine (its
``writer``, which the tests fill as the pipeline does, through ``record_success``), and
vector indexes built on it through the factory (``shared.factory.build_vectors``).

The promises pinned here: a plan lists a finished video's texts (each caption line with the
next line's words, at the second the line starts; the summary; each key point) with the
hash of the vector stored for each, so a redelivered embed job pays for nothing already
embedded and a re-analysed video only for what changed, and vectors of texts that are gone
are dropped; ``save`` is an upsert, atomic, and checks every vector's size; everything is
per model AND size; ``nearest`` ranks by cosine similarity, best first, at most ``limit``,
with the full-text search's filters; unknown videos, channels and models are empty answers,
not errors. The vectors are small (4 dimensions) and chosen by the tests, so the ranking is
known exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Protocol

import pytest

from shared.embeddings import (
    DimensionMismatch,
    EmbeddedText,
    EmbeddingModel,
    EmbeddingPlan,
    EmbeddingSource,
    SourceKind,
)
from shared.ports import ResultWriter, VectorIndex
from shared.search import SearchQuery
from tests.support import factories as f

MODEL = EmbeddingModel("contract-embedding", 4)
#: the same model name at another size, and another model at the same size
WIDER = EmbeddingModel("contract-embedding", 8)
OTHER = EmbeddingModel("contract-embedding-2", 4)
#: the factories' transcript: six caption lines; their analysis: a summary and 2 key points
LINES = 6
KEY_POINTS = 2
ANY = SearchQuery(text="anything", limit=200)


class VectorHarness(Protocol):
    #: the adapter's ``name``
    name: str

    @property
    def writer(self) -> ResultWriter:
        """The result store the index reads its texts from (empty at first)."""
        ...

    def make(self) -> VectorIndex:
        """A new index over the harness's store, built from settings by the factory."""
        ...


def direction(degrees: float, dims: int = 4) -> list[float]:
    """A unit vector at ``degrees`` in the plane of the first two axes: the cosine
    similarity of two of them is the cosine of the angle between them."""
    rad = math.radians(degrees)
    return [math.cos(rad), math.sin(rad)] + [0.0] * (dims - 2)


def embed_all(
    plan: EmbeddingPlan, vectors: Sequence[list[float]] | None = None
) -> list[EmbeddedText]:
    """Every source of ``plan`` with a vector: ``vectors`` in order, or one direction each."""
    sources = sorted(plan.sources, key=lambda s: (s.kind.value, s.ref))
    chosen = vectors or [direction(10.0 * i) for i in range(len(sources))]
    return [EmbeddedText(s, v) for s, v in zip(sources, chosen, strict=True)]


def keyed(sources: Sequence[EmbeddingSource]) -> dict[tuple[SourceKind, int], EmbeddingSource]:
    return {(s.kind, s.ref): s for s in sources}


def record(writer: ResultWriter, n: int, **meta: object) -> str:
    """Record video ``n`` analysed (the factories' transcript and analysis)."""
    vid = f.video_id(n)
    writer.record_success(f.result(vid, n=n, video=f.meta(vid, n=n, **meta)))
    return vid


class VectorIndexContract:
    """Subclass as ``Test<Adapter>Vectors`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def index(self, harness: VectorHarness) -> Iterator[VectorIndex]:
        built = harness.make()
        yield built
        built.close()

    def plan_of(self, index: VectorIndex, vid: str, model: EmbeddingModel = MODEL) -> EmbeddingPlan:
        plan = index.plan(vid, model)
        assert plan is not None, f"no plan for {vid}"
        return plan

    # ---- the port ---------------------------------------------------------------------
    def test_implements_the_port(self, harness: VectorHarness, index: VectorIndex) -> None:
        assert isinstance(index, VectorIndex)
        assert index.name == harness.name

    def test_an_empty_index_has_nothing(self, index: VectorIndex) -> None:
        assert index.count(MODEL) == 0
        assert index.nearest(ANY, direction(0), MODEL) == []
        assert index.analysed_videos() == []

    def test_close_twice_is_harmless(self, harness: VectorHarness) -> None:
        index = harness.make()
        index.count(MODEL)
        index.close()
        index.close()

    # ---- plans ------------------------------------------------------------------------
    def test_only_a_finished_analysis_has_a_plan(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        assert index.plan(f.video_id(1), MODEL) is None  # never seen
        saved = f.video_id(2)
        harness.writer.save_analysis(f.analysis(saved))  # paid for, not finished
        assert index.plan(saved, MODEL) is None
        failed = f.video_id(3)
        harness.writer.record_failure(f.failure(failed, video=f.meta(failed, n=3)))
        assert index.plan(failed, MODEL) is None

    def test_a_plan_lists_every_text_and_the_videos_card(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1, published_at=f.T0)
        plan = self.plan_of(index, vid)
        card, meta = plan.card, f.meta(vid, n=1, published_at=f.T0)
        assert (card.video_id, card.title, card.channel_id, card.channel_title) == (
            vid,
            meta.title,
            meta.channel_id,
            meta.channel_title,
        )
        assert card.published_at == f.T0
        assert card.language == "en"

        sources = keyed(plan.sources)
        assert len(plan.sources) == len(sources) == LINES + 1 + KEY_POINTS
        segments = f.segments(LINES)
        for i, seg in enumerate(segments):
            s = sources[(SourceKind.SEGMENT, i)]
            # the line and the next line's words, at the second the line starts
            following = f" {segments[i + 1].text}" if i + 1 < LINES else ""
            assert s.text == seg.text + following
            assert s.at_s == pytest.approx(seg.start)
        analysis = f.analysis(vid)
        assert sources[(SourceKind.SUMMARY, 0)].text == analysis.summary
        for i, point in enumerate(analysis.key_points):
            assert (
                sources[(SourceKind.KEY_POINT, i)].text,
                sources[(SourceKind.KEY_POINT, i)].at_s,
            ) == (point, 0)
        assert all(s.stored_hash is None for s in plan.sources)
        assert len(plan.todo()) == len(plan.sources)

    def test_saved_vectors_are_not_planned_again(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        index.save(plan, MODEL, embed_all(plan))
        assert index.count(MODEL) == len(plan.sources)
        again = self.plan_of(index, vid)
        assert again.todo() == []  # a redelivered embed job pays for nothing
        assert {s.stored_hash for s in again.sources} == {s.hash for s in plan.sources}
        # and a second build of the index sees the same
        other = harness.make()
        try:
            assert self.plan_of(other, vid).todo() == []
        finally:
            other.close()

    def test_saving_again_is_an_upsert(self, harness: VectorHarness, index: VectorIndex) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        rows = embed_all(plan)
        index.save(plan, MODEL, rows)
        index.save(plan, MODEL, rows)  # the embed job redelivered after a crash
        assert index.count(MODEL) == len(plan.sources)
        # a new vector for one text replaces the old one
        summary = next(r for r in rows if r.source.kind == SourceKind.SUMMARY)
        index.save(plan, MODEL, [EmbeddedText(summary.source, direction(123.0))])
        assert index.count(MODEL) == len(plan.sources)
        (best, *_) = index.nearest(ANY, direction(123.0), MODEL)
        assert (best.kind, best.similarity) == (SourceKind.SUMMARY, pytest.approx(1.0, abs=1e-5))

    def test_a_partial_save_leaves_the_rest_to_do(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        summary = keyed(plan.sources)[(SourceKind.SUMMARY, 0)]
        index.save(plan, MODEL, [EmbeddedText(summary, direction(0))])
        todo = self.plan_of(index, vid).todo()
        assert len(todo) == len(plan.sources) - 1
        assert (SourceKind.SUMMARY, 0) not in keyed(todo)
        index.save(plan, MODEL, [])  # nothing to save is fine
        assert index.count(MODEL) == 1

    def test_a_reanalysed_video_pays_only_for_what_changed(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        index.save(plan, MODEL, embed_all(plan))
        rerun = f.analysis(vid, version="contract:v2", summary="A different summary, later.")
        harness.writer.record_success(
            f.result(vid, n=1, analysis_=rerun, finished_at=f.T0 + timedelta(days=1))
        )
        todo = self.plan_of(index, vid).todo()
        assert [(s.kind, s.ref, s.text) for s in todo] == [
            (SourceKind.SUMMARY, 0, "A different summary, later.")
        ]

    def test_vectors_of_texts_that_are_gone_are_dropped(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        index.save(plan, MODEL, embed_all(plan))
        # a forced re-run: a shorter transcript and one key point
        shorter = f.result(
            vid,
            n=1,
            analysis_=f.analysis(vid, version="contract:v2", key_points=["Only one point."]),
            finished_at=f.T0 + timedelta(days=1),
        )
        harness.writer.record_success(
            shorter.model_copy(update={"transcript": f.transcript(vid, segments=f.segments(3))})
        )
        after = self.plan_of(index, vid)
        assert set(keyed(after.sources)) == {
            (SourceKind.SEGMENT, 0),
            (SourceKind.SEGMENT, 1),
            (SourceKind.SEGMENT, 2),
            (SourceKind.SUMMARY, 0),
            (SourceKind.KEY_POINT, 0),
        }
        assert index.count(MODEL) == 5  # the vectors of the four gone texts went with the plan
        # line 2 is now the last: its text lost the next line's words, so it is new
        assert sorted((s.kind.value, s.ref) for s in after.todo()) == [
            ("key_point", 0),
            ("segment", 2),
        ]
        found = {(m.kind, m.text) for m in index.nearest(ANY, direction(0), MODEL)}
        assert len(found) == 5

    # ---- models -----------------------------------------------------------------------
    def test_every_model_and_size_has_its_own_vectors(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        index.save(plan, MODEL, embed_all(plan))
        for other in (WIDER, OTHER):
            assert index.count(other) == 0
            assert len(self.plan_of(index, vid, other).todo()) == len(plan.sources)
            assert index.nearest(ANY, direction(0, other.dimensions), other) == []
        wide = self.plan_of(index, vid, WIDER)
        index.save(wide, WIDER, embed_all(wide, [direction(0, 8)] * len(wide.sources)))
        assert (index.count(MODEL), index.count(WIDER)) == (len(plan.sources),) * 2
        assert self.plan_of(index, vid).todo() == []  # the first model's vectors stayed

    def test_a_vector_of_the_wrong_size_is_refused_and_nothing_is_saved(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        rows = embed_all(plan)
        bad = [*rows[:-1], EmbeddedText(rows[-1].source, [0.5] * 3)]  # the last one is short
        with pytest.raises(DimensionMismatch, match="TUBEQ_EMBEDDING_DIMENSIONS"):
            index.save(plan, MODEL, bad)
        assert index.count(MODEL) == 0
        with pytest.raises(DimensionMismatch):
            index.nearest(ANY, [1.0, 0.0, 0.0], MODEL)

    # ---- nearest ----------------------------------------------------------------------
    def test_nearest_ranks_by_cosine_similarity(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        rows = embed_all(plan)  # the i-th source (by kind, ref) at 10·i degrees
        index.save(plan, MODEL, rows)
        matches = index.nearest(ANY, direction(41.0), MODEL)
        assert len(matches) == len(rows)
        # 40° is 1° away, then 50° (9°), 30° (11°), 60°, 20°, ...
        expected = sorted(range(len(rows)), key=lambda i: abs(10.0 * i - 41.0))
        assert [(m.kind, m.text) for m in matches] == [
            (rows[i].source.kind, rows[i].source.text) for i in expected
        ]
        for m, i in zip(matches, expected, strict=True):
            assert m.similarity == pytest.approx(math.cos(math.radians(10.0 * i - 41.0)), abs=1e-5)
            assert m.at_s == pytest.approx(rows[i].source.at_s)
            assert m.card.video_id == vid and m.card.title == f.meta(vid, n=1).title
        # the limit
        top = index.nearest(ANY.model_copy(update={"limit": 3}), direction(41.0), MODEL)
        assert [m.text for m in top] == [m.text for m in matches[:3]]

    def test_a_semantic_hit_links_to_its_line(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        vid = record(harness.writer, 1)
        plan = self.plan_of(index, vid)
        line = keyed(plan.sources)[(SourceKind.SEGMENT, 4)]
        index.save(plan, MODEL, [EmbeddedText(line, direction(77.0))])
        (match,) = index.nearest(ANY, direction(77.0), MODEL)
        hit = match.hit()
        assert (hit.video_id, hit.at_s, hit.passage) == (
            vid,
            int(f.segments(LINES)[4].start),
            "transcript",
        )
        assert hit.matched_by == ["semantic"] and hit.text == line.text

    def test_the_filters_of_full_text_search(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        writer = harness.writer
        english = record(writer, 1, channel_id="UCchannelA000000000000001", published_at=f.T0)
        later = f.video_id(2)
        writer.record_success(
            f.result(
                later,
                n=2,
                video=f.meta(
                    later,
                    n=2,
                    channel_id="UCchannelB000000000000002",
                    published_at=f.T0 + timedelta(days=10),
                ),
            ).model_copy(update={"transcript": f.transcript(later, language="en-GB")})
        )
        japanese = f.video_id(3)
        writer.record_success(
            f.result(
                japanese, n=3, video=f.meta(japanese, n=3, published_at=f.T0 + timedelta(days=20))
            ).model_copy(update={"transcript": f.transcript(japanese, language="ja")})
        )
        for vid in (english, later, japanese):
            plan = self.plan_of(index, vid)
            index.save(plan, MODEL, embed_all(plan))

        def videos(**filters: object) -> set[str]:
            query = ANY.model_copy(update=filters)
            return {m.card.video_id for m in index.nearest(query, direction(0), MODEL)}

        assert videos() == {english, later, japanese}
        assert videos(channel_id="UCchannelB000000000000002") == {later}
        assert videos(channel_id="UC-nobody") == set()
        day = (f.T0 + timedelta(days=10)).date()
        assert videos(since=day) == {later, japanese}
        assert videos(since=day + timedelta(days=11)) == set()
        assert videos(language="en") == {english, later}  # en also matches en-GB
        assert videos(language="en-gb") == {later}
        assert videos(language="ja") == {japanese}

    # ---- analysed videos ----------------------------------------------------------------
    def test_analysed_videos_are_the_finished_ones_by_channel(
        self, harness: VectorHarness, index: VectorIndex
    ) -> None:
        writer = harness.writer
        a = record(writer, 3, channel_id="UCchannelA000000000000001")
        b = record(writer, 1, channel_id="UCchannelB000000000000002")
        c = record(writer, 2, channel_id="UCchannelA000000000000001")
        # analysed twice (two versions): listed once
        writer.record_success(
            f.result(
                c,
                n=2,
                version="contract:v2",
                video=f.meta(c, n=2, channel_id="UCchannelA000000000000001"),
            )
        )
        writer.save_analysis(f.analysis(f.video_id(4)))  # not finished
        writer.record_failure(f.failure(f.video_id(5), video=f.meta(f.video_id(5), n=5)))
        assert index.analysed_videos() == sorted([a, b, c])
        assert index.analysed_videos("UCchannelA000000000000001") == sorted([a, c])
        assert index.analysed_videos("UC-nobody") == []
