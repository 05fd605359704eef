"""Template results on a real PostgreSQL (sql/014_templates.sql through the migrations):
save, reuse, complete, list; the typed views; the analyst's RLS read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from shared.adapters.postgres_template_results import PostgresTemplateResults
from shared.models import ArtifactRef, Usage
from shared.templates.results import TemplateResult
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401

pytestmark = pytest.mark.services

CHAPTERS = {
    "chapters": [
        {"title": "Opening", "start_s": 0, "gist": "Hello."},
        {"title": "Rooks", "start_s": 125.5, "gist": "Rooks belong behind passed pawns."},
    ]
}


def result(video_id: str = "tq-sample08", **overrides: object) -> TemplateResult:
    values: dict[str, object] = {
        "video_id": video_id,
        "template": "chapters",
        "analysis_version": "gemini:m:p1+tpl:chapters:1:abc",
        "result": CHAPTERS,
        "output_schema": {"type": "object"},
        "analyzer": "gemini",
        "model": "m",
        "usage": Usage(prompt_tokens=10, output_tokens=5, model_calls=1, cost_usd=0.001),
    }
    values.update(overrides)
    return TemplateResult.model_validate(values)


def test_save_reuse_complete_and_read_back(pg_dsn: str) -> None:  # noqa: F811
    store = PostgresTemplateResults(pg_dsn)
    try:
        first = result()
        store.save_template_result(first)
        store.save_template_result(first)  # redelivered: one row
        found = store.find_template_result(first.video_id, first.analysis_version)
        assert found is not None and found.result == CHAPTERS and found.completed_at is None
        assert found.usage.cost_usd == pytest.approx(0.001)
        assert store.template_results(first.video_id) == []  # not complete yet

        refs = [
            ArtifactRef(kind="chapters_vtt", key="templates/x.vtt", content_type="text/vtt", size=9)
        ]
        store.complete_template_result(first.video_id, first.analysis_version, refs)
        (done,) = store.template_results(first.video_id)
        assert done.artifacts == tuple(refs) and done.completed_at is not None

        # a newer reply of the same version (a forced job) replaces it, not complete again
        newer = result(created_at=datetime.now(UTC) + timedelta(seconds=5), result={"chapters": []})
        store.save_template_result(newer)
        assert store.template_results(first.video_id) == []
        # another template on the same video is another row
        store.save_template_result(result(template="mentions", analysis_version="v+tpl:m"))
    finally:
        store.close()
    with psycopg.connect(pg_dsn) as conn:
        (count,) = conn.execute("select count(*) from template_results").fetchone() or (0,)
        assert count == 2


def test_the_chapters_view_has_one_row_per_chapter(pg_dsn: str) -> None:  # noqa: F811
    store = PostgresTemplateResults(pg_dsn)
    try:
        r = result()
        store.save_template_result(r)
        store.complete_template_result(r.video_id, r.analysis_version, [])
    finally:
        store.close()
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "select chapter, title, start_s, url from video_chapters order by chapter"
        ).fetchall()
    assert rows == [
        (1, "Opening", 0.0, "https://www.youtube.com/watch?v=tq-sample08&t=0s"),
        (2, "Rooks", 125.5, "https://www.youtube.com/watch?v=tq-sample08&t=125s"),
    ]


def test_only_analysts_read_template_results(pg_dsn: str) -> None:  # noqa: F811
    store = PostgresTemplateResults(pg_dsn)
    try:
        r = result()
        store.save_template_result(r)
        store.complete_template_result(r.video_id, r.analysis_version, [])
    finally:
        store.close()
    with psycopg.connect(pg_dsn, autocommit=False) as conn:
        conn.execute("set local role authenticated")
        assert conn.execute("select count(*) from video_chapters").fetchone() == (0,)
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            ['{"app_metadata": {"role": "analyst"}}'],
        )
        assert conn.execute("select count(*) from video_chapters").fetchone() == (2,)
        conn.rollback()
        conn.execute("set local role anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from template_results")


def test_supabase_runs_the_same_functions_over_postgrest(pg_dsn: str) -> None:  # noqa: F811
    from shared.adapters.supabase_template_results import SupabaseTemplateResults
    from tests.support.postgrest_stub import PostgrestStub, service_role_key

    with PostgrestStub(pg_dsn) as stub:
        store = SupabaseTemplateResults(stub.url, service_role_key(), timeout_s=10)
        try:
            r = result()
            store.save_template_result(r)
            assert store.find_template_result(r.video_id, "no-such-version") is None
            found = store.find_template_result(r.video_id, r.analysis_version)
            assert found is not None and found.result == CHAPTERS
            refs = [
                ArtifactRef(
                    kind="template_chapters_md", key="k.md", content_type="text/markdown", size=3
                )
            ]
            store.complete_template_result(r.video_id, r.analysis_version, refs)
            (done,) = store.template_results(r.video_id)
            assert done.artifacts == tuple(refs)
        finally:
            store.close()
        paths = [req.path for req in stub.requests]
        assert "/rest/v1/rpc/tubeq_template_result_save" in paths
