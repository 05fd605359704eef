"""The `tubeq` command as an operator uses it: real processes, real files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

VID = "dQw4w9WgXcQ"


def tubeq(
    tmp_path: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TUBEQ_") or k == "TUBEQ_REQUIRE_SERVICES"
    }
    full_env.update({"TUBEQ_DATA_DIR": str(tmp_path / "data"), "TUBEQ_LOG_FORMAT": "json"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tubeq", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,  # no stray .env
        timeout=60,
        check=False,
    )


def queued(tmp_path: Path) -> list[str]:
    db = sqlite3.connect(tmp_path / "data" / "queue.sqlite3")
    try:
        return [r[0] for r in db.execute("select body from messages")]
    finally:
        db.close()


def test_malformed_id_gets_a_one_line_error(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "enqueue", "not-an-id")
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not a video id" in lines[0] and "11 characters" in lines[0]


def test_unknown_url_is_named(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "enqueue", "https://vimeo.com/76979871")
    assert done.returncode == 2 and "not a YouTube URL" in done.stderr


def test_mixed_batch_enqueues_the_good_and_reports_the_bad(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "enqueue", VID, f"https://youtu.be/{VID}", "bogus", "aaaaaaaaaaa")
    assert done.returncode == 1
    assert "enqueued 2 video(s)" in done.stdout
    assert "'bogus'" in done.stderr
    bodies = queued(tmp_path)
    assert len(bodies) == 2 and any(VID in b for b in bodies)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n\n")
    done = tubeq(tmp_path, "enqueue", "--file", str(empty))
    assert done.returncode == 2 and "no video ids in it" in done.stderr
    done = tubeq(tmp_path, "enqueue", "--file", str(tmp_path / "nope.txt"))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_enqueue_from_stdin(tmp_path: Path) -> None:
    done = tubeq(
        tmp_path, "enqueue", "-f", "-", stdin=f"{VID}\nhttps://www.youtube.com/shorts/{VID}\n"
    )
    assert done.returncode == 0, done.stderr
    assert len(queued(tmp_path)) == 1  # the same video twice is one job


def test_nothing_to_enqueue(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "enqueue")
    assert done.returncode == 2 and "nothing to enqueue" in done.stderr


def test_bad_setting_is_named_at_start(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "status", env={"TUBEQ_BATCH_SIZE": "500"})
    assert done.returncode == 2 and "TUBEQ_BATCH_SIZE" in done.stderr
    done = tubeq(tmp_path, "consume", "--burst", env={"TUBEQ_ANALYZER_BACKEND": "gemini"})
    assert done.returncode == 2 and "TUBEQ_GEMINI_API_KEY" in done.stderr


def test_show_unknown_and_dlq_usage(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "show", VID)
    assert done.returncode == 2 and "unknown" in done.stderr
    done = tubeq(tmp_path, "dlq", "redrive")
    assert done.returncode == 2 and "--all" in done.stderr


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "thesis.txt").write_text("not the demo's to delete")
    done = tubeq(tmp_path, "demo", "--data-dir", str(tmp_path / "demo"), env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert (tmp_path / "demo" / "thesis.txt").exists(), "the demo deleted a file it did not write"
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80 and len(lines) < 120, "unreadable at 80 cols"
    assert "results" in out and "tq-sample01" in out
    assert "failed" in out and "dead" in out
    assert "1 in the dead-letter queue" in out

    db = sqlite3.connect(tmp_path / "demo" / "results.sqlite3")
    states = dict(db.execute("select state, count(*) from videos group by state").fetchall())
    codes = {r[0] for r in db.execute("select error_code from videos where state != 'done'")}
    analyses = db.execute("select count(*) from analyses").fetchone()[0]
    db.close()
    samples = len(list((Path(__file__).parents[2] / "samples" / "transcripts").glob("*.json")))
    assert states.get("failed") == 2 and states.get("dead") == 1
    assert codes == {"transcripts_disabled", "video_unavailable", "upstream_unavailable"}
    assert states.get("done") == samples - 3 == analyses
    reports = list((tmp_path / "demo" / "artifacts" / "reports").rglob("*.md"))
    assert len(reports) == analyses

    # The same data again: `status` and `show` read what the demo wrote.
    env = {"TUBEQ_DATA_DIR": str(tmp_path / "demo"), "COLUMNS": "200"}
    status = tubeq(tmp_path, "status", env=env)
    assert status.returncode == 0 and "done" in status.stdout
    show = tubeq(tmp_path, "show", "tq-sample01", env=env)
    assert show.returncode == 0 and "summary" in show.stdout and "file://" in show.stdout

    # Dead letters back on the queue: the video shows as queued again.
    listed = tubeq(tmp_path, "dlq", "list", env=env)
    assert listed.returncode == 0 and "upstream_unavailable" in listed.stdout
    redriven = tubeq(tmp_path, "dlq", "redrive", "--all", env=env)
    assert redriven.returncode == 0 and "redrove 1 message(s)" in redriven.stdout
    db = sqlite3.connect(tmp_path / "demo" / "results.sqlite3")
    requeued = db.execute("select state from videos where error_code = 'upstream_unavailable'")
    assert requeued.fetchall() == [("queued",)]
    db.close()


@pytest.mark.timeout(60)  # before the fix this never returned (quadratic log redaction)
def test_a_ten_megabyte_line_is_rejected_by_its_line_number(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# ids\n{VID}\n" + "x" * 10_000_000 + "\nbogus\n")
    done = tubeq(tmp_path, "enqueue", "--file", str(ids))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "enqueued 1 video(s)" in done.stdout
    assert "line 3:" in done.stderr and "too long" in done.stderr
    assert "line 4:" in done.stderr and "'bogus'" in done.stderr
    assert len(done.stderr) < 5_000  # the line is not echoed back whole
