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
import atexit
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
LONG_ID = "bqlong12hrs"
#: passes of the in-process consumer whose stages are timed (the least total is kept)
STAGED_PASSES = 2
_VOCABULARY = (
    "the a to and of we you it is that this in for on with so just what queue worker message "
    "retry budget model video channel stream minute hour today going really think know people "
    "data time work build make right here there because about would could should first next"
)
_WORDS = _VOCABULARY.split(" ")


# ---- the child: a consumer with optional counters and an instant analyzer ---------------


def _child(root: Path, instant: bool, count_to: Path | None, argv: list[str]) -> None:
    sys.path.insert(0, str(root))
    if count_to is not None:
        _install_counters(count_to)
    if instant:
        _make_analyzer_instant()
    from tubeq.cli.main import run

    sys.argv = ["tubeq", *argv]
    run()


def _make_analyzer_instant() -> None:
    """The extractive analyzer answers at once with a canned analysis: what is left is the
    consumer's own work."""
    from shared.adapters import extractive_analyzer as ea
    from shared.models import Analysis

    def analyze(self: Any, transcript: Any, meta: Any) -> Analysis:
        return Analysis(
            video_id=transcript.video_id,
            analysis_version=self.analysis_version,
            analyzer="instant (bench)",
            summary="A canned summary.",
            key_points=["a point"],
            topics=["bench"],
            quotes=[],
            language=transcript.language,
        )

    ea.ExtractiveAnalyzer.analyze = analyze  # type: ignore[method-assign]


def _pipeline_cpu(root: Path, transcripts: Path, repeats: int) -> None:
    """The pipeline alone, in this process, with the instant analyzer: CPU ms per video,
    best of ``repeats`` passes over every video (fresh stores each pass); then a consumer in
    this process (the real runner, SQLite queue and logging to /dev/null) with the CPU of each
    stage counted (``_Stages``); printed as one JSON line."""
    sys.path.insert(0, str(root))
    _make_analyzer_instant()
    import structlog

    from consumer.pipeline import Pipeline
    from shared.adapters.directory_transcripts import DirectoryTranscriptSource
    from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
    from shared.adapters.local_artifacts import LocalArtifactStore
    from shared.adapters.sqlite_results import SqliteResultStore
    from shared.logging import configure_logging
    from shared.models import VideoJob

    sink = Path(os.devnull).open("w")  # noqa: SIM115 - open for the life of this process
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sink))
    source = DirectoryTranscriptSource(transcripts)
    ids = source.list_ids()
    best = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            results = SqliteResultStore(Path(tmp) / "results.sqlite3")
            pipeline = Pipeline(
                transcripts=source,
                analyzer=ExtractiveAnalyzer(),
                results=results,
                artifacts=LocalArtifactStore(Path(tmp) / "artifacts"),
            )
            started = time.process_time()
            for vid in ids:
                pipeline.process(VideoJob(video_id=vid))
            best = min(best, (time.process_time() - started) / len(ids))
            results.close()
    configure_logging("INFO", "json", stream=sink)  # as ``tubeq consume`` logs
    passes = (_staged_consumer(source, ids) for _ in range(STAGED_PASSES))
    split = min(passes, key=lambda s: s["total"])
    print(
        json.dumps(
            {
                "pipeline_cpu_ms_per_video_instant": round(1000 * best, 2),
                "inprocess_cpu_ms_per_video_instant": split.pop("total"),
                "stage_cpu_ms_per_video": split,
            }
        )
    )


class _Stages:
    """CPU time of each thread charged to the stage it is in: a call into a port (or a
    renderer, or the logging chain) is timed with ``time.thread_time`` and charged to that
    stage; a stage entered inside another pauses the outer one, so each figure is the
    stage's own. What no stage claims is the pipeline's and the runner's own code."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()

    def _charge(self, now: float) -> None:
        stack: list[str] = self._local.stack
        if stack:
            with self._lock:
                self.totals[stack[-1]] += now - self._local.mark
        self._local.mark = now

    def enter(self, stage: str) -> None:
        if not hasattr(self._local, "stack"):
            self._local.stack, self._local.mark = [], time.thread_time()
        self._charge(time.thread_time())
        self._local.stack.append(stage)

    def leave(self) -> None:
        self._charge(time.thread_time())
        self._local.stack.pop()

    def timed(self, stage: str, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.enter(stage)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        return call

    def timed_iter(self, stage: str, fn: Any) -> Any:
        """A generator function whose every step is charged to ``stage`` (not the caller's
        work between steps)."""

        def call(*args: Any, **kwargs: Any) -> Any:
            items = self.timed(stage, fn)(*args, **kwargs)
            step = self.timed(stage, next)
            while True:
                try:
                    yield step(items)
                except StopIteration:
                    return

        return call

    def wrap(self, obj: Any, stage: str, *names: str) -> None:
        for name in names:
            setattr(obj, name, self.timed(stage, getattr(obj, name)))


def _staged_consumer(source: Any, ids: list[str]) -> dict[str, float]:
    """One pass of a consumer in this process, every stage's CPU counted: ms per video."""
    import structlog

    import consumer.pipeline as pipeline_module
    from consumer.pipeline import Pipeline
    from consumer.runner import Runner, RunnerConfig
    from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
    from shared.adapters.local_artifacts import LocalArtifactStore
    from shared.adapters.sqlite_queue import SqliteQueue
    from shared.adapters.sqlite_results import SqliteResultStore
    from shared.models import VideoJob

    stages = _Stages()
    config = structlog.get_config()
    processors = [stages.timed("log", p) for p in config["processors"]]
    factory = config["logger_factory"]

    def logger_factory(*args: Any) -> Any:
        logger = factory(*args)
        logger.msg = stages.timed("log", logger.msg)
        for level in ("debug", "info", "warning", "error", "exception", "critical"):
            setattr(logger, level, logger.msg)
        return logger

    structlog.configure(processors=processors, logger_factory=logger_factory)
    names = ("render_transcript_json", "iter_artifacts")
    renderers = {n: getattr(pipeline_module, n) for n in names}
    try:
        setattr(pipeline_module, names[0], stages.timed("render", renderers[names[0]]))
        setattr(pipeline_module, names[1], stages.timed_iter("render", renderers[names[1]]))
        with tempfile.TemporaryDirectory() as tmp:
            queue = SqliteQueue(Path(tmp) / "queue.sqlite3")
            queue.send([VideoJob(video_id=vid, source="bench") for vid in ids])
            results = SqliteResultStore(Path(tmp) / "results.sqlite3")
            artifacts = LocalArtifactStore(Path(tmp) / "artifacts")
            analyzer = ExtractiveAnalyzer()
            stages.wrap(source, "fetch", "fetch")
            stages.wrap(analyzer, "analyze", "analyze")
            stages.wrap(results, "results: checks and claims", "is_done", "find_analysis")
            stages.wrap(results, "results: checks and claims", "claim_analysis", "save_analysis")
            stages.wrap(results, "results: record_success", "record_success")
            stages.wrap(artifacts, "artifacts: write", "put")
            stages.wrap(queue, "queue", "pull", "ack", "stats", "leases_expire_by")
            pipeline = Pipeline(
                transcripts=source, analyzer=analyzer, results=results, artifacts=artifacts
            )
            runner = Runner(
                queue=queue, process=pipeline.process, results=results, config=RunnerConfig()
            )
            started = time.process_time()
            stats = runner.run(burst=True, wait_for_leases=False)
            total = time.process_time() - started
            queue.close()
            results.close()
            for name in ("fetch",):
                delattr(source, name)
    finally:
        for name, fn in renderers.items():
            setattr(pipeline_module, name, fn)
        structlog.configure(processors=config["processors"], logger_factory=factory)
    if stats.done != len(ids):
        raise SystemExit(f"in-process consumer: {stats.done} of {len(ids)} videos done")
    n = len(ids)
    split = {k: round(1000 * v / n, 3) for k, v in sorted(stages.totals.items())}
    split["pipeline, runner and threads (the rest)"] = round(
        1000 * (total - sum(stages.totals.values())) / n, 3
    )
    return {"total": round(1000 * total / n, 2), **split}


def _install_counters(out: Path) -> None:
    statements: Counter[str] = Counter()
    fsyncs: Counter[str] = Counter()
    real_connect = sqlite3.connect
    real_fsync, real_fdatasync = os.fsync, os.fdatasync

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(database, *args, **kwargs)
        name = Path(str(database)).name
        last: list[str] = [""]

        def trace(sql: str) -> None:
            # ours only, as tests/integration/test_per_video_work.py counts them: SQLite also
            # traces what runs inside a statement (the search index's triggers and FTS5's
            # shadow tables, as "-- …" lines) and reports a statement again at each trigger
            if sql.startswith("--") or sql == last[0]:
                return
            last[0] = sql
            statements[name] += 1

        conn.set_trace_callback(trace)
        return conn  # type: ignore[no-any-return]

    def fsync(fd: Any) -> None:
        fsyncs["fsync"] += 1
        real_fsync(fd)

    def fdatasync(fd: Any) -> None:
        fsyncs["fdatasync"] += 1
        real_fdatasync(fd)

    sqlite3.connect = connect  # type: ignore[assignment]
    os.fsync, os.fdatasync = fsync, fdatasync

    def dump() -> None:
        out.write_text(json.dumps({"statements": statements, "fsyncs": fsyncs}))

    atexit.register(dump)


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
        _pipeline_cpu(args.root.resolve(), args.pipeline_cpu, repeats=3)
        return
    if args.child:
        _child(args.root.resolve(), args.instant, args.count_to, args.argv)
        return
    figures = measure(args.root.resolve(), args.copies, args.segments)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
