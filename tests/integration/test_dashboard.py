"""The dashboard on the demo's data (real SQLite queue and results, local artifacts),
through FastAPI's TestClient: access (keys, cookie, CSRF, the analyst's 403s on the
dashboard and on /v1), every page's content, the artifact links, the offline /docs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from producer.api import create_app
from shared import factory
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.artifacts import watch_url
from shared.models import VideoState
from shared.settings import Settings
from tests.support.demo_data import demo_dir, demo_template  # noqa: F401  (fixtures)

OPERATOR = "operator-key-0123456789abcdef"
ANALYST = "analyst-key-fedcba9876543210"
BEARER_OP = {"Authorization": f"Bearer {OPERATOR}"}
BEARER_AN = {"Authorization": f"Bearer {ANALYST}"}


@dataclass
class Site:
    client: TestClient
    settings: Settings
    queue: SqliteQueue
    results: SqliteResultStore
    artifacts: LocalArtifactStore


@pytest.fixture()
def site(demo_dir: Path) -> Iterator[Site]:  # noqa: F811
    settings = Settings.load(data_dir=demo_dir, api_keys=OPERATOR, analyst_keys=ANALYST)
    queue = factory.build_queue(settings)
    results = factory.build_results(settings)
    artifacts = factory.build_artifacts(settings)
    assert isinstance(queue, SqliteQueue)
    assert isinstance(results, SqliteResultStore)
    assert isinstance(artifacts, LocalArtifactStore)
    client = TestClient(create_app(settings, queue, results, artifacts))
    yield Site(client, settings, queue, results, artifacts)
    client.close()
    queue.close()
    results.close()


def login(site: Site, key: str) -> Any:
    return site.client.post(
        "/login", data={"key": key, "next": "/channels"}, follow_redirects=False
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


# ---- access ------------------------------------------------------------------------------


def test_pages_need_a_key(site: Site) -> None:
    for path in ("/", "/channels", "/videos/tq-sample01", "/search"):
        answer = site.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
    assert site.client.get("/overview.json").status_code == 401
    link = site.client.get("/v1/videos/tq-sample01/artifacts/report_md", follow_redirects=False)
    assert link.status_code == 401
    # a browser following the link (a click in Supabase Studio) is sent to log in first
    clicked = site.client.get(
        "/v1/videos/tq-sample01/artifacts/report_md",
        headers={"Accept": "text/html,application/xhtml+xml"},
        follow_redirects=False,
    )
    assert clicked.status_code == 303
    assert clicked.headers["location"] == "/login?next=/v1/videos/tq-sample01/artifacts/report_md"
    wrong = site.client.get("/", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403


def test_login_sets_a_strict_httponly_cookie_holding_no_key(site: Site) -> None:
    refused = login(site, "not-a-key")
    assert refused.status_code == 403
    assert "not accepted" in refused.text
    answer = login(site, ANALYST)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/channels"
    header = answer.headers["set-cookie"]
    assert "HttpOnly" in header
    assert "SameSite=strict" in header or "SameSite=Strict" in header
    value = site.client.cookies.get("tubeq_session")
    assert value and re.fullmatch(r"[0-9a-f]{64}", value)
    assert ANALYST not in header
    assert site.client.get("/channels").status_code == 200
    # a forged cookie is refused, and dropped
    site.client.cookies.clear()
    site.client.cookies.set("tubeq_session", "0" * 64)
    assert site.client.get("/channels", follow_redirects=False).status_code == 403


def test_login_redirects_only_within_the_site(site: Site) -> None:
    answer = site.client.post(
        "/login", data={"key": OPERATOR, "next": "//evil.example/"}, follow_redirects=False
    )
    assert answer.headers["location"] == "/"


def test_analyst_reads_the_api_but_cannot_enqueue_or_redrive(site: Site) -> None:
    assert site.client.get("/v1/progress", headers=BEARER_AN).status_code == 200
    jobs = site.client.post("/v1/jobs", json={"videos": ["dQw4w9WgXcQ"]}, headers=BEARER_AN)
    assert jobs.status_code == 403
    assert "TUBEQ_API_KEYS" in jobs.text
    redrive = site.client.post("/v1/dlq/redrive", json={"all": True}, headers=BEARER_AN)
    assert redrive.status_code == 403
    assert site.queue.stats().dead == 1
    ok = site.client.post("/v1/jobs", json={"videos": ["dQw4w9WgXcQ"]}, headers=BEARER_OP)
    assert ok.status_code == 202


# ---- the overview and redrive --------------------------------------------------------------


def test_overview_counts_throughput_and_spend(site: Site) -> None:
    data = site.client.get("/overview.json", headers=BEARER_AN).json()
    progress = site.results.progress()
    assert data["by_state"] == progress.by_state
    assert data["by_state"]["done"] == 19
    # the demo finished its videos seconds ago: they count in the 10-minute window
    assert data["per_minute"] == pytest.approx(19 / 10)
    assert data["backlog"] == 0
    assert data["eta"] == "nothing waiting"
    assert data["spend_usd"] == progress.usage.cost_usd
    assert len(data["dead"]) == 1
    assert {f["state"] for f in data["failures"]} <= {"failed", "dead", "retrying"}
    page = site.client.get("/", headers=BEARER_AN)
    assert page.status_code == 200
    assert '<meta http-equiv="refresh"' in page.text  # works with JavaScript off
    assert "/static/live.js" in page.text
    assert 'name="message_id"' not in page.text  # no redrive button for an analyst
    assert "Redriving needs an operator key" in page.text


def test_operator_redrives_from_the_page_with_the_csrf_token(site: Site) -> None:
    assert login(site, OPERATOR).status_code == 303
    page = site.client.get("/")
    token = csrf_of(page.text)
    (letter,) = site.queue.dead_letters()
    dead_id = letter.body.video_id  # type: ignore[union-attr]
    message_id = re.search(r'name="message_id" value="([^"]+)"', page.text)
    assert message_id
    forged = site.client.post(
        "/dlq/redrive", data={"message_id": message_id.group(1), "csrf": "0" * 64}
    )
    assert forged.status_code == 403
    assert site.queue.stats().dead == 1
    done = site.client.post(
        "/dlq/redrive",
        data={"message_id": message_id.group(1), "csrf": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/?redriven=1"
    assert site.queue.stats().dead == 0
    after = site.client.get(done.headers["location"])
    assert "Redrove 1 dead letter(s)." in after.text
    assert site.results.states([dead_id]) == {dead_id: VideoState.QUEUED}


def test_analyst_cannot_redrive_from_the_dashboard(site: Site) -> None:
    assert login(site, ANALYST).status_code == 303
    token = csrf_of(site.client.get("/").text)
    answer = site.client.post("/dlq/redrive", data={"all": "1", "csrf": token})
    assert answer.status_code == 403
    assert "read-only" in answer.text
    assert site.queue.stats().dead == 1


# ---- channels and videos -------------------------------------------------------------------


def test_channels_and_a_channel_page_with_charts(site: Site) -> None:
    listing = site.client.get("/channels", headers=BEARER_AN).text
    channels = re.findall(r'href="/channels/([^"]+)"', listing)
    assert len(channels) == 4
    page = site.client.get(f"/channels/{channels[0]}", headers=BEARER_AN)
    assert page.status_code == 200
    svgs = re.findall(r"<svg[^>]*>", page.text)
    assert len(svgs) >= 3, "videos over time, topics per month, durations, spend"
    assert "<?xml" not in page.text
    assert 'href="http' not in page.text.replace('href="https://www.youtube.com', "")
    titles = re.findall(r'<td><a href="/videos/[^"]+">([^<]+)</a>', page.text)
    ordered = site.client.get(
        f"/channels/{channels[0]}?sort=title&order=asc", headers=BEARER_AN
    ).text
    assert re.findall(r'<td><a href="/videos/[^"]+">([^<]+)</a>', ordered) == sorted(
        titles, key=str.lower
    )
    done_only = site.client.get(f"/channels/{channels[0]}?state=failed", headers=BEARER_AN).text
    assert "state-done" not in done_only.split("<tbody>")[1]
    assert site.client.get("/channels/UCnope", headers=BEARER_AN).status_code == 404


def test_video_page_links_every_timestamp_to_its_second(site: Site) -> None:
    status = site.results.get_video("tq-sample01")
    assert status is not None and status.analysis is not None
    page = site.client.get("/videos/tq-sample01", headers=BEARER_AN).text
    for quote in status.analysis.quotes:
        assert watch_url("tq-sample01", quote.start_s).replace("&", "&amp;") in page
    stamps = re.findall(
        r'href="https://www\.youtube\.com/watch\?v=tq-sample01&amp;t=(\d+)s" '
        r'data-t="(\d+)"',
        page,
    )
    assert len(stamps) > 10
    assert all(t == d for t, d in stamps)
    assert status.analysis.summary in page
    # the transcript's find box works without JavaScript too
    word = status.analysis.topics[0]
    found = site.client.get(f"/videos/tq-sample01?find={word}", headers=BEARER_AN).text
    lines = re.findall(r'<span class="text">([^<]*)</span>', found)
    assert lines and all(word in line.lower() for line in lines)
    assert site.client.get("/videos/nope", headers=BEARER_AN).status_code == 400
    assert site.client.get("/videos/tq-sample99", headers=BEARER_AN).status_code == 404


def test_artifact_links_redirect_to_the_file(site: Site) -> None:
    status = site.results.get_video("tq-sample01")
    assert status is not None
    page = site.client.get("/videos/tq-sample01", headers=BEARER_AN).text
    for ref in status.artifacts:
        link = f"/v1/videos/tq-sample01/artifacts/{ref.kind}"
        assert f'href="{link}"' in page
        answer = site.client.get(link, headers=BEARER_AN, follow_redirects=False)
        assert answer.status_code == 307
        file = site.client.get(answer.headers["location"], headers=BEARER_AN)
        assert file.status_code == 200
        assert file.content == site.artifacts.get(ref.key)
    missing = site.client.get("/v1/videos/tq-sample01/artifacts/nope", headers=BEARER_AN)
    assert missing.status_code == 404
    assert "report_md" in missing.json()["message"]


# ---- docs and search ------------------------------------------------------------------------


def test_docs_are_served_offline(site: Site) -> None:
    page = site.client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr" not in page.text
    for asset in re.findall(r"(/docs-assets/[\w.-]+)", page.text):
        assert site.client.get(asset).status_code == 200, asset


def test_search_page_says_when_search_is_unavailable(site: Site) -> None:
    page = site.client.get("/search?q=index", headers=BEARER_AN)
    assert page.status_code == 200
    if "build_search" in factory.__dict__:
        assert 'id="hits"' in page.text
    else:
        assert "shared.factory.build_search" in page.text


# ---- the demo's pointer and the static export ------------------------------------------------


def test_demo_ends_with_the_dashboard_command(demo_template: Path) -> None:  # noqa: F811
    out = (demo_template.parent / "demo.out").read_text()
    tail = out[out.index("dashboard:") :]
    assert "serve --insecure-no-auth" in tail
    assert "http://127.0.0.1:8787/" in tail


def test_site_build_writes_relative_static_pages(demo_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "site"
    env = {"TUBEQ_DATA_DIR": str(demo_dir), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "tubeq", "site", "build", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote 27 pages" in done.stdout  # the index, 4 channels, 22 videos
    assert len(list((out / "channels").glob("*.html"))) == 4
    assert len(list((out / "videos").glob("*.html"))) == 22
    assert (out / "static" / "dashboard.css").is_file()
    for page in out.rglob("*.html"):
        html = page.read_text()
        assert not re.search(r'(href|src)="/', html), f"{page}: an absolute link"
        external = re.findall(r'(?:href|src)="(https?://[^"]+)"', html)
        assert all(u.startswith("https://www.youtube.com/watch?v=") for u in external), page
    channel = next((out / "channels").glob("*.html")).read_text()
    assert channel.count("<svg ") == 4
    for link in re.findall(r'href="(\.\./videos/[^"]+)"', channel):
        assert (out / "channels" / link).resolve().is_file()
    video = (out / "videos" / "tq-sample01.html").read_text()
    downloads = re.findall(r'<li><a href="([^"]+)">(\w+)</a>', video)
    assert downloads and all(url.startswith("file://") for url, _ in downloads)
