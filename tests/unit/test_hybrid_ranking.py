"""Reciprocal rank fusion and the placing of semantic hits (``shared.hybrid``)."""

from __future__ import annotations

from shared.hybrid import RRF_K, collapse_adjacent, fuse
from shared.search import SearchHit


def hit(video: str, at_s: int, by: str = "fulltext", score: float = 1.0) -> SearchHit:
    return SearchHit(
        video_id=video, at_s=at_s, snippet=f"{video}@{at_s}", text="", score=score,
        matched_by=[by],  # type: ignore[list-item]
    )  # fmt: skip


def test_a_place_both_rankings_found_comes_first_with_the_fulltext_second() -> None:
    fulltext = [hit("a", 100), hit("b", 50)]
    semantic = [hit("c", 10, "semantic"), hit("b", 54, "semantic")]
    fused = fuse(fulltext, semantic, limit=10)
    assert [(h.video_id, h.at_s, h.matched_by) for h in fused] == [
        ("b", 50, ["fulltext", "semantic"]),  # 1/62 + 1/62 beats 1/61 alone
        ("a", 100, ["fulltext"]),
        ("c", 10, ["semantic"]),
    ]
    assert fused[0].score == round(2 / (RRF_K + 2), 6)
    assert fused[0].snippet == "b@50"  # the full-text snippet, with its marks


def test_far_apart_places_stay_apart_and_the_limit_holds() -> None:
    fused = fuse([hit("a", 100)], [hit("a", 200, "semantic")], limit=1)
    assert [(h.at_s, h.matched_by) for h in fused] == [(100, ["fulltext"])]


def test_two_neighbouring_passages_are_one_hit_at_the_line_they_share() -> None:
    # passage 95 = line 95 + line 100; passage 100 = line 100 + line 104: line 100 matched
    hits = [hit("a", 95, "semantic", 0.9), hit("a", 100, "semantic", 0.8), hit("b", 5)]
    assert [(h.video_id, h.at_s, h.score) for h in collapse_adjacent(hits)] == [
        ("a", 100, 0.9),
        ("b", 5, 1.0),
    ]
