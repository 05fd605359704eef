"""The full-text search contract: one suite every ``shared.ports.Search`` adapter keeps.

An adapter's test module subclasses ``SearchContract`` and provides a ``harness`` fixture
returning a ``SearchHarness``: a result store of the adapter's engine filled with the
bundled samples (``tests.support.search_data``: English, German and Spanish, the 2-hour
lecture among them), written by the result store itself as the pipeline writes it, and
searches built on it. What differs between engines is declared, never copied:

- ``stems_by_language``: Postgres stems each transcript with its language's stemmer
  ("Kaufleuten" finds "Kaufleute"); FTS5's porter stemmer is English's for every language;
- ``folds_diacritics``: FTS5 (``remove_diacritics 2``) finds "café" as "cafe" in any
  language; on Postgres only the stemmers that drop accents themselves (Spanish's) do.

The port's promises pinned here: a hit is the segment where the words are spoken (its
second, its video's card, its words marked in escaped HTML), best first, at most
``limit``, one hit per (video, second); the filters (channel, since, language, where ``en``
matches ``en-GB``); a query is only words, whatever the user typed; a query with no word in
it is ``InvalidInput``; and the index follows the store: a redelivered video adds no hit, a
forced re-run with other segments replaces the old ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Protocol

import pytest

from shared.errors import InvalidInput
from shared.factory import build_search
from shared.models import Segment, VideoResult
from shared.ports import ResultWriter, Search
from shared.search import MAX_LIMIT, SearchHit, SearchQuery
from shared.settings import Settings
from tests.support import factories as f
from tests.support.search_data import sample_segments

LECTURE = "tq-sample08"  # "Rook endgames: the complete lecture", 2 hours, English
SOUP = "tq-sample01"  # English, another channel
HANSE = "tq-sample11"  # German
VALPARAISO = "tq-sample13"  # Spanish
#: a caption line 1 h 53 min into the lecture, and a phrase said only there
LINE = 1502
SPOKEN = "later, when Ibarra hurried and played a natural move without counting."
PHRASE = "when Ibarra hurried and played a natural move"
LECTURE_CHANNEL = "UCjwzqwIAGtUNwjXt0ke2Usj"
LECTURE_DAY = date(2026, 2, 13)


class SearchHarness(Protocol):
    #: the adapter's ``name``
    name: str
    #: whether words are stemmed in each transcript's own language (else: English rules)
    stems_by_language: bool
    #: whether "cafe" finds "café" in an English transcript
    folds_diacritics: bool

    @property
    def writer(self) -> ResultWriter:
        """The result store the search reads, on the same file or database."""
        ...

    @property
    def settings(self) -> Settings:
        """Settings that select this store (``shared.factory.build_search`` reads them)."""
        ...

    def make(self) -> Search:
        """A new search over the store filled with the samples."""
        ...

    def make_empty(self) -> Search:
        """A new search over a store with nothing in it yet (schema made)."""
        ...


def at(hits: list[SearchHit]) -> list[tuple[str, int]]:
    return [(h.video_id, h.at_s) for h in hits]


def start(video_id: str, line: int) -> int:
    return int(sample_segments(video_id)[line]["start"])


def rerun_with(writer: ResultWriter, video_id: str, segments: tuple[Segment, ...]) -> None:
    """Record ``video_id`` again, as a forced re-run would, with other caption lines."""
    transcript = f.transcript(video_id, segments=segments)
    writer.record_success(
        VideoResult(
            video=f.meta(video_id),
            transcript=transcript,
            analysis=f.analysis(video_id, version="contract:rerun"),
        )
    )


class SearchContract:
    """Subclass as ``Test<Adapter>Search`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def search(self, harness: SearchHarness) -> Iterator[Search]:
        built = harness.make()
        yield built
        built.close()

    # ---- the port ---------------------------------------------------------------------
    def test_implements_the_port(self, harness: SearchHarness, search: Search) -> None:
        assert isinstance(search, Search)
        assert search.name == harness.name

    def test_an_empty_store_finds_nothing(self, harness: SearchHarness) -> None:
        empty = harness.make_empty()
        try:
            assert empty.search(SearchQuery(text="rook")) == []
        finally:
            empty.close()

    def test_the_factory_builds_this_search_from_settings(self, harness: SearchHarness) -> None:
        built = build_search(harness.settings)  # full-text only: no embedding backend set
        try:
            assert built.name == harness.name
            probe = harness.make()
            assert type(built.fulltext) is type(probe)
            probe.close()
            hits = built.search(SearchQuery(text=f'"{PHRASE}"'))
            assert at(hits) == [(LECTURE, start(LECTURE, LINE))]
        finally:
            built.close()

    def test_close_twice_is_harmless(self, harness: SearchHarness) -> None:
        search = harness.make()
        search.search(SearchQuery(text="rook", limit=1))
        search.close()
        search.close()

    # ---- where the words are spoken ---------------------------------------------------
    def test_a_phrase_links_to_the_second_it_is_spoken(self, search: Search) -> None:
        assert sample_segments(LECTURE)[LINE]["text"] == SPOKEN
        hits = search.search(SearchQuery(text=f'"{PHRASE}"'))
        second = start(LECTURE, LINE)
        assert at(hits) == [(LECTURE, second)]
        hit = hits[0]
        assert hit.title == "Rook endgames: the complete lecture"
        assert (hit.channel_id, hit.channel_title) == (LECTURE_CHANNEL, "Signal & Noise")
        assert hit.language == "en"
        assert hit.published_at is not None and hit.published_at.date() == LECTURE_DAY
        assert hit.url == f"https://www.youtube.com/watch?v={LECTURE}&t={second}s"
        assert hit.passage == "transcript" and hit.matched_by == ["fulltext"]
        assert "<mark>" in hit.snippet and "\x02" not in hit.snippet and "\x03" not in hit.snippet
        assert "Ibarra hurried" in hit.text  # the words indexed, plain

    def test_a_phrase_across_two_caption_lines_is_placed_where_it_starts(
        self, search: Search
    ) -> None:
        segments = sample_segments(LECTURE)
        first, second = segments[LINE], segments[LINE + 1]
        phrase = " ".join(str(first["text"]).split()[-2:] + str(second["text"]).split()[:2])
        hits = search.search(SearchQuery(text=f'"{phrase}"'))
        assert at(hits) == [(LECTURE, int(first["start"]))]

    def test_words_of_the_next_line_are_one_hit_at_that_line(self, search: Search) -> None:
        # the row of LINE - 1 indexes LINE's words too, as its next words: still one hit,
        # at the line that says them
        hits = search.search(SearchQuery(text="ibarra hurried"))
        assert at(hits) == [(LECTURE, start(LECTURE, LINE))]

    def test_one_hit_per_video_and_second_best_first(self, search: Search) -> None:
        hits = search.search(SearchQuery(text="rook", limit=MAX_LIMIT))
        assert len(hits) > 20
        assert len(set(at(hits))) == len(hits)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)

    def test_the_limit_is_kept(self, search: Search) -> None:
        assert len(search.search(SearchQuery(text="rook", limit=7))) == 7
        assert len(search.search(SearchQuery(text="rook", limit=1))) == 1
        top = search.search(SearchQuery(text="rook", limit=5))
        assert at(top) == at(search.search(SearchQuery(text="rook", limit=20)))[:5]

    # ---- words ------------------------------------------------------------------------
    def test_english_words_match_their_other_forms(self, search: Search) -> None:
        singular = search.search(SearchQuery(text="endgame", limit=MAX_LIMIT))
        plural = search.search(SearchQuery(text="endgames", limit=MAX_LIMIT))
        assert singular and {h.video_id for h in singular} == {LECTURE}
        assert {h.at_s for h in singular} == {h.at_s for h in plural}
        said = [s for s in sample_segments(LECTURE) if re.search(r"(?i)\bendgames?\b", s["text"])]
        assert sorted(h.at_s for h in singular) == sorted(int(s["start"]) for s in said)

    def test_a_prefix_finds_every_word_it_starts(self, search: Search) -> None:
        lecture = search.search(SearchQuery(text="endga*", limit=MAX_LIMIT))
        assert lecture and {h.video_id for h in lecture} == {LECTURE}
        german = search.search(SearchQuery(text="kaufleu*", limit=5))
        assert german and {h.video_id for h in german} == {HANSE}
        assert "<mark>Kaufleute</mark>" in " ".join(h.snippet for h in german)

    def test_words_are_stemmed_in_the_transcripts_language_where_declared(
        self, harness: SearchHarness, search: Search
    ) -> None:
        # "Kaufleuten" is said once, "Kaufleute" 24 times: only a German stemmer joins them
        hits = search.search(SearchQuery(text="kaufleuten", language="de", limit=50))
        assert hits and {h.video_id for h in hits} == {HANSE}
        if harness.stems_by_language:
            assert len(hits) > 1
            assert "<mark>Kaufleute</mark>" in " ".join(h.snippet for h in hits)
        else:
            assert len(hits) == 1

    def test_accents_are_folded_where_declared(
        self, harness: SearchHarness, search: Search
    ) -> None:
        # Spanish: its stemmer drops the accents on Postgres too, so both spellings find it
        for text in ("valparaíso", "valparaiso"):
            assert {h.video_id for h in search.search(SearchQuery(text=text))} == {VALPARAISO}
        vid = f.video_id(93)
        line = Segment(start=7.0, duration=2.0, text="Meet me at the café on the corner.")
        harness.writer.record_success(
            VideoResult(
                video=f.meta(vid),
                transcript=f.transcript(vid, segments=(line,)),
                analysis=f.analysis(vid),
            )
        )
        assert at(search.search(SearchQuery(text="café"))) == [(vid, 7)]
        folded = at(search.search(SearchQuery(text="cafe")))
        assert folded == ([(vid, 7)] if harness.folds_diacritics else [])

    def test_terms_are_anded_unless_any_terms(self, search: Search) -> None:
        both = SearchQuery(text="rook kaufleute", limit=MAX_LIMIT)
        assert search.search(both) == []  # no line says both
        either = search.search(both.model_copy(update={"any_terms": True}))
        assert {h.video_id for h in either} == {LECTURE, HANSE}

    def test_a_word_nobody_says_finds_nothing(self, search: Search) -> None:
        assert search.search(SearchQuery(text="xylophonist")) == []

    # ---- filters ----------------------------------------------------------------------
    def test_the_channel_filter(self, search: Search) -> None:
        assert search.search(SearchQuery(text="rook", channel_id=LECTURE_CHANNEL))
        assert search.search(SearchQuery(text="rook", channel_id="UC-someone-else")) == []
        soup = search.search(SearchQuery(text="soup", channel_id="UCBXtYwd-gnTDMPtqsKEefrj"))
        assert soup and {h.video_id for h in soup} == {SOUP}

    def test_the_since_filter_counts_the_whole_day(self, search: Search) -> None:
        assert search.search(SearchQuery(text="rook", since=LECTURE_DAY))
        after = LECTURE_DAY + timedelta(days=1)
        assert search.search(SearchQuery(text="rook", since=after)) == []

    def test_the_language_filter_matches_regional_variants(self, search: Search) -> None:
        assert search.search(SearchQuery(text="kaufleute", language="de"))
        assert search.search(SearchQuery(text="kaufleute", language="en")) == []
        assert search.search(SearchQuery(text="kaufleute", language="DE"))  # any case
        assert search.search(SearchQuery(text="rook", language="es")) == []

    def test_a_regional_transcript_is_found_by_its_language(
        self, harness: SearchHarness, search: Search
    ) -> None:
        vid = f.video_id(90)
        line = Segment(start=12.0, duration=3.0, text="The zebra crossing at Abbey Road.")
        writer = harness.writer
        writer.record_success(
            VideoResult(
                video=f.meta(vid),
                transcript=f.transcript(vid, language="en-GB", segments=(line,)),
                analysis=f.analysis(vid),
            )
        )
        for language in ("en", "en-GB", "en-gb"):
            hits = search.search(SearchQuery(text="zebra", language=language))
            assert at(hits) == [(vid, 12)], language
            assert hits[0].language == "en-GB"
        assert search.search(SearchQuery(text="zebra", language="en-US")) == []

    # ---- input ------------------------------------------------------------------------
    def test_a_query_without_words_is_a_clear_error(self, search: Search) -> None:
        for text in ('"" - *', "***", "&|!():"):
            with pytest.raises(InvalidInput, match="nothing to search for"):
                search.search(SearchQuery(text=text))

    def test_engine_syntax_in_a_query_is_only_words(self, search: Search) -> None:
        plain = at(search.search(SearchQuery(text="ibarra pawn", limit=MAX_LIMIT)))
        assert 0 < len(plain) < MAX_LIMIT
        for text in (
            "ibarra -pawn",  # FTS5's NOT, a tsquery negation
            "ibarra & pawn",
            "(ibarra | pawn)",
            "ibarra: pawn^ !",
            "'ibarra' <-> pawn",
        ):
            assert at(search.search(SearchQuery(text=text, limit=MAX_LIMIT))) == plain, text
        # FTS5's column filter and NEAR are words too: nothing says them, nothing breaks
        assert search.search(SearchQuery(text="body:ibarra NEAR/2 pawn")) == []

    def test_snippets_are_escaped_html(self, harness: SearchHarness, search: Search) -> None:
        vid = f.video_id(91)
        line = Segment(start=3.0, duration=2.0, text='Bakers & <b>cooks</b> say "zebra" <script>')
        harness.writer.record_success(
            VideoResult(
                video=f.meta(vid),
                transcript=f.transcript(vid, segments=(line,)),
                analysis=f.analysis(vid),
            )
        )
        (hit,) = search.search(SearchQuery(text="zebra"))
        # safe HTML: the match marked, the rest escaped (Postgres' ts_headline leaves the
        # tags out of the snippet, FTS5 keeps them as text: either way none reaches a page)
        assert "<mark>zebra</mark>" in hit.snippet, hit.snippet
        assert "Bakers &amp;" in hit.snippet and "cooks" in hit.snippet, hit.snippet
        assert "<b>" not in hit.snippet and "<script>" not in hit.snippet, hit.snippet
        assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
        assert hit.text == line.text  # the plain words, as spoken

    # ---- the index follows the store ----------------------------------------------------
    def test_a_redelivered_video_adds_no_hit(self, harness: SearchHarness, search: Search) -> None:
        vid = f.video_id(92)
        lines = (
            Segment(start=1.0, duration=2.0, text="The quokka smiles."),
            Segment(start=4.0, duration=2.0, text="Nothing else here."),
        )
        for _ in range(2):  # at-least-once: the same result recorded twice
            rerun_with(harness.writer, vid, lines)
        assert at(search.search(SearchQuery(text="quokka"))) == [(vid, 1)]

    def test_a_forced_rerun_with_other_segments_replaces_its_hits(
        self, harness: SearchHarness, search: Search
    ) -> None:
        assert search.search(SearchQuery(text="lentil", channel_id=None))
        new = (Segment(start=42.5, duration=3.0, text="zebra crossing"),)
        rerun_with(harness.writer, SOUP, new)
        assert at(search.search(SearchQuery(text="zebra"))) == [(SOUP, 42)]
        assert [h for h in search.search(SearchQuery(text="lentil")) if h.video_id == SOUP] == []
        # a search built afterwards sees the same
        again = harness.make()
        try:
            assert at(again.search(SearchQuery(text="zebra"))) == [(SOUP, 42)]
        finally:
            again.close()
