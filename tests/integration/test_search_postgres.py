"""Full-text search on a real PostgreSQL (sql/011_search.sql): the demo's samples saved by
the Postgres result store, searched through ``PostgresSearch`` and, over PostgREST,
``SupabaseSearch``; hits link to the second the words are spoken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.postgres_search import PostgresSearch
from shared.errors import AccessDenied, InvalidInput
from shared.search import SearchQuery
from tests.support.postgres import PgCluster, pg_cluster, pg_dsn  # noqa: F401
from tests.support.search_data import fill_with_samples, sample_segments

pytestmark = pytest.mark.services
#: a caption line 1 h 53 min into the 2-hour lecture, and a phrase said only there
LINE = 1502
SPOKEN = "later, when Ibarra hurried and played a natural move without counting."
PHRASE = "when Ibarra hurried and played a natural move"


@pytest.fixture
def search(pg_dsn: str) -> Iterator[PostgresSearch]:  # noqa: F811
    store = PostgresResultStore(pg_dsn, pool_size=1, timeout_s=20)
    try:
        fill_with_samples(store)
    finally:
        store.close()
    s = PostgresSearch(pg_dsn, timeout_s=20)
    yield s
    s.close()


def test_a_phrase_in_the_two_hour_lecture_links_to_the_second_it_is_spoken(
    search: PostgresSearch,
) -> None:
    segment = sample_segments("tq-sample08")[LINE]
    assert segment["text"] == SPOKEN
    hits = search.search(SearchQuery(text=f'"{PHRASE}"'))
    assert [(h.video_id, h.at_s) for h in hits] == [("tq-sample08", int(segment["start"]))]
    hit = hits[0]
    assert hit.title == "Rook endgames: the complete lecture"
    assert hit.channel_title == "Signal & Noise"
    assert hit.url.endswith(f"&t={int(segment['start'])}s")
    assert "<mark>" in hit.snippet and "\x02" not in hit.snippet


def test_a_phrase_across_two_caption_lines_is_placed_where_it_starts(
    search: PostgresSearch,
) -> None:
    segments = sample_segments("tq-sample08")
    first, second = segments[LINE], segments[LINE + 1]
    phrase = " ".join(str(first["text"]).split()[-2:] + str(second["text"]).split()[:2])
    hits = search.search(SearchQuery(text=f'"{phrase}"', channel_id=None))
    assert ("tq-sample08", int(first["start"])) in [(h.video_id, h.at_s) for h in hits]


def test_stemming_follows_each_transcripts_language(search: PostgresSearch) -> None:
    # English: "endgames" is spoken, "endgame" finds it (and the other way round)
    english = search.search(SearchQuery(text="endgame", language="en", limit=5))
    assert english and all(h.video_id == "tq-sample08" for h in english)
    # German: the German stemmer folds "Kaufleuten" and "Kaufleute"
    german = search.search(SearchQuery(text="kaufleuten", language="de", limit=5))
    assert german and all(h.video_id == "tq-sample11" for h in german)
    assert "<mark>Kaufleute</mark>" in " ".join(h.snippet for h in german)


def test_prefix_and_filters(search: PostgresSearch) -> None:
    prefix = search.search(SearchQuery(text="endga*", limit=50))
    assert prefix and {h.video_id for h in prefix} == {"tq-sample08"}
    assert search.search(SearchQuery(text="endgame", channel_id="UC-not-a-channel")) == []
    assert search.search(SearchQuery(text="endgame", since=date(2030, 1, 1))) == []
    assert search.search(SearchQuery(text="endgame", language="de")) == []
    ranked = search.search(SearchQuery(text="rook", limit=10))
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)


def test_a_forced_rerun_with_other_segments_reindexes(
    search: PostgresSearch,
    pg_dsn: str,  # noqa: F811
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            'update transcripts set segments = \'[{"start": 42.5, "duration": 3, '
            '"text": "zebra crossing"}]\' where video_id = \'tq-sample01\''
        )
    hits = search.search(SearchQuery(text="zebra"))
    assert [(h.video_id, h.at_s) for h in hits] == [("tq-sample01", 42)]


def test_a_query_without_words_is_a_clear_error(search: PostgresSearch) -> None:
    with pytest.raises(InvalidInput, match="nothing to search for"):
        search.search(SearchQuery(text='"" * -'))


def test_supabase_search_is_the_same_function_over_postgrest(
    search: PostgresSearch,
    pg_dsn: str,  # noqa: F811
) -> None:
    from shared.adapters.supabase_search import SupabaseSearch
    from tests.support.postgrest_stub import PostgrestStub, anon_key, service_role_key

    with PostgrestStub(pg_dsn) as stub:
        supabase = SupabaseSearch(stub.url, service_role_key(), timeout_s=10)
        try:
            hits = supabase.search(SearchQuery(text=f'"{PHRASE}"', language="en"))
        finally:
            supabase.close()
        assert [(h.video_id, h.at_s) for h in hits] == [("tq-sample08", 6807)]
        assert "<mark>" in hits[0].snippet
        (request,) = stub.requests
        assert request.path.endswith("/rpc/tubeq_search_segments")
        assert set(request.body) == {"p_query", "p_channel_id", "p_since", "p_language", "p_limit"}
        # the public key reads nothing (grants and RLS as on Supabase)
        anon = SupabaseSearch(stub.url, anon_key(), timeout_s=10)
        try:
            with pytest.raises(AccessDenied, match="permission denied for function"):
                anon.search(SearchQuery(text="rook"))
        finally:
            anon.close()
