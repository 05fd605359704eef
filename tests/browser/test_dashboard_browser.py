"""The dashboard in a real browser (Debian's chromium under Playwright) against a real
`tubeq serve` on the demo's data: every page loads without console errors, the overview
changes while a consumer runs (its counts, the running consumers panel, the model quota
panel), redrive works for the operator and is refused to the analyst,
timestamp links carry the right ``t=``, a video's chapters and other template results show
after ``tubeq enqueue --template``, search finds a phrase, the static export opens from
``file://``. Screenshots of each page go to docs/screenshots/."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from shared import factory
from shared.artifacts import parse_transcript_json, transcript_keys, watch_url
from shared.ports import TemplateResultReader
from shared.rate_budget import SqliteRateBudget
from shared.settings import Settings
from tests.browser.conftest import ANALYST, OPERATOR, SCREENSHOTS, Server

pytestmark = [pytest.mark.services, pytest.mark.slow]


class Errors:
    """Console errors and uncaught exceptions of every page of a context."""

    def __init__(self, context: BrowserContext) -> None:
        self.seen: list[str] = []
        context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.seen.append(f"pageerror: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console: {message.text} at {message.location}")


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900})
    yield made
    made.close()


def login(context: BrowserContext, server: Server, key: str) -> tuple[Page, Errors]:
    errors = Errors(context)
    page = context.new_page()
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")
    return page, errors


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def settings_of(server: Server) -> Settings:
    return Settings.load(data_dir=server.data_dir)


def first_topic(server: Server, video_id: str) -> str:
    reader = factory.build_results(settings_of(server))
    try:
        status = reader.get_video(video_id)
    finally:
        reader.close()
    assert status is not None and status.analysis is not None
    return status.analysis.topics[0]


def test_every_page_loads_without_console_errors(context: BrowserContext, server: Server) -> None:
    login_page = context.new_page()
    login_page.goto(f"{server.url}/login")
    shot(login_page, "login")
    login_page.close()
    page, errors = login(context, server, OPERATOR)
    # the fleet panels: no consumer runs and the demo's offline analyzer spent no quota
    expect(page.locator("#quota")).to_contain_text("no budget yet")
    expect(page.locator("#quota")).to_contain_text("0 / 60 (0%)")
    expect(page.locator("#consumers-body")).to_contain_text("None running")
    shot(page, "overview")
    page.click("text=Channels")
    expect(page.locator("h1")).to_have_text("Channels")
    shot(page, "channels")
    page.locator("#channels a").first.click()
    expect(page.locator("figure.chart svg")).to_have_count(4)
    shot(page, "channel")
    page.locator("#videos a").first.click()
    expect(page.locator("#transcript li").first).to_be_visible()
    # the video page's screenshot is taken with its chapters (test_chapters_on_the_video_page)
    page.goto(f"{server.url}/search?q=index")
    expect(page.locator("h1")).to_have_text("Search")
    shot(page, "search")
    page.goto(f"{server.url}/docs")
    expect(page.locator(".swagger-ui .title").first).to_be_visible(timeout=15_000)
    shot(page, "docs")
    assert errors.seen == []


def test_overview_changes_while_a_consumer_runs(context: BrowserContext, server: Server) -> None:
    page, errors = login(context, server, OPERATOR)
    page.evaluate("window.__notReloaded = true")
    queued = page.locator('[data-field="state.queued"]')
    done = page.locator('[data-field="state.done"]')
    expect(queued).to_have_text("0")
    expect(done).to_have_text("19")
    # three more videos on the queue (forced: they are done already), through the API
    answer = httpx.post(
        f"{server.url}/v1/jobs",
        json={"videos": ["tq-sample01", "tq-sample02", "tq-sample03"], "force": True},
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    assert answer.status_code == 202, answer.text
    expect(queued).to_have_text("3", timeout=10_000)
    expect(page.locator('[data-field="backlog"]')).to_have_text("3")
    rows = page.locator("#consumers-body tr")
    expect(rows).to_contain_text(["None running"])
    # a consumer that keeps running (not --burst): it joins the panel, does the 3 videos
    consumer = server.popen("consume", "--no-progress", TUBEQ_CONSUMER_HEARTBEAT_S="1")
    try:
        expect(queued).to_have_text("0", timeout=30_000)
        expect(page.locator('[data-field="backlog"]')).to_have_text("0")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(f"pid {consumer.pid}", timeout=10_000)
        expect(rows.first).to_contain_text("running")
        expect(rows.first.locator("td").nth(3)).to_have_text("3", timeout=10_000)  # done
        # Gemini calls as a paid consumer makes them: grants from the budget it would use
        spend_quota(server, calls=12, tokens_each=30_000)
        expect(page.locator('[data-field="quota.requests"]')).to_have_text(
            "12 / 60 (20%)", timeout=10_000
        )
        expect(page.locator('[data-field="quota.tokens"]')).to_have_text(
            "360,000 / 1,000,000 (36%)"
        )
        expect(page.locator('[data-bar="quota.tokens_pct"]')).to_have_attribute(
            "style", re.compile(r"width: 36%")
        )
        shot(page, "overview-live")
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(30) == 0
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait(10)
    expect(rows).to_contain_text(["None running"], timeout=10_000)  # gone on a clean stop
    assert page.evaluate("window.__notReloaded") is True, "the page reloaded instead"
    assert errors.seen == []


def spend_quota(server: Server, calls: int, tokens_each: int) -> None:
    """Take ``calls`` grants from the demo's rate budget file, as a Gemini consumer does."""
    section = settings_of(server).rate_budget
    budget = SqliteRateBudget.from_settings(section)
    try:
        for _ in range(calls):
            budget.acquire(tokens_each, timeout_s=60)
    finally:
        budget.close()


def test_pages_work_with_javascript_off(browser: Browser, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page, errors = login(context, server, ANALYST)
        refresh = page.locator('meta[http-equiv="refresh"]')
        expect(refresh).to_have_count(1)  # the overview reloads itself instead of polling
        # the fleet panels are plain HTML: there without the script
        expect(page.locator("#quota")).to_contain_text("Limits: 60 requests")
        expect(page.locator("#consumers-body")).to_contain_text("None running")
        page.goto(f"{server.url}/videos/tq-sample01")
        all_lines = page.locator("#transcript li").count()
        word = first_topic(server, "tq-sample01")
        page.fill("#find", word)
        page.click("form.find button[type=submit]")
        expect(page).to_have_url(re.compile(r"find="))
        shown = page.locator("#transcript li .text").all_inner_texts()
        assert 0 < len(shown) < all_lines
        assert all(word in line.lower() for line in shown)
        assert errors.seen == []
    finally:
        context.close()


def test_operator_redrives_from_the_page(context: BrowserContext, server: Server) -> None:
    page, errors = login(context, server, OPERATOR)
    expect(page.locator("#dead-letters tbody tr")).to_have_count(1)
    page.locator("button.redrive").first.click()
    expect(page.locator(".flash")).to_have_text("Redrove 1 dead letter(s).")
    expect(page.locator('[data-field="dead_count"]')).to_have_text("0")
    shot(page, "overview-after-redrive")
    assert errors.seen == []


def test_analyst_cannot_redrive(context: BrowserContext, server: Server) -> None:
    page, errors = login(context, server, ANALYST)
    expect(page.locator("#dead-letters tbody tr")).to_have_count(1)
    expect(page.locator("button.redrive")).to_have_count(0)
    expect(page.locator("text=Redriving needs an operator key")).to_be_visible()
    # the form posted anyway, with the session's own token: refused
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert token
    answer = context.request.post(
        f"{server.url}/dlq/redrive", form={"all": "1", "csrf": token}, max_redirects=0
    )
    assert answer.status == 403
    assert "read-only" in answer.text()
    page.reload()
    expect(page.locator("#dead-letters tbody tr")).to_have_count(1)
    assert errors.seen == []


def test_timestamp_links_carry_the_right_second(context: BrowserContext, server: Server) -> None:
    page, errors = login(context, server, ANALYST)
    page.goto(f"{server.url}/videos/tq-sample01")
    settings = settings_of(server)
    reader = factory.build_results(settings)
    artifacts = factory.build_artifacts(settings)
    try:
        status = reader.get_video("tq-sample01")
        transcript = parse_transcript_json(
            artifacts.get(transcript_keys("tq-sample01")["transcript_json"])
        )
    finally:
        reader.close()
        artifacts.close()
    assert status is not None and status.analysis is not None
    quote_links = page.locator(".quotes a.ts")
    expect(quote_links).to_have_count(len(status.analysis.quotes))
    for i, quote in enumerate(status.analysis.quotes):
        assert quote_links.nth(i).get_attribute("href") == watch_url("tq-sample01", quote.start_s)
    lines = page.locator("#transcript a.ts")
    spoken = [s for s in transcript.segments if s.text.strip()]
    expect(lines).to_have_count(len(spoken))
    for i in (0, len(spoken) // 2, len(spoken) - 1):
        href = lines.nth(i).get_attribute("href")
        assert href == f"https://www.youtube.com/watch?v=tq-sample01&t={int(spoken[i].start)}s"
    # find on the page: only the lines with the word stay visible
    word = status.analysis.topics[0]
    page.fill("#find", word)
    visible = page.locator("#transcript li:visible")
    expected = sum(1 for s in spoken if word in s.text.lower())
    expect(visible).to_have_count(expected)
    assert expected < len(spoken)
    assert errors.seen == []


def test_chapters_on_the_video_page(browser: Browser, server: Server) -> None:
    vid = "tq-sample06"  # a 28-minute talk: several chapters and mentions offline
    for template in ("chapters", "mentions"):
        queued = server.tubeq("enqueue", "--template", template, vid)
        assert queued.returncode == 0, queued.stdout + queued.stderr
    consumed = server.tubeq("consume", "--burst", timeout=120)
    assert consumed.returncode == 0, consumed.stdout + consumed.stderr
    reader = factory.build_results(settings_of(server))
    try:
        assert isinstance(reader, TemplateResultReader)
        stored = {r.template: r for r in reader.template_results(vid)}
    finally:
        reader.close()
    chapters = stored["chapters"].result["chapters"]
    assert len(chapters) > 1 and "mentions" in stored

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page, errors = login(context, server, ANALYST)
        page.goto(f"{server.url}/videos/{vid}")
        expect(page.locator("h2#chapters")).to_have_text("Chapters")
        links = page.locator("ol.chapters li a.ts")
        expect(links).to_have_count(len(chapters))
        for i, chapter in enumerate(chapters):
            href = links.nth(i).get_attribute("href")
            assert href == f"https://www.youtube.com/watch?v={vid}&t={int(chapter['start_s'])}s"
            item = page.locator("ol.chapters li").nth(i)
            expect(item.locator(".title")).to_have_text(chapter["title"])
            expect(item.locator(".gist")).to_have_text(chapter["gist"])
        mentions = page.locator("#template-mentions table.tpl tbody tr")
        expect(mentions).to_have_count(len(stored["mentions"].result["mentions"]))
        # the chapter markers download through the page's own link
        vtt = page.locator("h2#chapters + ol + p.about a", has_text="chapters_vtt")
        body = page.request.get(f"{server.url}{vtt.get_attribute('href')}").text()
        assert body.startswith("WEBVTT") and chapters[1]["title"] in body
        for kind in ("chapters_vtt", "template_chapters_md", "template_mentions_md"):
            expect(page.locator(".downloads a", has_text=kind)).to_have_count(1)
        shot(page, "video")
        assert errors.seen == []
    finally:
        context.close()
    plain = browser.new_context(java_script_enabled=False)
    try:
        page, errors = login(plain, server, ANALYST)
        page.goto(f"{server.url}/videos/{vid}")
        expect(page.locator("ol.chapters li a.ts")).to_have_count(len(chapters))
        assert errors.seen == []
    finally:
        plain.close()


def test_search_finds_a_phrase(context: BrowserContext, server: Server) -> None:
    if "build_search" not in factory.__dict__:
        pytest.skip(
            "search backend missing: shared.factory.build_search(settings) does not exist yet "
            "(the page says search is unavailable; the lead wires the backend)"
        )
    settings = settings_of(server)
    reader = factory.build_results(settings)
    try:
        status = reader.get_video("tq-sample01")
    finally:
        reader.close()
    assert status is not None and status.analysis is not None
    phrase = " ".join(status.analysis.quotes[0].text.split()[:3])
    page, errors = login(context, server, ANALYST)
    page.goto(f"{server.url}/search")
    page.fill('input[name="q"]', f'"{phrase}"')
    page.click("button[type=submit]")
    hits = page.locator("#hits li")
    expect(hits.first).to_be_visible()
    hrefs = [a.get_attribute("href") or "" for a in page.locator("#hits a.ts").all()]
    assert any(h.startswith("https://www.youtube.com/watch?v=tq-sample01&t=") for h in hrefs)
    shot(page, "search")
    assert errors.seen == []


def test_static_export_opens_from_file_urls(
    context: BrowserContext, server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    built = server.tubeq("site", "build", "--out", str(out))
    assert built.returncode == 0, built.stdout + built.stderr
    errors = Errors(context)
    page = context.new_page()
    page.goto((out / "index.html").as_uri())
    expect(page.locator("h1")).to_have_text("Channels")
    page.locator("#channels a").first.click()
    expect(page).to_have_url(re.compile(r"^file://.*/channels/[\w-]+\.html$"))
    expect(page.locator("figure.chart svg")).to_have_count(4)
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "", "CSS not loaded"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor")
        == "rgb(17, 24, 39)"
    ), "the export's CSS did not load from file://"
    shot(page, "static-channel")
    page.locator("#videos a").first.click()
    expect(page).to_have_url(re.compile(r"^file://.*/videos/[\w-]+\.html$"))
    expect(page.locator("#transcript li").first).to_be_visible()
    downloads: list[Any] = page.locator(".downloads a").all()
    assert downloads and all(
        (d.get_attribute("href") or "").startswith("file://") for d in downloads
    )
    word = page.locator("#transcript li .text").nth(1).inner_text().split()[-1].strip(".,!?")
    page.fill("#find", word)
    expect(page.locator("#find-count")).to_contain_text(" of ")
    assert page.locator("#transcript li:visible").count() >= 1
    shot(page, "static-video")
    assert errors.seen == []
