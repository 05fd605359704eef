"""Templates on Gemini through the real google-genai client against the local stub (the
real wire format): the template's schema is the structured output, a valid reply is stored
with its cost and ledger rows, an off-schema reply is repaired once or failed with the
reason, and a paid reply is reused instead of bought twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumer.handlers.base import Outcome
from consumer.template_pipeline import TemplatePipeline
from shared import factory
from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.sqlite_results import SqliteResultStore
from shared.adapters.sqlite_template_results import SqliteTemplateResults
from shared.errors import InvalidModelOutput
from shared.models import VideoJob
from shared.settings import BUNDLED_SAMPLES
from shared.templates.loader import builtin_templates
from tests.integration.test_gemini_analyzer import make_settings
from tests.support import gemini_stub as gs

pytestmark = pytest.mark.services

CHAPTERS = {
    "chapters": [
        {"title": "Ingredients", "start_s": 0, "gist": "What goes in the soup."},
        {"title": "Cooking", "start_s": 57.8, "gist": "Chop, warm, simmer."},
    ]
}


@pytest.fixture
def stub() -> Iterator[gs.GeminiStub]:
    server = gs.GeminiStub().start()
    yield server
    server.stop()


@pytest.fixture
def pipeline(stub: gs.GeminiStub, tmp_path: Path) -> Iterator[TemplatePipeline]:
    settings = make_settings(stub, tmp_path)
    results = SqliteResultStore(tmp_path / "results.sqlite3")
    store = SqliteTemplateResults(tmp_path / "results.sqlite3")
    analyzer = factory.build_template_analyzer(settings, ledger=results)
    yield TemplatePipeline(
        transcripts=DirectoryTranscriptSource(BUNDLED_SAMPLES),
        analyzer=analyzer,
        claims=results,
        store=store,
        artifacts=LocalArtifactStore(tmp_path / "artifacts"),
        templates=builtin_templates(),
        save_retry_delays_s=(),
    )
    analyzer.close()
    store.close()
    results.close()


def ledger(tmp_path: Path) -> list[Any]:
    import sqlite3

    db = sqlite3.connect(tmp_path / "results.sqlite3")
    try:
        return db.execute(
            "select purpose, outcome, analysis_version from model_calls order by at"
        ).fetchall()
    finally:
        db.close()


def test_a_schema_valid_reply_is_stored_with_its_cost(
    stub: gs.GeminiStub, pipeline: TemplatePipeline, tmp_path: Path
) -> None:
    stub.push(gs.ok(CHAPTERS, prompt_tokens=1000, output_tokens=200))
    job = VideoJob(video_id="tq-sample01", template="chapters")
    assert pipeline.process(job) is Outcome.DONE

    (request,) = stub.requests
    template = builtin_templates()["chapters"]
    assert request.generation_config["responseJsonSchema"] == template.output_schema
    assert "Divide the whole video into its chapters" in request.system_instruction
    assert "[57.8s]" in request.user_texts[0] or "57.8" in request.user_texts[0]

    (saved,) = pipeline.store.template_results("tq-sample01")
    assert saved.result == CHAPTERS and saved.model == "gemini-3.1-flash-lite"
    assert saved.usage.model_calls == 1 and saved.usage.cost_usd > 0
    assert {a.kind for a in saved.artifacts} == {"template_chapters_md", "chapters_vtt"}
    ((purpose, outcome, version),) = ledger(tmp_path)
    assert (purpose, outcome) == ("template", "ok") and "+tpl:chapters:1:" in version

    # delivered again: skipped, nothing bought
    assert pipeline.process(job) is Outcome.SKIPPED
    assert len(stub.requests) == 1


def test_an_off_schema_reply_is_repaired_once(
    stub: gs.GeminiStub, pipeline: TemplatePipeline, tmp_path: Path
) -> None:
    stub.push(gs.ok({"chapters": [{"title": "No start"}]}), gs.ok(CHAPTERS))
    assert pipeline.process(VideoJob(video_id="tq-sample01", template="chapters")) is Outcome.DONE
    repair = stub.requests[1].user_texts[-1]
    assert "'start_s' is a required property" in repair
    assert [r[:2] for r in ledger(tmp_path)] == [("template", "invalid"), ("repair", "ok")]
    (saved,) = pipeline.store.template_results("tq-sample01")
    assert saved.usage.model_calls == 2


def test_a_reply_still_off_schema_fails_with_the_reason(
    stub: gs.GeminiStub, pipeline: TemplatePipeline, tmp_path: Path
) -> None:
    stub.push(gs.ok({"chapters": "none"}), gs.ok("not json at all"))
    with pytest.raises(InvalidModelOutput) as err:
        pipeline.process(VideoJob(video_id="tq-sample01", template="chapters"))
    assert "template 'chapters'" in err.value.message and "Invalid JSON" in err.value.message
    assert err.value.raw == "not json at all"
    assert pipeline.store.template_results("tq-sample01") == []
    assert [r[1] for r in ledger(tmp_path)] == ["invalid", "invalid"]  # both paid, both kept


def test_a_paid_reply_is_reused_when_its_artifacts_were_never_written(
    stub: gs.GeminiStub, pipeline: TemplatePipeline
) -> None:
    stub.push(gs.ok(CHAPTERS))
    job = VideoJob(video_id="tq-sample01", template="chapters")
    template = builtin_templates()["chapters"]
    version = template.version_key(pipeline.analyzer.analysis_version)
    # a crash after the save: the row is there, not completed
    result = pipeline.analyzer.analyze_template(
        template, DirectoryTranscriptSource(BUNDLED_SAMPLES).fetch("tq-sample01"), None
    )
    pipeline.store.save_template_result(result)
    assert pipeline.store.find_template_result("tq-sample01", version) is not None
    assert pipeline.process(job) is Outcome.DONE
    assert len(stub.requests) == 1  # the redelivery bought nothing
