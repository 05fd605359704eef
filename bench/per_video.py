"""Per-video figures of one consumer (issue 14): peak RSS, CPU per video, SQLite statements
and fsyncs per video, on the embedded adapters (SQLite queue and results, local artifacts,
the directory transcript source, the extractive analyzer).

    .venv/bin/python bench/per_video.py [--root PATH] [--copies 8] [--segments 40000] [--json]

Every figure comes from real ``tubeq consume --burst`` subprocesses (``os.wait4`` gives each
one's own ``ru_maxrss`` and CPU; ``RUSAGE_CHILDREN`` would mix in the enqueue runs):

- ``baseline``: an empty queue, the consumer's start-up alone; subtracted from CPU figures;
- ``typical``: the bundled samples that have a transcript, ``--copies`` times each (new ids),
  with the extractive analyzer: peak RSS and CPU per video;
- ``instant``: the same videos with an analyzer that answers at once (a canned analysis):
  the consumer's own CPU per video;
- ``pipeline_cpu``: the pipeline alone in one process with the instant analyzer, best of
  three passes (no consumer start-up, runner or queue to subtract: the steadiest figure on a
  busy machine); then the same videos through a consumer in one process (the real runner and
  SQLite queue, JSON logs to /dev/null), each stage's CPU counted per thread
  (``stage_cpu_ms_per_video``: fetch, analyze, render, artifacts, results, queue, log, and the
  rest: the pipeline's and the runner's own code);
- ``counted``: the same again with counters: SQLite statements per video (a trace callback
  on every connection, by file) and fsyncs per video (``os.fsync``/``os.fdatasync`` from
  Python; and every fsync/fdatasync of the process, SQLite's included, through
  ``strace -f -c`` when strace is installed);
- ``12h``: one generated 12-hour transcript (``--segments`` segments, ~5 MB of JSON), with the
  extractive analyzer and with the instant one: peak RSS.

``--root`` runs another checkout's code with this venv, for before/after figures::

    git worktree add /tmp/before-14 HEAD
    .venv/bin/python bench/per_video.py --root /tmp/before-14
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the measured process's side, beside this script (its folder is on sys.path when run)
from per_video_child import child, pipeline_cpu

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
LONG_ID = "bqlong12hrs"
_VOCABULARY = (
    "the a to and of we you it is that this in for on with so just what queue worker message "
    "retry budget model video channel stream minute hour today going really think know people "
    "data time work build make right here there because about would could should first next"
)
_WORDS = _VOCABULARY.split(" ")


# ---- the parent: data, runs, figures ----------------------------------------------------


def _sample_copies(samples: Path, folder: Path, copies: int) -> list[str]:
    """The samples that have a transcript, ``copies`` times each under new ids."""
    ids = []
    for path in sorted(samples.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("error") or not doc.get("segments"):
            continue
        for copy in range(copies):
            vid = f"bp{copy:02d}{path.stem[-7:]}"
            doc["video"]["video_id"] = vid
            (folder / f"{vid}.json").write_text(json.dumps(doc), encoding="utf-8")
            ids.append(vid)
    return ids


def _long_transcript(folder: Path, segments: int) -> str:
    """A 12-hour stream: ``segments`` ASR-style segments spread over 12 hours."""
    rng = random.Random(14)
    step = 12 * 3600 / segments
    segs = []
    for i in range(segments):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 11)))
        segs.append({"start": round(i * step, 2), "duration": round(step, 2), "text": words})
    doc = {
        "video": {"video_id": LONG_ID, "title": "A 12-hour stream", "duration_s": 12 * 3600},
        "language": "en",
        "language_name": "English",
        "is_generated": True,
        "segments": segs,
    }
    (folder / f"{LONG_ID}.json").write_text(json.dumps(doc), encoding="utf-8")
    return LONG_ID


class Bench:
    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.work = work
        self.python = sys.executable

    def _env(self, data: Path, transcripts: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
        env.update(
            PYTHONPATH=str(self.root),
            TUBEQ_DATA_DIR=str(data),
            TUBEQ_TRANSCRIPTS_DIR=str(transcripts),
            TUBEQ_ANALYZER_BACKEND="extractive",
            TUBEQ_LOG_FORMAT="json",
        )
        return env

    def run(
        self,
        name: str,
        ids: list[str],
        transcripts: Path,
        *,
        instant: bool = False,
        count: bool = False,
        strace: bool = False,
    ) -> dict[str, Any]:
        data = self.work / name
        data.mkdir()
        env = self._env(data, transcripts)
        if ids:
            listing = data / "ids.txt"
            listing.write_text("\n".join(ids) + "\n")
            subprocess.run(
                [self.python, "-m", "tubeq", "enqueue", "--file", str(listing)],
                cwd=self.root,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        counts = data / "counts.json"
        cmd = [self.python, str(HERE), "--child", "--root", str(self.root)]
        cmd += ["--instant"] if instant else []
        cmd += ["--count-to", str(counts)] if count else []
        cmd += ["--", "consume", "--burst"]
        trace = data / "strace.txt"
        if strace:
            cmd = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(trace), *cmd]
        started = time.perf_counter()
        log = data / "consumer.log"
        with log.open("wb") as sink:  # a file, not a pipe: a full pipe would block it
            proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=sink, stderr=sink)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{name}: consumer exited {status}:\n{tail}")
        done = _done_count(data)
        if ids and done != len(ids):
            raise SystemExit(f"{name}: {done} of {len(ids)} videos done")
        out: dict[str, Any] = {
            "videos": done,
            "maxrss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "wall_s": wall,
        }
        if count:
            out |= json.loads(counts.read_text())
        if strace:
            out["strace_fsyncs"] = _strace_calls(trace)
        return out


def _done_count(data: Path) -> int:
    for path in data.rglob("*.sqlite3"):
        with sqlite3.connect(path) as db:
            try:
                (n,) = db.execute("SELECT count(*) FROM videos WHERE state = 'done'").fetchone()
            except sqlite3.OperationalError:
                continue
            return int(n)
    return 0


def _strace_calls(path: Path) -> int:
    calls = 0
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and parts[-1] in ("fsync", "fdatasync"):
            calls += int(parts[3])
    return calls


def measure(root: Path, copies: int, segments: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tubeq-per-video-") as tmp:
        work = Path(tmp)
        typical_dir, long_dir = work / "typical-transcripts", work / "long-transcripts"
        typical_dir.mkdir()
        long_dir.mkdir()
        ids = _sample_copies(root / "samples" / "transcripts", typical_dir, copies)
        long_ids = [_long_transcript(long_dir, segments)]
        bench = Bench(root, work)
        base = bench.run("baseline", [], typical_dir)
        typical = bench.run("typical", ids, typical_dir)
        instant = bench.run("instant", ids, typical_dir, instant=True)
        counted = bench.run("counted", ids, typical_dir, instant=True, count=True)
        straced = (
            bench.run("straced", ids, typical_dir, instant=True, strace=True)
            if shutil.which("strace")
            else None
        )
        pipeline_cpu = subprocess.run(
            [sys.executable, str(HERE), "--root", str(root), "--pipeline-cpu", str(typical_dir)],
            check=True,
            capture_output=True,
            text=True,
        )
        long = bench.run("long", long_ids, long_dir)
        long_instant = bench.run("long-instant", long_ids, long_dir, instant=True)

    n = len(ids)

    def per_video_ms(run: dict[str, Any]) -> float:
        return 1000 * (float(run["cpu_s"]) - float(base["cpu_s"])) / int(run["videos"])

    statements = {k: v / n for k, v in counted["statements"].items()}
    return {
        "root": str(root),
        "videos": n,
        "long_segments": segments,
        "baseline_rss_mb": round(base["maxrss_mb"], 1),
        "typical_rss_mb": round(typical["maxrss_mb"], 1),
        "long_rss_mb": round(long["maxrss_mb"], 1),
        "long_instant_rss_mb": round(long_instant["maxrss_mb"], 1),
        "cpu_ms_per_video_extractive": round(per_video_ms(typical), 2),
        "cpu_ms_per_video_instant": round(per_video_ms(instant), 2),
        **json.loads(pipeline_cpu.stdout.strip().splitlines()[-1]),
        "cpu_s_long_extractive": round(long["cpu_s"] - base["cpu_s"], 2),
        "cpu_s_long_instant": round(long_instant["cpu_s"] - base["cpu_s"], 2),
        "statements_per_video": {k: round(v, 2) for k, v in sorted(statements.items())},
        "statements_per_video_total": round(sum(statements.values()), 2),
        "python_fsyncs_per_video": round(sum(counted["fsyncs"].values()) / n, 2),
        "all_fsyncs_per_video": (
            round(straced["strace_fsyncs"] / n, 2) if straced is not None else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--copies", type=int, default=8, help="copies of each sample")
    parser.add_argument("--segments", type=int, default=40_000, help="segments of the 12 h one")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--instant", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count-to", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-cpu", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("argv", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline_cpu:
        pipeline_cpu(args.root.resolve(), args.pipeline_cpu, repeats=3)
        return
    if args.child:
        child(args.root.resolve(), args.instant, args.count_to, args.argv)
        return
    figures = measure(args.root.resolve(), args.copies, args.segments)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
