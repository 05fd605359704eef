"""tubeq's in-process benchmarks (the embedded adapters, no model, no quota): each figure is
a ratio of two runs measured side by side, in one process, on the same machine at the same
time (machines here are noisy; absolute numbers are printed for context only).

    .venv/bin/python bench/inprocess.py [--quick]     # make bench runs bench/run.py instead

1. Enqueue: the SQLite queue, one `send` per job vs one `send` per 100 jobs.
2. Consumer concurrency: the real runner, pipeline and embedded adapters over the bundled
   samples, with a model call modelled as 100 ms of waiting (an I/O-bound Gemini call):
   concurrency 1 vs 4 vs 8.
3. Redelivery: processing a video vs skipping it when it is redelivered (already done).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consumer.pipeline import Pipeline  # noqa: E402
from consumer.runner import Runner, RunnerConfig  # noqa: E402
from shared.adapters.directory_transcripts import DirectoryTranscriptSource  # noqa: E402
from shared.adapters.extractive_analyzer import ExtractiveAnalyzer  # noqa: E402
from shared.adapters.local_artifacts import LocalArtifactStore  # noqa: E402
from shared.adapters.sqlite_queue import SqliteQueue  # noqa: E402
from shared.adapters.sqlite_results import SqliteResultStore  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.models import Analysis, Transcript, VideoJob, VideoMeta  # noqa: E402
from shared.retry_policy import RetryPolicy  # noqa: E402
from shared.settings import BUNDLED_SAMPLES  # noqa: E402

MODEL_LATENCY_S = 0.1


def best_of(repeats: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeats))


def bench_enqueue(n: int, repeats: int) -> tuple[float, float]:
    jobs = [VideoJob(video_id=f"bench{i:06d}") for i in range(n)]

    def one_by_one() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            q = SqliteQueue(Path(tmp) / "q.sqlite3")
            start = time.perf_counter()
            for job in jobs:
                q.send([job])
            took = time.perf_counter() - start
            q.close()
            return took

    def batched() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            q = SqliteQueue(Path(tmp) / "q.sqlite3")
            start = time.perf_counter()
            for i in range(0, n, 100):
                q.send(jobs[i : i + 100])
            took = time.perf_counter() - start
            q.close()
            return took

    # Interleave the two so both see the same machine load.
    singles, batches = [], []
    for _ in range(repeats):
        singles.append(one_by_one())
        batches.append(batched())
    return min(singles), min(batches)


class SlowModel:
    """The real extractive analyzer plus a fixed wait, standing in for a remote model call."""

    name = "extractive"

    def __init__(self) -> None:
        self.inner = ExtractiveAnalyzer()

    @property
    def analysis_version(self) -> str:
        return self.inner.analysis_version

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis:
        time.sleep(MODEL_LATENCY_S)
        return self.inner.analyze(transcript, meta)


def sample_ids() -> list[str]:
    source = DirectoryTranscriptSource(BUNDLED_SAMPLES)
    ok = []
    for vid in source.list_ids():
        try:
            source.fetch(vid)
        except Exception:  # the failure samples are not part of this benchmark
            continue
        ok.append(vid)
    return ok


def consume_all(concurrency: int, ids: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        queue = SqliteQueue(root / "q.sqlite3")
        results = SqliteResultStore(root / "r.sqlite3")
        pipeline = Pipeline(
            transcripts=DirectoryTranscriptSource(BUNDLED_SAMPLES),
            analyzer=SlowModel(),
            results=results,
            artifacts=LocalArtifactStore(root / "a"),
        )
        runner = Runner(
            queue=queue,
            process=pipeline.process,
            results=results,
            policy=RetryPolicy(),
            config=RunnerConfig(concurrency=concurrency, batch_size=10, poll_interval_s=0.01),
        )
        queue.send([VideoJob(video_id=v) for v in ids])
        start = time.perf_counter()
        stats = runner.run(burst=True)
        took = time.perf_counter() - start
        assert stats.done == len(ids), stats
        queue.close()
        results.close()
        return took


def bench_redelivery(ids: list[str], repeats: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results = SqliteResultStore(root / "r.sqlite3")
        pipeline = Pipeline(
            transcripts=DirectoryTranscriptSource(BUNDLED_SAMPLES),
            analyzer=ExtractiveAnalyzer(),
            results=results,
            artifacts=LocalArtifactStore(root / "a"),
        )
        first, again = [], []
        for vid in ids:
            job = VideoJob(video_id=vid)
            start = time.perf_counter()
            pipeline.process(job)
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            for _ in range(repeats):
                pipeline.process(job)
            again.append((time.perf_counter() - start) / repeats)
        results.close()
        return statistics.median(first), statistics.median(again)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = parser.parse_args()
    configure_logging("ERROR", "json")
    n, repeats = (500, 1) if args.quick else (3000, 3)

    print(f"1. enqueue {n} jobs into the SQLite queue (best of {repeats}, interleaved)")
    single, batch = bench_enqueue(n, repeats)
    print(f"   one send per job: {single:.3f} s   one send per 100: {batch:.3f} s")
    print(f"   ratio: batched is {single / batch:.1f}x faster")

    ids = sample_ids()
    print(f"\n2. consume {len(ids)} sample videos, model call modelled as {MODEL_LATENCY_S}s wait")
    levels = (1, 4) if args.quick else (1, 4, 8)
    timings = {c: consume_all(c, ids) for c in levels}
    for c, took in timings.items():
        print(f"   concurrency {c}: {took:.2f} s ({len(ids) / took:.1f} videos/s)")
    for c in levels[1:]:
        print(f"   ratio: concurrency {c} is {timings[1] / timings[c]:.1f}x concurrency 1")

    print("\n3. a redelivered video that is already done vs processing it the first time")
    first, again = bench_redelivery(ids, 3 if args.quick else 20)
    print(f"   first time: {first * 1000:.1f} ms   redelivered: {again * 1000:.2f} ms (median)")
    print(f"   ratio: a redelivery costs {again / first:.3f} of the first processing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
