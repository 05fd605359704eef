"""Analysis templates: loading and validation (errors name the file and the field), the
version key, the offline heuristics, the renderings, and the job's template field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
from shared.adapters.extractive_templates import ExtractiveTemplateAnalyzer
from shared.jobs import Envelope
from shared.models import VideoJob
from shared.settings import BUNDLED_SAMPLES
from shared.templates.loader import (
    TemplateFileError,
    UnknownTemplate,
    builtin_templates,
    load_template_file,
    load_templates,
    resolve,
)
from shared.templates.render import render_chapters_vtt
from shared.templates.schema_check import reply_problems

SCHEMA = '{"type": "object", "required": ["claims"], "properties": {"claims": {"type": "array", "items": {"type": "object", "required": ["text", "at_s"], "properties": {"text": {"type": "string"}, "at_s": {"type": "number"}}}}}}'  # noqa: E501


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


def template_text(name: str = "claims", *, prompt: str = "List the claims.", **extra: str) -> str:
    fields = {
        "name": json.dumps(name),
        "version": '"1"',
        "description": '"Claims with timestamps"',
        "prompt": json.dumps(prompt),
        "schema": f"'''{SCHEMA}'''",
    }
    fields.update(extra)
    return "".join(f"{k} = {v}\n" for k, v in fields.items() if v != "")


def test_the_built_ins_load_and_their_schemas_are_valid() -> None:
    templates = builtin_templates()
    assert {"summary", "chapters", "mentions"} <= set(templates)
    assert all(t.builtin for t in templates.values())


def test_a_user_template_loads_from_a_folder(tmp_path: Path) -> None:
    write(tmp_path, "claims", template_text())
    templates = load_templates(tmp_path)
    claims = templates["claims"]
    assert claims.origin == str(tmp_path / "claims.toml")
    assert claims.output_schema["required"] == ["claims"]


def test_a_schema_may_be_a_toml_table(tmp_path: Path) -> None:
    body = (
        template_text(schema="")
        + '[schema]\ntype = "object"\n[schema.properties.x]\ntype = "string"\n'
    )
    assert load_template_file(write(tmp_path, "claims", body)).output_schema["type"] == "object"


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ("name = [oops", None, "not valid TOML"),
        (template_text(prompt=""), "prompt", "non-empty string"),
        (template_text(description=""), "description", "is missing"),
        (template_text(schema="'''{not json'''"), "schema", "not valid JSON"),
        (template_text(schema="'''{\"type\": \"array\"}'''"), "schema", "object at the top"),
        (template_text(schema="'''{\"type\": 12}'''"), "schema", "not a valid JSON Schema"),
        (template_text("Claims!"), "name", "lower-case letters"),
        (template_text("other"), "name", "file is named claims.toml"),
        (template_text(colour='"red"'), "colour", "not a template field"),
    ],
)
def test_a_bad_file_names_the_file_and_the_field(
    tmp_path: Path, body: str, field: str | None, why: str
) -> None:
    path = write(tmp_path, "claims", body)
    with pytest.raises(TemplateFileError) as err:
        load_template_file(path)
    assert str(path) in err.value.message
    if field is not None:
        assert f"field {field!r}" in err.value.message
    assert why in err.value.message


def test_a_user_template_cannot_take_a_built_in_name(tmp_path: Path) -> None:
    write(tmp_path, "chapters", template_text("chapters"))
    with pytest.raises(TemplateFileError, match="built-in template"):
        load_templates(tmp_path)


def test_an_unknown_name_lists_the_templates() -> None:
    with pytest.raises(UnknownTemplate) as err:
        resolve(builtin_templates(), "nope")
    assert "chapters, mentions, summary" in err.value.message


# ---- the version key ------------------------------------------------------------------------


def test_the_summary_key_is_the_analyzer_key_of_today() -> None:
    summary = builtin_templates()["summary"]
    # the keys stores hold from before templates existed (extractive; gemini:<model>:<prompt>)
    assert summary.version_key(ExtractiveAnalyzer().analysis_version) == "extractive-v1"
    assert summary.version_key("gemini:gemini-3.1-flash-lite:p1") == (
        "gemini:gemini-3.1-flash-lite:p1"
    )


def test_editing_a_template_changes_its_key_and_templates_never_share_one(tmp_path: Path) -> None:
    base = load_template_file(write(tmp_path, "claims", template_text()))
    edited = load_template_file(write(tmp_path, "claims", template_text(prompt="Other.")))
    described = load_template_file(
        write(tmp_path, "claims", template_text(description='"new words"'))
    )
    bumped = load_template_file(write(tmp_path, "claims", template_text(version='"2"')))
    keys = {t.version_key("extractive-v1") for t in (base, edited, bumped)}
    assert len(keys) == 3
    assert described.version_key("x") == base.version_key("x")  # the description is not asked
    assert base.version_key("extractive-v1").startswith("extractive-v1+tpl:claims:1:")
    built = builtin_templates()
    assert built["chapters"].version_key("v") != built["mentions"].version_key("v")


# ---- offline ----------------------------------------------------------------------------------


def sample(video_id: str):  # type: ignore[no-untyped-def]
    return DirectoryTranscriptSource(BUNDLED_SAMPLES).fetch(video_id)


def test_offline_chapters_of_the_two_hour_sample_follow_its_topic_shifts() -> None:
    chapters = builtin_templates()["chapters"]
    transcript = sample("tq-sample08")
    result = ExtractiveTemplateAnalyzer().analyze_template(chapters, transcript, None)
    items = result.result["chapters"]
    assert reply_problems(chapters.output_schema, result.result) == []
    assert 5 <= len(items) <= 15
    starts = [c["start_s"] for c in items]
    assert starts[0] == 0 and starts == sorted(starts) and len(set(starts)) == len(starts)
    assert starts[-1] < transcript.duration_s
    assert all(c["gist"] in transcript.text or c["gist"].endswith("…") for c in items)
    assert "topic shifts" in result.analyzer


def test_offline_mentions_find_names_with_their_seconds() -> None:
    mentions = builtin_templates()["mentions"]
    transcript = sample("tq-sample08")
    result = ExtractiveTemplateAnalyzer().analyze_template(mentions, transcript, None)
    names = {m["name"]: m for m in result.result["mentions"]}
    assert "Adeyemi" in names
    first = names["Adeyemi"]["at_s"][0]
    spoken = [s for s in transcript.segments if "Adeyemi" in s.text]
    assert first == round(spoken[0].start, 1)
    assert "capitalised-name heuristics" in result.analyzer
    # a sentence's imperative verb is no name ("Chop the onion")
    soup = ExtractiveTemplateAnalyzer().analyze_template(mentions, sample("tq-sample01"), None)
    assert "Chop" not in {m["name"] for m in soup.result["mentions"]}


def test_a_user_template_is_filled_offline_to_its_schema(tmp_path: Path) -> None:
    claims = load_template_file(write(tmp_path, "claims", template_text()))
    result = ExtractiveTemplateAnalyzer().analyze_template(claims, sample("tq-sample05"), None)
    assert reply_problems(claims.output_schema, result.result) == []
    assert result.result["claims"][0]["at_s"] > 0 or len(result.result["claims"]) > 1


def test_chapter_markers_are_webvtt_cues_from_start_to_next_start() -> None:
    vtt = render_chapters_vtt(
        [{"title": "Intro --> here", "start_s": 0}, {"title": "Rooks", "start_s": 75.5}], 200.0
    ).decode()
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:01:15.500\nIntro → here\n")
    assert "2\n00:01:15.500 --> 00:03:20.000\nRooks\n" in vtt


# ---- the job ----------------------------------------------------------------------------------


def test_a_summary_job_is_on_the_wire_as_before_and_old_messages_still_read() -> None:
    job = VideoJob(video_id="tq-sample01")
    assert "template" not in job.envelope().body
    old = {"video_id": "tq-sample01", "force": False, "source": "cli"}
    assert VideoJob.from_envelope(Envelope.from_wire(old)).template == "summary"
    chapters = VideoJob(video_id="tq-sample01", template="chapters")
    assert VideoJob.from_envelope(chapters.envelope()).template == "chapters"


def test_the_offline_template_key_and_stop_words_are_the_extractive_analyzer_s() -> None:
    from shared.adapters import extractive_analyzer
    from shared.templates.offline import stopwords_for

    assert ExtractiveTemplateAnalyzer().analysis_version == ExtractiveAnalyzer().analysis_version
    for lang in ("en", "de-DE", "xx"):
        assert stopwords_for(lang) == extractive_analyzer.stopwords_for(lang)


def test_the_readme_example_is_a_valid_template(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    template = load_template_file(write(tmp_path, "claims", example))
    assert template.output_schema["required"] == ["claims"]
