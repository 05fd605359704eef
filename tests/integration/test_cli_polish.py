"""Issue 10's CLI friction list, as an operator meets it: real `tubeq` processes on the demo's
data (the bundled sample channels, analysed offline once per module)."""

from __future__ import annotations

import csv
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_cli import tubeq

HEARTH = "UCBXtYwd-gnTDMPtqsKEefrj"  # @hearth-handplane, a bundled sample channel


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    done = tubeq(root, "demo", "--data-dir", str(root / "data"))
    assert done.returncode == 0, done.stderr[-2000:]
    return root / "data"


@pytest.fixture
def work(tmp_path: Path, demo_data: Path) -> Path:
    """A copy of the demo's data for one test (``tubeq`` reads ``<tmp_path>/data``)."""
    shutil.copytree(demo_data, tmp_path / "data")
    return tmp_path


def test_version_and_help_without_type_tags(tmp_path: Path) -> None:
    done = tubeq(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.startswith("tubeq ")
    top = tubeq(tmp_path, "--help", env={"COLUMNS": "120"})
    assert "Exit codes" in top.stdout and "2 usage error" in top.stdout
    assert "4 systemic" in top.stdout and "--install-completion" in top.stdout
    for command in (["enqueue"], ["consume"], ["status"], ["export"], ["dlq", "redrive"]):
        shown = tubeq(tmp_path, *command, "--help", env={"COLUMNS": "120"})
        assert shown.returncode == 0
        for tag in ("<bool>", "<str>", "<int", "<float>", "<list"):
            assert tag not in shown.stdout, f"{command}: {tag}"
    assert "INTEGER" in tubeq(tmp_path, "consume", "--help", env={"COLUMNS": "120"}).stdout


def test_url_kind_takes_both_names_and_prints_one(work: Path) -> None:
    short = tubeq(work, "url", "tq-sample01", "--kind", "report")
    long = tubeq(work, "url", "tq-sample01", "--kind", "report_md")
    assert short.returncode == long.returncode == 0
    assert short.stdout == long.stdout and short.stdout.strip().endswith(".md")
    listing = tubeq(work, "url", "tq-sample01").stdout
    names = {line.split()[0] for line in listing.splitlines()}
    # listed under the artifacts' own names, which --kind also takes
    assert "report_md" in names and "transcript_srt" in names
    srt = tubeq(work, "url", "tq-sample01", "--kind", "transcript_srt").stdout.strip()
    assert srt == tubeq(work, "url", "tq-sample01", "--kind", "srt").stdout.strip()


def test_show_prints_the_channel_and_json(work: Path) -> None:
    shown = tubeq(work, "show", "tq-sample01", env={"COLUMNS": "120"})
    assert f"channel: Hearth & Handplane ({HEARTH})" in shown.stdout
    data = json.loads(tubeq(work, "show", "tq-sample01", "--json").stdout)
    assert data["meta"]["channel_title"] == "Hearth & Handplane"
    assert all(a["url"].startswith("file://") for a in data["artifacts"])


def test_status_and_dlq_list_as_json(work: Path) -> None:
    status = json.loads(tubeq(work, "status", "--json").stdout)
    assert status["progress"]["by_state"]["done"] == 19
    assert status["queue"]["dead"] == 1
    assert {v["video_id"] for v in status["recent_failures"]} >= {"tq-sample21"}
    dead = json.loads(tubeq(work, "dlq", "list", "--json").stdout)
    assert [d["video_id"] for d in dead["dead_letters"]] == ["tq-sample21"]


def test_dlq_redrive_takes_video_ids(work: Path) -> None:
    done = tubeq(work, "dlq", "redrive", "tq-sample21")
    assert done.returncode == 0, done.stderr
    assert "redrove 1" in done.stdout
    assert json.loads(tubeq(work, "dlq", "list", "--json").stdout)["dead_letters"] == []
    state = json.loads(tubeq(work, "show", "tq-sample21", "--json").stdout)["state"]
    assert state == "queued"
    again = tubeq(work, "dlq", "redrive", "https://youtu.be/tq-sample21")
    assert again.returncode == 1 and "no dead letter for: tq-sample21" in again.stderr


def test_channels_lists_counts(work: Path) -> None:
    data = json.loads(tubeq(work, "channels", "--json").stdout)
    by_id = {c["channel_id"]: c for c in data["channels"]}
    assert len(by_id) == 4
    assert by_id[HEARTH]["title"] == "Hearth & Handplane"
    assert (by_id[HEARTH]["videos"], by_id[HEARTH]["analysed"]) == (6, 5)
    table = tubeq(work, "channels", env={"COLUMNS": "120"}).stdout
    assert "Hearth & Handplane" in table and HEARTH in table


def test_export_by_handle_to_a_folder_quoted_with_titles_and_report_links(work: Path) -> None:
    out = work / "exports"
    done = tubeq(work, "export", "@hearth-handplane", "--out", str(out))
    assert done.returncode == 0, done.stderr
    raw = (out / f"{HEARTH}.csv").read_text(encoding="utf-8-sig")
    header = raw.splitlines()[0]
    assert header.startswith("video_id,title,")
    assert header.endswith(",channel_id,channel_title,report_url")
    assert '"' in raw  # summaries with commas are quoted (csv reads them back below)
    rows = list(csv.DictReader(raw.splitlines(keepends=True)))
    assert len(rows) == 5
    assert {r["channel_title"] for r in rows} == {"Hearth & Handplane"}
    assert all(r["report_url"].startswith("file://") for r in rows)
    assert (out / f"{HEARTH}.jsonl").read_text().count("\n") == 5
    by_url = tubeq(work, "export", f"https://www.youtube.com/channel/{HEARTH}", "--json")
    assert json.loads(by_url.stdout)["channels"][0]["rows"] == 5


def test_export_of_every_channel(work: Path) -> None:
    data = json.loads(tubeq(work, "export", "--out", str(work / "all"), "--json").stdout)
    assert len(data["channels"]) == 4
    assert sum(c["rows"] for c in data["channels"]) == 19
    assert len(list((work / "all").glob("*.csv"))) == 4
    playlist = tubeq(work, "export", "PLxxxxxxxxxxxxxxxxxxxxxxxx")
    assert playlist.returncode == 2 and "is a playlist" in playlist.stderr


def test_enqueue_says_what_was_already_there(work: Path) -> None:
    done = tubeq(work, "enqueue", "tq-sample01", "tq-sample01", "tq-sample02", "aaaaaaaaaaa")
    assert done.returncode == 0, done.stderr
    assert "1 duplicate input(s)" in done.stderr
    assert "2 already analysed (tq-sample01, tq-sample02)" in done.stderr
    again = tubeq(work, "enqueue", "aaaaaaaaaaa")
    assert "1 already queued or in progress (aaaaaaaaaaa)" in again.stderr


def test_consume_progress_display_and_log_file(tmp_path: Path) -> None:
    assert tubeq(tmp_path, "backfill", "@hearth-handplane").returncode == 0
    log = tmp_path / "consume.log"
    done = tubeq(
        tmp_path, "consume", "--burst", "--progress", "--log-file", str(log),
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # the display's last frame, then the closing line; no per-video log lines on stderr
    assert "5 done" in done.stdout and "1 failed" in done.stdout
    assert "backlog" in done.stdout and "spend" in done.stdout
    assert "done 5, skipped 0, failed 1" in done.stdout
    assert "message.acked" not in done.stderr
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events.count("message.acked") == 5 and "message.failed" in events


def test_status_watch_redraws_until_interrupted(work: Path) -> None:
    env = {
        "TUBEQ_DATA_DIR": str(work / "data"),
        "TUBEQ_LOG_FORMAT": "json",
        "PATH": "/usr/bin:/bin",
        "COLUMNS": "100",
        "TERM": "xterm",
    }
    # at a terminal (a pseudo-terminal here) it redraws live; it is interrupted once it has
    # drawn twice, however slow the machine is to start it
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tubeq", "status", "--watch", "--interval", "0.3"],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
        cwd=work,
    )
    os.close(slave)
    drawn = b""
    deadline = time.monotonic() + 60
    try:
        while drawn.count(b"videos by state") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, f"no redraw: {drawn!r}"
            if select.select([master], [], [], 0.2)[0]:
                drawn += os.read(master, 65536)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert b"queue:" in drawn
    assert tubeq(work, "status", "--watch", "--json").returncode == 2
