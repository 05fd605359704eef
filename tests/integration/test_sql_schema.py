"""The sql/ migrations on a real PostgreSQL 15: applying, re-applying, refusing edits,
the record functions' idempotency, RLS per role, the analyst views and full-text search."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shared.migrations import MigrationError, connect, load_migrations, migrate, status
from shared.models import Segment, Usage, VideoResult, VideoState
from tests.support import factories as f
from tests.support.postgres import PgCluster, pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services

TABLES = ("channels", "videos", "transcripts", "analyses", "artifacts", "failures")
VIEWS = ("channel_overview", "recent_analyses", "failures_needing_attention", "topics_by_month")


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


def as_role(conn: psycopg.Connection[Any], role: str, query: str, *params: Any) -> list[Any]:
    """Run one statement as ``role`` (like PostgREST does per request), rolled back after."""
    with conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL ROLE {role}")
        cur = conn.execute(query, params or None)
        return cur.fetchall() if cur.description else []


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
    assert [len(first[t]) for t in TABLES] == [1, 1, 1, 1, 2, 0]
    (text, words, search) = db.execute(
        "SELECT text, word_count, search::text FROM transcripts"
    ).fetchone() or (None, None, None)
    assert text == result.transcript.text
    assert words == result.transcript.word_count
    assert "'idempot'" in str(search)  # the english stem, next to the exact words


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
    for call in ("tubeq_get_video('x')", "tubeq_progress()", "tubeq_search('queues')"):
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
    for table in TABLES[:5]:
        assert as_role(db, "authenticated", f"SELECT count(*) FROM {table}")[0][0] >= 1
    assert as_role(db, "authenticated", "SELECT videos FROM channel_overview") == [(1,)]
    status = as_role(db, "authenticated", "SELECT tubeq_get_video(%s)", f.video_id(1))
    assert status[0][0]["state"] == "done"
    payload = Jsonb(f.result(n=2).model_dump(mode="json"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(db, "authenticated", "SELECT tubeq_record_success(%s)", payload)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(db, "authenticated", "UPDATE videos SET state = 'failed'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(db, "authenticated", "DELETE FROM analyses")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(db, "authenticated", "INSERT INTO channels (channel_id) VALUES ('UCx')")


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
    rows = as_role(
        db,
        "authenticated",
        "SELECT channel_id, title, videos, analysed, failed, pending, total_cost_usd, top_topics"
        " FROM channel_overview",
    )
    assert rows == [
        (f.CHANNEL_ID, f.CHANNEL_TITLE, 3, 2, 1, 0, pytest.approx(0.75), ["queues", "retries"])
    ]


def test_recent_analyses_and_failures_needing_attention(db: psycopg.Connection[Any]) -> None:
    _load_channel(db)
    recent = as_role(db, "authenticated", "SELECT video_id, channel_title FROM recent_analyses")
    assert recent == [(f.video_id(2), f.CHANNEL_TITLE), (f.video_id(1), f.CHANNEL_TITLE)]
    attention = as_role(
        db,
        "authenticated",
        "SELECT video_id, state, attempts, failure_count FROM failures_needing_attention",
    )
    assert attention == [(f.video_id(3), "dead", 4, 1)]  # a first retry is not news
    months = as_role(
        db, "authenticated", "SELECT topic, sum(videos) FROM topics_by_month GROUP BY 1 ORDER BY 1"
    )
    assert months == [("queues", 2), ("retries", 1)]


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
    hits = as_role(db, "authenticated", query, '"every step must be idempotent"', f.CHANNEL_ID)
    assert [h[0] for h in hits] == [f.video_id(1)]
    assert "<b>idempotent</b>" in hits[0][1]
    assert as_role(db, "authenticated", query, '"step must idempotent every"', f.CHANNEL_ID) == []
    assert as_role(db, "authenticated", query, '"every step"', "UCsomeOtherChannel") == []


def test_full_text_search_in_german(db: psycopg.Connection[Any]) -> None:
    record(db, f.result(n=1))
    record(db, _german_result())
    query = "SELECT video_id FROM tubeq_search(%s, p_config => %s::regconfig)"
    # exact words, any language
    assert as_role(db, "authenticated", query, '"mehr Windräder"', "simple") == [(f.video_id(8),)]
    # german stemming: the singular finds the plural, stop words are skipped in phrases
    assert as_role(db, "authenticated", query, '"Windrad im Süden"', "german") == [(f.video_id(8),)]
    assert as_role(db, "authenticated", query, '"Windräder im Norden"', "german") == []
    assert as_role(db, "authenticated", query, "Windkraft", "simple") == []
    # summaries are searchable too
    summaries = as_role(
        db,
        "authenticated",
        "SELECT video_id FROM analyses WHERE search @@ websearch_to_tsquery('german', 'Windrad')",
    )
    assert summaries == [(f.video_id(8),)]
