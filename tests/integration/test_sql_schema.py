"""The sql/ migrations on a real PostgreSQL 15: applying, re-applying, refusing edits,
the record functions' idempotency, RLS per role (and the analyst claim), the analyst views,
full-text search (long transcripts too) and the analysis claim."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shared.migrations import (
    MigrationError,
    connect,
    load_migrations,
    migrate,
    record_public_url,
    status,
)
from shared.models import Segment, Usage, VideoResult, VideoState
from tests.support import factories as f
from tests.support.postgres import PgCluster, pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services

TABLES = (
    "channels",
    "videos",
    "transcripts",
    "analyses",
    "artifacts",
    "failures",
    "transcript_chunks",
    "model_calls",
)
#: the JWT claims of a signed-in analyst, as PostgREST hands them to the database
ANALYST = {"role": "authenticated", "app_metadata": {"role": "analyst"}}
VIEWS = (
    "channel_overview",
    "recent_analyses",
    "failures_needing_attention",
    "topics_by_month",
    "spend_by_day",
    "artifact_links",
)


@pytest.fixture
def empty_dsn(pg_cluster: PgCluster) -> Iterator[str]:  # noqa: F811
    """A database with nothing applied (cloned from template0)."""
    name = pg_cluster.create_database(template="template0")
    try:
        yield pg_cluster.dsn(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def db(pg_dsn: str) -> Iterator[psycopg.Connection[Any]]:  # noqa: F811
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        yield conn


def as_role(
    conn: psycopg.Connection[Any],
    role: str,
    query: str,
    *params: Any,
    claims: dict[str, Any] | None = None,
) -> list[Any]:
    """Run one statement as ``role`` with these JWT claims (as PostgREST does per request:
    ``SET LOCAL ROLE`` and ``request.jwt.claims``), rolled back after."""
    with conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL ROLE {role}")
        if claims is not None:
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        cur = conn.execute(query, params or None)
        return cur.fetchall() if cur.description else []


def as_analyst(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[Any]:
    return as_role(conn, "authenticated", query, *params, claims=ANALYST)


def record(conn: psycopg.Connection[Any], result: VideoResult) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL ROLE service_role")
        conn.execute("SELECT tubeq_record_success(%s)", (Jsonb(result.model_dump(mode="json")),))


def snapshot(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in TABLES:
        cur = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
        out[table] = cur.fetchall()
    return out


# ---- migrations ------------------------------------------------------------------------


def test_migrations_apply_from_empty_then_are_a_no_op(empty_dsn: str) -> None:
    files = load_migrations()
    assert [m.name for m in files][:2] == ["001_roles_and_extensions.sql", "002_tables.sql"]
    conn = connect(empty_dsn)
    try:
        assert [s.state for s in status(conn, files)] == ["pending"] * len(files)
        assert migrate(conn, files) == [m.name for m in files]
        assert migrate(conn, files) == []  # re-run: nothing to do
        assert {s.state for s in status(conn, files)} == {"applied"}
        rows = conn.execute("SELECT name, checksum FROM tubeq_migrations ORDER BY name")
        assert rows.fetchall() == [(m.name, m.checksum) for m in files]
        for table in TABLES:
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (table,)
    finally:
        conn.close()


def test_a_changed_migration_is_refused(empty_dsn: str) -> None:
    files = load_migrations()
    conn = connect(empty_dsn)
    try:
        migrate(conn, files)
        edited = [*files[:1], replace(files[1], sql=files[1].sql + "\n-- edited later\n")]
        with pytest.raises(MigrationError, match=r"002_tables\.sql was changed after"):
            migrate(conn, edited + files[2:])
        states = [s.state for s in status(conn, edited + files[2:])]
        assert states == ["applied", "changed"] + ["applied"] * (len(files) - 2)
    finally:
        conn.close()


def test_a_failing_migration_leaves_nothing_behind(empty_dsn: str) -> None:
    files = load_migrations()
    broken = replace(
        files[0], name="999_broken.sql", sql="CREATE TABLE half_done (x int); SELECT 1/0;"
    )
    conn = connect(empty_dsn)
    try:
        with pytest.raises(MigrationError, match=r"999_broken\.sql"):
            migrate(conn, [*files, broken])
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
        assert migrate(conn, files) == []  # the good ones were kept
    finally:
        conn.close()


def test_two_runners_at_once_apply_each_migration_once(empty_dsn: str) -> None:
    applied: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        conn = connect(empty_dsn)
        try:
            applied.append(migrate(conn))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    names = sorted(n for batch in applied for n in batch)
    assert names == sorted(m.name for m in load_migrations())


# ---- the record function ----------------------------------------------------------------


def test_record_success_is_idempotent(db: psycopg.Connection[Any]) -> None:
    result = f.result(n=1)
    record(db, result)
    first = snapshot(db)
    record(db, result)
    assert snapshot(db) == first
    assert [len(first[t]) for t in TABLES] == [1, 1, 1, 1, 2, 0, 1, 0]
    (text, words) = db.execute("SELECT text, word_count FROM transcripts").fetchone() or (0, 0)
    assert text == result.transcript.text
    assert words == result.transcript.word_count
    (chunk_text, exact, stem) = db.execute(
        "SELECT text, search_exact::text, search_stem::text FROM transcript_chunks"
    ).fetchone() or ("", "", "")
    assert chunk_text == " ".join(result.transcript.text.split())
    assert "'idempotent'" in exact and "'idempot'" not in exact  # exact words only
    assert "'idempot'" in stem  # the english stem


def test_record_success_rejects_a_payload_that_mixes_videos(db: psycopg.Connection[Any]) -> None:
    result = f.result(n=1)
    mixed = result.model_copy(update={"analysis": f.analysis(f.video_id(2))})
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="mixes videos"):
        record(db, mixed)


# ---- row level security -----------------------------------------------------------------


def test_rls_is_on_for_every_table_and_views_are_security_invoker(
    db: psycopg.Connection[Any],
) -> None:
    rows = db.execute(
        "SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY(%s)", (list(TABLES),)
    ).fetchall()
    assert dict(rows) == dict.fromkeys(TABLES, True)
    for view in VIEWS:
        (options,) = db.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", (view,)
        ).fetchone() or (None,)
        assert options is not None and "security_invoker=true" in options


def test_anon_gets_nothing(db: psycopg.Connection[Any]) -> None:
    record(db, f.result(n=1))
    for relation in TABLES + VIEWS:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(db, "anon", f"SELECT * FROM {relation}")
    for call in (
        "tubeq_get_video('x')",
        "tubeq_progress()",
        "tubeq_search('queues')",
        "tubeq_video_states(ARRAY['x'])",
        "tubeq_channels()",
        "tubeq_finished_since(now())",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(db, "anon", f"SELECT {call}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(
            db,
            "anon",
            "SELECT tubeq_record_success(%s)",
            Jsonb(f.result(n=2).model_dump(mode="json")),
        )


def test_authenticated_reads_but_cannot_write(db: psycopg.Connection[Any]) -> None:
    record(db, f.result(n=1))
    for table in TABLES:
        if table not in ("failures", "model_calls"):  # a success records neither
            assert as_analyst(db, f"SELECT count(*) FROM {table}")[0][0] >= 1, table
    assert as_analyst(db, "SELECT videos FROM channel_overview") == [(1,)]
    status = as_analyst(db, "SELECT tubeq_get_video(%s)", f.video_id(1))
    assert status[0][0]["state"] == "done"
    states = as_analyst(db, "SELECT tubeq_video_states(%s)", [f.video_id(1), "unknown0000"])
    assert states[0][0] == {f.video_id(1): "done"}
    # the dashboard's reads (019): security invoker, so an analyst sees what RLS shows
    channels = as_analyst(db, "SELECT tubeq_channels()")[0][0]
    assert [(c["channel_id"], c["videos"]) for c in channels] == [
        (f.result(n=1).video.channel_id, 1)
    ]
    finished = as_analyst(db, "SELECT tubeq_finished_since('-infinity')")[0][0]
    assert len(finished) == 1
    payload = Jsonb(f.result(n=2).model_dump(mode="json"))
    for write in (
        "SELECT tubeq_record_success(%s)",
        "UPDATE videos SET state = 'failed' WHERE %s IS NOT NULL",
        "DELETE FROM analyses WHERE %s IS NOT NULL",
        "INSERT INTO channels (channel_id) SELECT 'UCx' WHERE %s IS NOT NULL",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_analyst(db, write, payload)


def test_a_signed_in_user_who_is_not_an_analyst_reads_nothing(
    db: psycopg.Connection[Any],
) -> None:
    # On Supabase anyone who signs up with the anon key is `authenticated`; without the
    # app_metadata role 'analyst' (which only the project's admins can set) RLS hides all.
    record(db, f.result(n=1))
    assert as_analyst(db, "SELECT count(*) FROM videos") == [(1,)]  # the control
    strangers: list[dict[str, Any] | None] = [
        None,  # no JWT at all
        {"role": "authenticated", "sub": "a-new-sign-up"},
        {"role": "authenticated", "user_metadata": {"role": "analyst"}},  # user-editable
        {"role": "authenticated", "app_metadata": {"role": "viewer"}},
    ]
    for claims in strangers:
        for relation in TABLES + VIEWS:
            rows = as_role(db, "authenticated", f"SELECT count(*) FROM {relation}", claims=claims)
            assert rows == [(0,)], (relation, claims)
        assert as_role(
            db, "authenticated", "SELECT tubeq_get_video(%s)", f.video_id(1), claims=claims
        ) == [(None,)]
        assert (
            as_role(db, "authenticated", "SELECT * FROM tubeq_search('idempotent')", claims=claims)
            == []
        )
        for reader in ("tubeq_channels()", "tubeq_finished_since('-infinity')"):
            rows = as_role(db, "authenticated", f"SELECT {reader}", claims=claims)
            assert rows == [([],)], (reader, claims)


def test_service_role_writes_through_the_functions_and_tables(
    db: psycopg.Connection[Any],
) -> None:
    payload = Jsonb(f.failure(f.video_id(3), state=VideoState.FAILED).model_dump(mode="json"))
    as_role(db, "service_role", "SELECT tubeq_record_failure(%s)", payload)  # rolled back
    with db.transaction():
        db.execute("SET LOCAL ROLE service_role")
        db.execute("SELECT tubeq_record_failure(%s)", (payload,))
        db.execute("UPDATE videos SET title = 'renamed' WHERE video_id = %s", (f.video_id(3),))
    assert db.execute("SELECT state, title FROM videos").fetchall() == [("failed", "renamed")]
    assert db.execute("SELECT count(*) FROM failures").fetchone() == (1,)


def test_rls_filters_rows_for_a_role_without_a_policy(db: psycopg.Connection[Any]) -> None:
    # grants alone are not enough: a role with SELECT but no policy sees no rows
    record(db, f.result(n=1))
    db.execute("DROP ROLE IF EXISTS tubeq_no_policy")
    db.execute("CREATE ROLE tubeq_no_policy NOLOGIN")
    try:
        db.execute("GRANT SELECT ON videos TO tubeq_no_policy")
        assert as_role(db, "tubeq_no_policy", "SELECT count(*) FROM videos") == [(0,)]
    finally:
        db.execute("REVOKE ALL ON videos FROM tubeq_no_policy")
        db.execute("DROP ROLE tubeq_no_policy")


# ---- analyst views ---------------------------------------------------------------------


def _load_channel(db: psycopg.Connection[Any]) -> None:
    cheap = Usage(prompt_tokens=100, output_tokens=10, model_calls=1, cost_usd=0.25)
    dear = Usage(prompt_tokens=300, output_tokens=30, model_calls=1, cost_usd=0.5)
    a, b = f.video_id(1), f.video_id(2)
    record(db, f.result(a, analysis_=f.analysis(a, usage_=cheap, topics=["queues", "retries"])))
    record(
        db,
        f.result(
            b,
            n=2,
            analysis_=f.analysis(
                b, usage_=dear, topics=["queues"], created_at=f.T0 + timedelta(hours=1)
            ),
        ),
    )
    for payload in (
        f.failure(f.video_id(3), state=VideoState.DEAD, attempts=4, video=f.meta(f.video_id(3))),
        f.failure(f.video_id(4), state=VideoState.RETRYING, attempts=1),
    ):
        with db.transaction():
            db.execute("SET LOCAL ROLE service_role")
            db.execute("SELECT tubeq_record_failure(%s)", (Jsonb(payload.model_dump(mode="json")),))


def test_channel_overview(db: psycopg.Connection[Any]) -> None:
    _load_channel(db)
    rows = as_analyst(
        db,
        "SELECT channel_id, title, videos, analysed, failed, pending, total_cost_usd, top_topics"
        " FROM channel_overview",
    )
    assert rows == [
        (f.CHANNEL_ID, f.CHANNEL_TITLE, 3, 2, 1, 0, pytest.approx(0.75), ["queues", "retries"])
    ]


def test_recent_analyses_and_failures_needing_attention(db: psycopg.Connection[Any]) -> None:
    _load_channel(db)
    recent = as_analyst(db, "SELECT video_id, channel_title FROM recent_analyses")
    assert recent == [(f.video_id(2), f.CHANNEL_TITLE), (f.video_id(1), f.CHANNEL_TITLE)]
    attention = as_analyst(
        db,
        "SELECT video_id, state, attempts, failure_count FROM failures_needing_attention",
    )
    assert attention == [(f.video_id(3), "dead", 4, 1)]  # a first retry is not news
    months = as_analyst(db, "SELECT topic, sum(videos) FROM topics_by_month GROUP BY 1 ORDER BY 1")
    assert months == [("queues", 2), ("retries", 1)]


def test_analyst_views_link_artifacts_through_the_public_url(db: psycopg.Connection[Any]) -> None:
    vid = f.video_id(1)
    record(db, f.result(vid))
    # without a public URL the links are null, not wrong
    assert as_analyst(db, "SELECT url FROM artifact_links WHERE video_id = %s", vid) == [
        (None,),
        (None,),
    ]
    assert record_public_url(db, "https://tubeq.example.workers.dev/")
    assert not record_public_url(db, None)  # unset: what is recorded stays
    links = as_analyst(db, "SELECT kind, url FROM artifact_links WHERE video_id = %s", vid)
    base = f"https://tubeq.example.workers.dev/v1/videos/{vid}/artifacts"
    assert sorted(links) == [
        ("report_md", f"{base}/report_md"),
        ("transcript_json", f"{base}/transcript_json"),
    ]
    assert as_analyst(db, "SELECT report_url FROM recent_analyses") == [(f"{base}/report_md",)]
    # an analyst reads the configuration but cannot change where the links point; anon
    # sees none of it
    assert db.execute(
        "SELECT relrowsecurity FROM pg_class WHERE relname = 'tubeq_config'"
    ).fetchone() == (True,)
    for relation in ("tubeq_config", "artifact_links"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(db, "anon", f"SELECT * FROM {relation}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_analyst(db, "UPDATE tubeq_config SET value = 'https://evil.example'")
    assert record_public_url(db, "https://api.example.org")
    assert as_analyst(db, "SELECT report_url FROM recent_analyses") == [
        (f"https://api.example.org/v1/videos/{vid}/artifacts/report_md",)
    ]


# ---- full-text search ------------------------------------------------------------------


def _german_result() -> VideoResult:
    vid = f.video_id(8)
    lines = [
        "Die Energiewende braucht mehr Windräder im Süden.",
        "Das sagte die Ministerin am Montag in Berlin.",
    ]
    segs = tuple(Segment(start=i * 5.0, duration=4.5, text=t) for i, t in enumerate(lines))
    transcript = f.transcript(vid, language="de", segments=segs)
    analysis = f.analysis(vid, language="de", summary="Mehr Windräder für die Energiewende.")
    return f.result(vid).model_copy(update={"transcript": transcript, "analysis": analysis})


def test_full_text_search_finds_a_phrase(db: psycopg.Connection[Any]) -> None:
    record(db, f.result(n=1))
    record(db, _german_result())
    query = "SELECT video_id, snippet FROM tubeq_search(%s, %s)"
    hits = as_analyst(db, query, '"every step must be idempotent"', f.CHANNEL_ID)
    assert [h[0] for h in hits] == [f.video_id(1)]
    assert "<b>idempotent</b>" in hits[0][1]
    assert as_analyst(db, query, '"step must idempotent every"', f.CHANNEL_ID) == []
    assert as_analyst(db, query, '"every step"', "UCsomeOtherChannel") == []


def test_full_text_search_in_german(db: psycopg.Connection[Any]) -> None:
    record(db, f.result(n=1))
    record(db, _german_result())
    query = "SELECT video_id FROM tubeq_search(%s, p_config => %s::regconfig)"
    # exact words, any language
    assert as_analyst(db, query, '"mehr Windräder"', "simple") == [(f.video_id(8),)]
    # german stemming: the singular finds the plural, stop words are skipped in phrases
    assert as_analyst(db, query, '"Windrad im Süden"', "german") == [(f.video_id(8),)]
    assert as_analyst(db, query, '"Windräder im Norden"', "german") == []
    assert as_analyst(db, query, "Windkraft", "simple") == []
    # summaries are searchable too
    summaries = as_analyst(
        db,
        "SELECT video_id FROM analyses"
        " WHERE search_stem @@ websearch_to_tsquery('german', 'Windrad')",
    )
    assert summaries == [(f.video_id(8),)]


# ---- long transcripts: past a tsvector's 16383-position cap ---------------------------

_FILLER_DE = [
    "Heute sprechen wir über Netze, Speicher und den Ausbau der Leitungen.",
    "Viele Gemeinden planen neue Anlagen, doch die Genehmigung dauert lange.",
    "Die Kosten sinken seit Jahren, und die Nachfrage nach Strom steigt weiter.",
]


def _long_german_result(words_before_end: int) -> VideoResult:
    """A two-hour-sized German transcript whose last line holds the phrase."""
    vid = f.video_id(9)
    lines: list[str] = []
    count = 0
    while count < words_before_end:
        line = _FILLER_DE[len(lines) % len(_FILLER_DE)] + f" Abschnitt {len(lines)}."
        lines.append(line)
        count += len(line.split())
    lines.append("Am Ende drehen sich die Windräder im Süden schneller als gedacht.")
    segs = tuple(Segment(start=i * 4.0, duration=3.9, text=t) for i, t in enumerate(lines))
    transcript = f.transcript(vid, language="de", segments=segs)
    return f.result(vid).model_copy(update={"transcript": transcript})


def test_a_phrase_at_the_end_of_a_two_hour_transcript_is_found_both_ways(
    db: psycopg.Connection[Any],
) -> None:
    result = _long_german_result(17_500)
    assert result.transcript.word_count > 17_000  # past 16383 even for the exact words
    record(db, result)
    query = "SELECT video_id, at_s, snippet FROM tubeq_search(%s, p_config => %s::regconfig)"
    exact = as_analyst(db, query, '"die Windräder im Süden"', "simple")
    assert [h[0] for h in exact] == [result.video.video_id]
    assert "<b>Windräder</b>" in exact[0][2]
    stemmed = as_analyst(db, query, '"Windrad im Süden"', "german")
    assert [h[0] for h in stemmed] == [result.video.video_id]
    # at_s points into the last part of the video, not at its start
    assert stemmed[0][1] > result.transcript.duration_s * 0.9
    # still a phrase search, not a bag of words: both words occur, not in this order
    assert as_analyst(db, query, '"Süden Windräder"', "simple") == []
    assert as_analyst(db, query, '"Windräder im Norden"', "german") == []
    # every chunk stays far below the caps
    (chunks, longest) = db.execute(
        "SELECT count(*), max(length(search_exact)) FROM transcript_chunks"
    ).fetchone() or (0, 0)
    assert chunks >= 17 and longest < 2000


def test_a_phrase_across_a_chunk_boundary_is_found(db: psycopg.Connection[Any]) -> None:
    vid = f.video_id(10)
    # 999 words, then a phrase whose words 1000..1003 straddle chunks 0 and 1
    words = [f"wort{i}" for i in range(999)] + ["zebra", "giraffe", "okapi", "tapir"]
    segs = tuple(
        Segment(start=float(i), duration=1.0, text=" ".join(words[i : i + 7]))
        for i in range(0, len(words), 7)
    )
    result = f.result(vid).model_copy(
        update={"transcript": f.transcript(vid, language="de", segments=segs)}
    )
    record(db, result)
    assert db.execute("SELECT count(*) FROM transcript_chunks").fetchone() == (2,)
    query = "SELECT video_id FROM tubeq_search(%s, p_config => %s::regconfig)"
    assert as_analyst(db, query, '"wort998 zebra giraffe okapi"', "simple") == [(vid,)]
    assert as_analyst(db, query, '"wort998 zebra giraffe okapi"', "german") == [(vid,)]


# ---- re-recording writes only what changed ---------------------------------------------


def _xmin(db: psycopg.Connection[Any], table: str, key: str, value: str) -> str:
    row = db.execute(f"SELECT xmin::text FROM {table} WHERE {key} = %s", (value,)).fetchone()
    assert row is not None
    return str(row[0])


def test_recording_again_neither_rewrites_nor_locks_the_channel(
    db: psycopg.Connection[Any],
    pg_dsn: str,  # noqa: F811
) -> None:
    first, second = f.result(n=1), f.result(n=2)
    record(db, first)
    channel_version = _xmin(db, "channels", "channel_id", f.CHANNEL_ID)
    transcript_version = _xmin(db, "transcripts", "video_id", f.video_id(1))
    with psycopg.connect(pg_dsn) as blocker:
        # the lock an upsert of the channel row takes: another writer of this channel
        # mid-transaction (new videos' foreign-key checks only need KEY SHARE, no conflict)
        blocker.execute("SELECT 1 FROM channels FOR NO KEY UPDATE")
        db.execute("SET lock_timeout = '1s'")
        record(db, first)  # a redelivery
        record(db, second)  # another video of the same channel
        db.execute("RESET lock_timeout")
    assert _xmin(db, "channels", "channel_id", f.CHANNEL_ID) == channel_version
    assert _xmin(db, "transcripts", "video_id", f.video_id(1)) == transcript_version
    # a new title still gets through, and only then does updated_at move
    renamed = f.result(n=1, video=f.meta(f.video_id(1), channel_title="Renamed"))
    record(db, renamed)
    assert db.execute("SELECT title FROM channels").fetchall() == [("Renamed",)]
    assert _xmin(db, "channels", "channel_id", f.CHANNEL_ID) != channel_version


def test_mark_queued_leaves_a_known_video_alone(db: psycopg.Connection[Any]) -> None:
    record(db, f.result(n=1))
    version = _xmin(db, "videos", "video_id", f.video_id(1))
    job = {"video_id": f.video_id(1), "meta": f.meta(f.video_id(1)).model_dump(mode="json")}
    with db.transaction():
        db.execute("SET LOCAL ROLE service_role")
        db.execute("SELECT tubeq_mark_queued(%s)", (Jsonb({"jobs": [job]}),))
    assert _xmin(db, "videos", "video_id", f.video_id(1)) == version
    assert db.execute("SELECT state FROM videos").fetchone() == ("done",)


def test_search_is_fast_enough_to_record_long_transcripts(db: psycopg.Connection[Any]) -> None:
    # indexing a 6-hour stream's worth of words happens inside record_success: keep it cheap
    result = _long_german_result(55_000)
    started = time.monotonic()
    record(db, result)
    assert time.monotonic() - started < 5
    assert db.execute("SELECT count(*) FROM transcript_chunks").fetchone() == (56,)
