"""The child side of ``per_video.py``: what runs inside the measured process. A consumer
with optional counters (SQLite statements and fsyncs, dumped at exit) and an analyzer that
answers at once (``child``), and the pipeline and an in-process consumer with every stage's
CPU counted (``pipeline_cpu``). ``per_video.py`` starts these as ``--child`` and
``--pipeline-cpu`` runs of itself, each on the checkout given by ``--root``."""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

#: passes of the in-process consumer whose stages are timed (the least total is kept)
STAGED_PASSES = 2


def child(root: Path, instant: bool, count_to: Path | None, argv: list[str]) -> None:
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


def pipeline_cpu(root: Path, transcripts: Path, repeats: int) -> None:
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
