"""The video page's analysis templates on every result store the dashboard reads: the store's
own ``template_results`` (``TemplateResultReader``) on SQLite, a real PostgreSQL and Supabase
(the PostgREST stub on that PostgreSQL), the page built on it, and the page as served and
as exported, with a model's reply that tries to inject a script."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from producer.api import create_app
from producer.dashboard.export import write_site
from producer.dashboard.links import ServerLinks
from producer.dashboard.pages import video_page
from producer.dashboard.render import render
from shared import factory
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.postgres_results import PostgresResultStore
from shared.adapters.postgres_template_results import PostgresTemplateResults
from shared.adapters.sqlite_results import SqliteResultStore
from shared.adapters.sqlite_template_results import SqliteTemplateResults
from shared.adapters.supabase_results import SupabaseResultStore
from shared.artifacts import watch_url
from shared.models import ArtifactRef, Usage
from shared.ports import ArtifactStore, TemplateResultReader, TemplateResults
from shared.settings import Settings
from shared.templates.loader import builtin_templates
from shared.templates.results import TemplateResult
from tests.support import factories as f
from tests.support.demo_data import demo_dir, demo_template  # noqa: F401  (fixtures)
from tests.support.postgres import pg_cluster, pg_dsn  # noqa: F401  (fixtures)
from tests.support.postgrest_stub import PostgrestStub, service_role_key

pytestmark = pytest.mark.services

INJECTED = '<script>alert("chapter")</script>'
CHAPTERS = {
    "chapters": [
        {"title": "Opening", "start_s": 0, "gist": "Why indexes matter."},
        {"title": INJECTED, "start_s": 125.7, "gist": "Partial <b>indexes</b>."},
        {"title": "Questions", "start_s": 3725, "gist": "From the room."},
    ]
}
MENTIONS = {
    "mentions": [
        {"name": "PostgreSQL", "kind": "product", "at_s": [12, 140.5]},
        {"name": "<img src=x onerror=alert(1)>", "kind": "other", "at_s": [61]},
    ]
}
OPERATOR = "operator-key-0123456789abcdef"
BUILTIN = builtin_templates()


@dataclass
class Stores:
    reader: Any  # the result store the dashboard reads (ResultReader)
    writer: TemplateResults  # what the consumer writes template results with


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path / "results.sqlite3"
            reader: Any = SqliteResultStore(path)
            writer: TemplateResults = SqliteTemplateResults(path)
        else:
            dsn = request.getfixturevalue("pg_dsn")
            writer = PostgresTemplateResults(dsn)
            if request.param == "postgres":
                reader = PostgresResultStore(dsn, pool_size=2, timeout_s=10)
            else:
                stub = stack.enter_context(PostgrestStub(dsn))
                reader = SupabaseResultStore(stub.url, service_role_key(), timeout_s=10)
        stack.callback(reader.close)
        stack.callback(writer.close)
        yield Stores(reader, writer)


def template_result(
    vid: str, template: str, result: dict[str, Any], version: str
) -> TemplateResult:
    return TemplateResult(
        video_id=vid,
        template=template,
        analysis_version=f"extractive-v1+tpl:{template}:{version}:0123456789",
        result=result,
        output_schema=BUILTIN[template].output_schema,
        analyzer="extractive (offline): test",
        usage=Usage(),
    )


def refs(vid: str, template: str, version: str) -> list[ArtifactRef]:
    md = ArtifactRef(
        kind=f"template_{template}_md",
        key=f"templates/{vid}/{template}/{version}.md",
        content_type="text/markdown; charset=utf-8",
        size=120,
    )
    if template != "chapters":
        return [md]
    vtt = ArtifactRef(
        kind="chapters_vtt",
        key=f"templates/{vid}/chapters/{version}.vtt",
        content_type="text/vtt; charset=utf-8",
        size=80,
    )
    return [md, vtt]


def store_templates(
    writer: TemplateResults, vid: str, artifacts: ArtifactStore | None = None
) -> None:
    """An older chapters result, then the newer one, then mentions; each completed (with
    its files written to ``artifacts`` when given, as the consumer does)."""
    older = {"chapters": [{"title": "Old", "start_s": 1, "gist": "x"}]}
    for template, result, version in (
        ("chapters", older, "1"),
        ("chapters", CHAPTERS, "2"),
        ("mentions", MENTIONS, "1"),
    ):
        r = template_result(vid, template, result, version)
        writer.save_template_result(r)
        made = refs(vid, template, version)
        for ref in made if artifacts is not None else []:
            artifacts.put(ref.key, b"x" * ref.size, ref.content_type)
        writer.complete_template_result(vid, r.analysis_version, made)


def test_each_store_reads_a_videos_template_results_for_its_page(
    stores: Stores, tmp_path: Path
) -> None:
    vid = f.video_id(1)
    stores.reader.record_success(f.result(n=1))
    assert isinstance(stores.reader, TemplateResultReader)
    assert stores.reader.template_results(vid) == []  # none yet: an empty list, no error
    store_templates(stores.writer, vid)

    found = stores.reader.template_results(vid)
    assert [r.template for r in found] == ["mentions", "chapters", "chapters"]  # newest first
    assert found[1].result == CHAPTERS

    artifacts = LocalArtifactStore(tmp_path / "artifacts")
    page = video_page(stores.reader, artifacts, vid)
    assert page is not None and page.chapters is not None
    assert page.templates_note == ""
    assert page.chapters.version == "2" and page.chapters.earlier == 1
    starts = [(c.at.url, c.at.clock, c.title) for c in page.chapters.chapters]
    assert starts == [
        (watch_url(vid, 0), "0:00", "Opening"),
        (f"https://www.youtube.com/watch?v={vid}&t=125s", "2:05", INJECTED),
        (f"https://www.youtube.com/watch?v={vid}&t=3725s", "1:02:05", "Questions"),
    ]
    assert [d.kind for d in page.chapters.downloads] == ["template_chapters_md", "chapters_vtt"]
    (mentions,) = page.templates
    assert mentions.name == "mentions" and mentions.earlier == 0
    # the template artifacts are the video's too: its Downloads list and stable links
    kinds = {a.kind for a in page.artifacts}
    assert {"template_chapters_md", "chapters_vtt", "template_mentions_md"} <= kinds
    assert {"report_md", "transcript_json"} <= kinds

    html = render("video.html", links=ServerLinks(), v=page, lines=[], find="")
    assert INJECTED not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;chapter&#34;)&lt;/script&gt;" in html
    assert "Partial &lt;b&gt;indexes&lt;/b&gt;." in html
    assert (
        f'href="https://www.youtube.com/watch?v={vid}&amp;t=3725s" data-t="3725">1:02:05</a>'
        in html
    )
    assert f'href="/v1/videos/{vid}/artifacts/chapters_vtt">chapters_vtt</a>' in html
    # mentions as a table: the name, its kind, then each second it is mentioned at
    assert "<th>Name</th><th>Kind</th><th>At</th>" in html
    assert f'href="https://www.youtube.com/watch?v={vid}&amp;t=140s" data-t="140">2:20</a>' in html
    assert "Old" not in html  # the older chapters result is counted, not shown


def test_a_sqlite_file_no_template_ran_on_reads_as_none(tmp_path: Path) -> None:
    store = SqliteResultStore(tmp_path / "results.sqlite3")
    try:
        store.record_success(f.result(n=1))
        page = video_page(store, LocalArtifactStore(tmp_path / "a"), f.video_id(1))
    finally:
        store.close()
    assert page is not None and page.chapters is None and page.templates == []
    html = render("video.html", links=ServerLinks(), v=page, lines=[], find="")
    assert 'id="chapters"' not in html and 'id="templates"' not in html


# ---- served and exported, on the demo's data -----------------------------------------------


@pytest.fixture()
def demo_settings(demo_dir: Path) -> Settings:  # noqa: F811
    return Settings.load(data_dir=demo_dir, api_keys=OPERATOR)


def test_the_served_page_and_the_export_show_the_chapters(
    demo_settings: Settings, tmp_path: Path
) -> None:
    vid = "tq-sample06"
    queue = factory.build_queue(demo_settings)
    reader = factory.build_results(demo_settings)
    artifacts = factory.build_artifacts(demo_settings)
    writer = factory.build_template_results(demo_settings)
    try:
        store_templates(writer, vid, artifacts)
        with TestClient(create_app(demo_settings, queue, reader, artifacts)) as client:
            page = client.get(f"/videos/{vid}", headers={"Authorization": f"Bearer {OPERATOR}"})
        assert page.status_code == 200
        html = page.text
        assert '<h2 id="chapters">Chapters</h2>' in html and INJECTED not in html
        assert f'href="https://www.youtube.com/watch?v={vid}&amp;t=125s"' in html
        assert '<section class="template" id="template-mentions">' in html

        out = tmp_path / "site"
        write_site(reader, artifacts, out, timedelta(days=1))
    finally:
        for adapter in (writer, queue, reader, artifacts):
            adapter.close()
    exported = (out / "videos" / f"{vid}.html").read_text()
    assert '<h2 id="chapters">Chapters</h2>' in exported and INJECTED not in exported
    assert f'href="https://www.youtube.com/watch?v={vid}&amp;t=3725s"' in exported
    assert '<section class="template" id="template-mentions">' in exported
    # the export links each template artifact to the store's own file, not the server
    assert "/v1/videos/" not in exported
    assert 'href="file://' in exported and 'chapters/2.vtt">chapters_vtt</a>' in exported
