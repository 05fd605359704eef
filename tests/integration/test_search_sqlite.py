"""Full-text search on the SQLite result store (FTS5, sql/queries/sqlite_search*.sql): the
demo's samples saved by the store itself, found at the second they are spoken."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from shared.adapters.sqlite_results import SqliteResultStore
from shared.adapters.sqlite_search import SqliteSearch
from shared.errors import ConfigError, InvalidInput
from shared.factory import build_search
from shared.search import SearchQuery
from shared.settings import Settings
from tests.support.search_data import fill_with_samples, sample_segments

#: a caption line 1 h 53 min into the 2-hour lecture, and a phrase said only there
LINE = 1502
SPOKEN = "later, when Ibarra hurried and played a natural move without counting."
PHRASE = "when Ibarra hurried and played a natural move"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "results.sqlite3"
    store = SqliteResultStore(path)
    try:
        fill_with_samples(store)
    finally:
        store.close()
    return path


@pytest.fixture
def search(results: Path) -> Iterator[SqliteSearch]:
    s = SqliteSearch(results)
    yield s
    s.close()


def test_a_phrase_in_the_two_hour_lecture_links_to_the_second_it_is_spoken(
    search: SqliteSearch,
) -> None:
    segment = sample_segments("tq-sample08")[LINE]
    assert segment["text"] == SPOKEN
    hits = search.search(SearchQuery(text=f'"{PHRASE}"'))
    assert [(h.video_id, h.at_s) for h in hits] == [("tq-sample08", int(segment["start"]))]
    hit = hits[0]
    assert hit.title == "Rook endgames: the complete lecture"
    assert hit.channel_title == "Signal & Noise"
    assert hit.url == f"https://www.youtube.com/watch?v=tq-sample08&t={int(segment['start'])}s"
    assert "<mark>when Ibarra hurried and played a natural move</mark>" in hit.snippet


def test_a_phrase_across_two_caption_lines_is_placed_where_it_starts(
    search: SqliteSearch,
) -> None:
    segments = sample_segments("tq-sample08")
    first, second = segments[LINE], segments[LINE + 1]
    phrase = " ".join(str(first["text"]).split()[-2:] + str(second["text"]).split()[:2])
    hits = search.search(SearchQuery(text=f'"{phrase}"'))
    assert [(h.video_id, h.at_s) for h in hits] == [("tq-sample08", int(first["start"]))]


def test_a_word_in_the_next_line_is_placed_at_that_line_once(search: SqliteSearch) -> None:
    segments = sample_segments("tq-sample08")
    # "Ibarra" is in line LINE only; the row of LINE - 1 indexes it too, as its next words
    hits = search.search(SearchQuery(text="ibarra hurried"))
    assert [h.at_s for h in hits] == [int(segments[LINE]["start"])]


def test_stemming_and_prefixes(search: SqliteSearch) -> None:
    # porter: "endgame" finds "endgames", and the other way round
    singular = search.search(SearchQuery(text="endgame", limit=200))
    plural = search.search(SearchQuery(text="endgames", limit=200))
    assert singular and {h.video_id for h in singular} == {"tq-sample08"}
    assert {h.at_s for h in singular} == {h.at_s for h in plural}
    prefix = search.search(SearchQuery(text="kaufleu*", limit=5))
    assert prefix and all(h.video_id == "tq-sample11" for h in prefix)
    assert "<mark>Kaufleute</mark>" in " ".join(h.snippet for h in prefix)
    # diacritics folded: "valparaiso" finds "Valparaíso"
    assert {h.video_id for h in search.search(SearchQuery(text="valparaiso"))} == {"tq-sample13"}


def test_filters_and_ranking(search: SqliteSearch) -> None:
    assert search.search(SearchQuery(text="rook", channel_id="UCjwzqwIAGtUNwjXt0ke2Usj"))
    assert search.search(SearchQuery(text="rook", channel_id="UC-someone-else")) == []
    assert search.search(SearchQuery(text="rook", since=date(2026, 2, 13)))
    assert search.search(SearchQuery(text="rook", since=date(2026, 2, 14))) == []
    assert search.search(SearchQuery(text="kaufleute", language="de"))
    assert search.search(SearchQuery(text="kaufleute", language="en")) == []
    ranked = search.search(SearchQuery(text="rook", limit=7))
    assert len(ranked) == 7
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)


def test_bad_queries_are_clear_errors(search: SqliteSearch) -> None:
    with pytest.raises(InvalidInput, match="nothing to search for"):
        search.search(SearchQuery(text='"" - *'))
    # FTS5 syntax in the input is just words
    assert search.search(SearchQuery(text="rook NEAR/2 OR -king ^")) is not None
    with pytest.raises(ValueError, match="language"):
        SearchQuery(text="rook", language="english; drop")


def test_a_store_made_before_search_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteResultStore(path)
    fill_with_samples(store, ("tq-sample01",))
    store.close()
    with sqlite3.connect(path) as db:  # as an older tubeq left it: no index at all
        for name in (
            "transcripts_search_insert",
            "transcripts_search_update",
            "transcripts_search_delete",
        ):
            db.execute(f"DROP TRIGGER {name}")
        db.execute("DROP TABLE transcript_segments_fts")
        db.execute("DROP TABLE transcript_segments")
    search = SqliteSearch(path)
    try:
        assert search.search(SearchQuery(text="lentils"))
    finally:
        search.close()


def test_a_forced_rerun_reindexes_and_the_factory_builds_it(results: Path) -> None:
    store = SqliteResultStore(results)
    with sqlite3.connect(results) as db:
        db.execute(
            'UPDATE transcripts SET segments = \'[{"start": 42.5, "duration": 3, '
            '"text": "zebra crossing"}]\' WHERE video_id = \'tq-sample01\''
        )
    store.close()
    search = build_search(Settings(results_backend="sqlite", results_path=results))
    try:
        assert search.name == "sqlite"
        assert [(h.video_id, h.at_s) for h in search.search(SearchQuery(text="zebra"))] == [
            ("tq-sample01", 42)
        ]
        assert search.search(SearchQuery(text="lentil")) == []
    finally:
        search.close()


def test_no_store_yet_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tubeq demo"):
        SqliteSearch(tmp_path / "nothing.sqlite3")
