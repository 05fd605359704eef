"""Analysis templates end to end through the real CLI on the embedded defaults: enqueue with
--template, consume --burst, read the rows (the video_chapters view), the artifacts and
`tubeq templates result`; a user template from a folder; validation errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.integration.test_cli import tubeq
from tests.unit.test_templates import template_text


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(tmp_path / "data" / "results.sqlite3")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_enqueue_chapters_then_consume_makes_chapter_rows_and_artifacts(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "enqueue", "--template", "chapters", "tq-sample01", "tq-sample08")
    assert done.returncode == 0, done.stderr
    assert "for template chapters" in done.stdout
    run = tubeq(tmp_path, "consume", "--burst")
    assert run.returncode == 0, run.stderr
    assert "done 2" in run.stdout

    chapters = rows(tmp_path, "select video_id, chapter, start_s, title from video_chapters")
    long_one = [r for r in chapters if r[0] == "tq-sample08"]
    assert len(long_one) >= 5
    assert [r[1] for r in long_one] == list(range(1, len(long_one) + 1))
    assert long_one[0][2] == 0
    # a summary analysis was not made, and no summary row was touched
    assert rows(tmp_path, "select count(*) from analyses") == [(0,)]

    art = tmp_path / "data" / "artifacts" / "templates" / "tq-sample08" / "chapters"
    vtt = next(art.glob("*.vtt")).read_text()
    md = next(art.glob("*.md")).read_text()
    assert vtt.startswith("WEBVTT") and str(long_one[1][3]) in vtt
    assert "## Chapters" in md and "&t=0s" in md

    shown = tubeq(tmp_path, "templates", "result", "tq-sample08", "--template", "chapters")
    assert shown.returncode == 0, shown.stderr
    assert str(long_one[1][3]) in shown.stdout

    # delivered again: skipped, the row kept (not rewritten)
    tubeq(tmp_path, "enqueue", "--template", "chapters", "tq-sample08")
    again = tubeq(tmp_path, "consume", "--burst")
    assert "skipped 1" in again.stdout, again.stdout

    # the summary still runs through its own pipeline, under today's key
    tubeq(tmp_path, "enqueue", "tq-sample08")
    tubeq(tmp_path, "consume", "--burst")
    assert rows(tmp_path, "select analysis_version from analyses") == [("extractive-v1",)]
    versions = rows(tmp_path, "select template, analysis_version from template_results")
    assert {v[0] for v in versions} == {"chapters"}

    # forced again on a video the store knows: its artifacts are listed with the video's
    tubeq(tmp_path, "enqueue", "--template", "chapters", "--force", "tq-sample08")
    forced = tubeq(tmp_path, "consume", "--burst")
    assert "done 1" in forced.stdout, forced.stdout
    kinds = rows(
        tmp_path, "select kind from artifacts where video_id = 'tq-sample08' order by kind"
    )
    assert ("chapters_vtt",) in kinds and ("template_chapters_md",) in kinds


def test_an_unknown_template_is_refused_with_the_list(tmp_path: Path) -> None:
    bad = tubeq(tmp_path, "enqueue", "--template", "nope", "tq-sample01")
    assert bad.returncode == 2
    assert "chapters, mentions, summary" in bad.stderr
    assert not (tmp_path / "data" / "queue.sqlite3").exists() or not rows_in_queue(tmp_path)


def rows_in_queue(tmp_path: Path) -> int:
    db = sqlite3.connect(tmp_path / "data" / "queue.sqlite3")
    try:
        return int(db.execute("select count(*) from messages").fetchone()[0])
    finally:
        db.close()


def test_a_user_template_from_a_folder_works_end_to_end_offline(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "claims.toml").write_text(template_text(), encoding="utf-8")
    env = {"TUBEQ_TEMPLATES_DIR": str(folder)}
    listed = tubeq(tmp_path, "templates", "list", "--json", env=env)
    assert '"claims"' in listed.stdout
    assert tubeq(tmp_path, "enqueue", "-t", "claims", "tq-sample05", env=env).returncode == 0
    run = tubeq(tmp_path, "consume", "--burst", env=env)
    assert "done 1" in run.stdout, run.stdout + run.stderr
    ((template, version, result),) = rows(
        tmp_path, "select template, analysis_version, result from template_results"
    )
    assert template == "claims" and version.startswith("extractive-v1+tpl:claims:1:")
    assert '"claims"' in str(result)
    shown = tubeq(tmp_path, "templates", "result", "tq-sample05", "-t", "claims", env=env)
    assert "schema filled from central sentences" in shown.stdout


def test_validate_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text(template_text(schema="'''{\"type\": \"array\"}'''"), encoding="utf-8")
    bad = tubeq(tmp_path, "templates", "validate", str(path))
    assert bad.returncode == 2
    assert "claims.toml" in bad.stderr and "field 'schema'" in bad.stderr
    path.write_text(template_text(), encoding="utf-8")
    ok = tubeq(tmp_path, "templates", "validate", str(path))
    assert ok.returncode == 0 and "ok claims" in ok.stdout


def test_backfill_with_a_template_sends_template_jobs(tmp_path: Path) -> None:
    bad = tubeq(tmp_path, "backfill", "@hearth-handplane", "--template", "nope")
    assert bad.returncode == 2 and "chapters, mentions, summary" in bad.stderr
    done = tubeq(tmp_path, "backfill", "@hearth-handplane", "--template", "mentions")
    assert done.returncode == 0, done.stderr
    db = sqlite3.connect(tmp_path / "data" / "queue.sqlite3")
    try:
        bodies = [r[0] for r in db.execute("select body from messages")]
    finally:
        db.close()
    assert bodies and all(
        '"template": "mentions"' in b or '"template":"mentions"' in b for b in bodies
    )
    run = tubeq(tmp_path, "consume", "--burst")
    assert run.returncode == 0, run.stderr
    # one of the channel's videos has transcripts disabled: it fails, the rest are done
    (counts,) = [line for line in run.stdout.splitlines() if line.startswith("done ")]
    done_count = int(counts.split(",")[0].split()[1])
    assert done_count >= len(bodies) - 1
    stored = rows(tmp_path, "select count(*) from template_results where template = 'mentions'")
    assert stored == [(done_count,)]
