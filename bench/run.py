"""tubeq's benchmarks (issue 14): how much of the Gemini quota real consumers use.

    make bench                              # or: .venv/bin/python bench/run.py [--quick]

The physical limit of the pipeline is the model's quota (requests and input tokens per
minute), so the figures are shares of a quota, measured the way the provider counts: a local
Gemini stub (``bench/quota_stub.py``) enforces a sliding-window quota, refuses what is over
it with 429 RESOURCE_EXHAUSTED + RetryInfo, and counts input tokens by its own rule (~4
characters a token). The consumers are real: ``tubeq consume --burst`` processes with the
Gemini analyzer (google-genai) pointed at the stub, the directory transcript source on
generated transcripts of realistic lengths (``bench/transcripts.py``), the SQLite queue and
results in a temp folder (Postgres for the fleet figure). Everything runs in one run, side by
side; absolute numbers are printed for context, ratios are the results.

The window is shortened (15 s; the quick run 10 s) so the run fits in minutes;
what is a share of the window in production is scaled with it (``bench.harness.Timescale``).
"Quota use" is what the stub accepted per window ÷ the limit, in steady state: the first
window after the first accepted call is skipped. The in-process benchmarks of the embedded
adapters are ``bench/inprocess.py``. Peak RSS and CPU per video come from
``bench/per_video.py`` when it is there: run as ``per_video.py --json [--copies 2]`` within
``PER_VIDEO_TIMEOUT_S``, its JSON kept in results.json and summarised in one row
(``--no-per-video`` skips it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import Timescale, stop_all  # noqa: E402
from bench.other_figures import run_duplicates, run_enqueue, run_sequential, run_startup  # noqa: E402
from bench.quota_figures import Quota, QuotaResult, run_quota  # noqa: E402
from bench.quota_stub import Latency  # noqa: E402
from bench.rows import Failed, rows_of, why_notes  # noqa: E402
from bench.table import Row, at_most, markdown, print_table, write_readme  # noqa: E402
from bench.transcripts import generate  # noqa: E402
from shared.settings import BUNDLED_SAMPLES  # noqa: E402

T = TypeVar("T")
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
#: the model answers after 0.5 s plus 1 s per 100k input tokens
#: bench/per_video.py's time limit (half of it in the quick run)
PER_VIDEO_TIMEOUT_S = 150.0
#: the issue's goal for the consumer's own CPU per video
CPU_GOAL_MS = 3.0
LATENCY = Latency(base_s=0.5, tokens_per_s=100_000)


@dataclass(frozen=True)
class Plan:
    window_s: float
    measured: int  # windows measured after the skipped first one
    requests: int  # the provider's request limit per window (requests-bound figures)
    tokens_per_s: int  # the provider's token rate (tokens-bound figure)
    mixed: int  # generated videos of the mixed-length set
    long: int  # generated long videos
    duplicates: int  # videos delivered twice
    startup_repeats: int
    enqueue: int
    deadline_s: int

    @property
    def timescale(self) -> Timescale:
        return Timescale(self.window_s)


FULL = Plan(15.0, 3, 45, 40_000, 320, 130, 30, 3, 10_000, 15 * 60)
QUICK = Plan(10.0, 1, 30, 40_000, 160, 60, 10, 1, 10_000, 8 * 60)


class RunTimedOut(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise RunTimedOut("the benchmark run passed its deadline")


def requests_quota(plan: Plan, told: float = 1.0) -> Quota:
    # tokens far from binding: 4M a window vs ~45 calls of ~5k tokens
    return Quota(
        requests=plan.requests,
        tokens=4_000_000,
        budget_requests=round(plan.requests * told),
        budget_tokens=4_000_000,
        chunk_tokens=200_000,
    )


def tokens_quota(plan: Plan) -> Quota:
    tokens = int(plan.tokens_per_s * plan.window_s)
    # chunks at a quarter of the window's tokens: the 6-9 h streams are chunked
    return Quota(1000, tokens, 1000, tokens, chunk_tokens=tokens // 4)


def _fleet_dsn(work: Path) -> tuple[str | None, str]:
    """A fresh database (migrations applied) on a throwaway cluster, or why not."""
    try:
        from tests.support.postgres import shared_cluster

        cluster = shared_cluster()
        return cluster.dsn(cluster.create_database()), ""
    except BaseException as exc:  # pytest.skip's exception is a BaseException
        if isinstance(exc, KeyboardInterrupt | RunTimedOut):
            raise
        return None, f"{type(exc).__name__}: {exc}"


def guarded(log: Callable[[str], None], figure: Callable[[], T]) -> T | Failed:
    """The figure, or why it could not be measured (the run goes on with the next one)."""
    try:
        return figure()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
        log(f"  failed: {reason}")
        stop_all()
        return Failed(reason)


#: the figures ``--only`` can pick (each a key of results.json's "figures")
FIGURES = (
    "requests_k1",
    "requests_k2",
    "requests_k4",
    "requests_fleet",
    "tokens_k2",
    "over_quota_k2",
    "sequential",
    "duplicates",
    "enqueue",
    "startup",
)


#: ``--only`` this for ``bench/per_video.py``'s figures alone
PER_VIDEO = "per_video"


def _not_run() -> dict[str, Any]:
    """Every figure of ``FIGURES`` marked not run (``--only per_video``)."""
    return {"mixed_videos": 0, "long_videos": 0} | {n: Failed("not run (--only)") for n in FIGURES}


def measure(
    plan: Plan, work: Path, log: Any, only: frozenset[str] = frozenset(FIGURES)
) -> dict[str, Any]:
    out = _measure(plan, work, log, only)
    for name in FIGURES:
        out.setdefault(name, Failed("not run (--only)"))
    return out


def _measure(plan: Plan, work: Path, log: Any, only: frozenset[str]) -> dict[str, Any]:
    ts = plan.timescale
    log(f"generating transcripts in {work}")
    mixed = generate(work / "mixed", "mixed", plan.mixed, samples=BUNDLED_SAMPLES)
    long = generate(work / "long", "long", plan.long if "tokens_k2" in only else 1, samples=None)
    out: dict[str, Any] = {"mixed_videos": len(mixed.ids), "long_videos": len(long.ids)}

    def quota(name: str, **kw: Any) -> QuotaResult | Failed:
        log(f"{name} …")
        result = guarded(
            log,
            lambda: run_quota(
                name, work=work, timescale=ts, measured=plan.measured, latency=LATENCY, **kw
            ),
        )
        if isinstance(result, QuotaResult):
            total = result.accepted + result.refused
            log(f"  use {result.use:.3f}, refused {result.refused}/{total}")
        return result

    rq = requests_quota(plan)
    mixed_kw = {"transcripts": mixed.directory, "ids": mixed.ids, "bound": "requests"}
    for k in (1, 2, 4):
        if f"requests_k{k}" not in only:
            continue
        out[f"requests_k{k}"] = quota(f"requests_k{k}", quota=rq, processes=k, **mixed_kw)
    if "requests_fleet" in only:
        dsn, why = _fleet_dsn(work)
        out["requests_fleet"] = (
            quota("requests_fleet", quota=rq, processes=2, machines=2, fleet_dsn=dsn, **mixed_kw)
            if dsn is not None
            else Failed(why)
        )
    if "tokens_k2" in only:
        out["tokens_k2"] = quota(
            "tokens_k2",
            quota=tokens_quota(plan),
            processes=2,
            transcripts=long.directory,
            ids=long.ids,
            bound="tokens",
        )
    if "over_quota_k2" in only:
        out["over_quota_k2"] = quota(
            "over_quota_k2", quota=requests_quota(plan, told=1.2), processes=2, **mixed_kw
        )
    if "sequential" in only:
        log("sequential loop …")
        out["sequential"] = guarded(
            log,
            lambda: run_sequential(
                timescale=ts,
                measured=plan.measured,
                quota=rq,
                transcripts=mixed.directory,
                ids=mixed.ids,
                latency=LATENCY,
            ),
        )
    if "duplicates" in only:
        log("duplicates …")
        out["duplicates"] = guarded(
            log,
            lambda: run_duplicates(
                work=work,
                timescale=ts,
                transcripts=mixed.directory,
                ids=mixed.ids[: plan.duplicates],
                processes=2,
            ),
        )
    if "enqueue" in only:
        log("enqueue …")
        out["enqueue"] = guarded(log, lambda: run_enqueue(work=work, n=plan.enqueue))
    if "startup" in only:
        log("start-up …")
        out["startup"] = guarded(
            log,
            lambda: run_startup(
                work=work, timescale=ts, transcripts=mixed.directory, repeats=plan.startup_repeats
            ).as_dict(),
        )
    return out


def per_video_rows(quick: bool, log: Callable[[str], None]) -> tuple[list[Row], Any]:
    """``bench/per_video.py``'s figures (peak RSS, CPU per video and its split by stage), run
    as ``per_video.py --json`` in its own session, within ``PER_VIDEO_TIMEOUT_S``."""
    script = ROOT / "bench" / "per_video.py"
    figure, goal = "peak RSS and CPU per video (bench/per_video.py)", "printed"
    if not script.exists():
        return [Row(figure, "—", "—", goal, "not measured: bench/per_video.py not present")], None
    log("per-video figures (bench/per_video.py --json) …")
    args = [sys.executable, str(script), "--json"] + (["--copies", "2"] if quick else [])
    timeout = PER_VIDEO_TIMEOUT_S / (2 if quick else 1)
    raw, why = run_json(args, timeout)
    if raw is None:
        log(f"  failed: {why}")
        return [Row(figure, "—", "—", goal, f"not measured: {why}")], None
    rss = (
        f"peak RSS {raw.get('typical_rss_mb')} MB per consumer (baseline "
        f"{raw.get('baseline_rss_mb')} MB, a 12 h transcript {raw.get('long_rss_mb')} MB)"
    )
    cpu = (
        f"CPU {raw.get('cpu_ms_per_video_extractive')} ms per video with the extractive "
        f"analyzer, {raw.get('cpu_ms_per_video_instant')} ms with an instant one"
    )
    rows = [Row(figure, f"{raw.get('videos')} videos; {rss}; {cpu}", rss + "; " + cpu, goal)]
    return [*rows, cpu_row(raw)], raw


def cpu_row(raw: dict[str, Any]) -> Row:
    """Own CPU per video (instant analyzer, no limit) against the issue's 3 ms, with the
    in-process consumer's split by stage."""
    figure = "own CPU per video (instant analyzer, no limit), and per-stage split"
    goal = f"≤ {CPU_GOAL_MS:g} ms"
    own = raw.get("cpu_ms_per_video_instant")
    if not isinstance(own, int | float):
        return Row(figure, "—", "—", goal, "not measured")
    split = raw.get("stage_cpu_ms_per_video") or {}
    stages = ", ".join(f"{k} {v:.2f}" for k, v in sorted(split.items(), key=lambda kv: -kv[1]))
    measured = (
        f"{own:.2f} ms per video (consumer process minus its start-up); in one process "
        f"{raw.get('inprocess_cpu_ms_per_video_instant')} ms, split (ms): {stages}"
    )
    return Row(figure, measured, f"{own:.2f} ms", goal, at_most(own, CPU_GOAL_MS, "{:.2f} ms"))


def run_json(args: list[str], timeout_s: float) -> tuple[Any, str]:
    """Run ``args`` (its own session, killed whole on timeout); its stdout as JSON, or why not."""
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, f"did not finish within {timeout_s:g} s (stopped)"
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return None, f"exited {proc.returncode}: {tail[0][:200]}"
    try:
        return json.loads(out), ""
    except ValueError:
        return None, "its output is not JSON"


def _jsonable(value: Any) -> Any:
    if isinstance(value, QuotaResult):
        return value.as_dict()
    if isinstance(value, Failed):
        return {"not_measured": value.reason}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (smoke test)")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    parser.add_argument(
        "--no-per-video", action="store_true", help="skip bench/per_video.py's figures"
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated figures to run, of {', '.join(FIGURES)} and {PER_VIDEO} "
        f"(implies --no-readme, and --no-per-video unless {PER_VIDEO} is named)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    only = frozenset(n.strip() for n in args.only.split(",") if n.strip()) or frozenset(FIGURES)
    unknown = only - {*FIGURES, PER_VIDEO}
    if unknown:
        parser.error(
            f"unknown figure(s) {sorted(unknown)}; pick from {', '.join(FIGURES)}, {PER_VIDEO}"
        )
    if args.only:
        args.no_readme = True
        args.no_per_video = args.no_per_video or PER_VIDEO not in only
    plan = QUICK if args.quick else FULL
    command = ".venv/bin/python bench/run.py --quick" if args.quick else "make bench"
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)

    work = Path(tempfile.mkdtemp(prefix="tubeq-bench-"))
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(plan.deadline_s)
    try:
        out = measure(plan, work, log, only) if only & set(FIGURES) else _not_run()
        extra_rows, per_video = (
            per_video_rows(args.quick, log) if not args.no_per_video else ([], None)
        )
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(work, ignore_errors=True)
    took = time.monotonic() - started
    rows = rows_of(out) + extra_rows
    ts = plan.timescale
    notes = [
        f"Quota window shortened to {plan.window_s:g} s (Gemini's is 60 s); budget margin "
        f"{ts.margin_s:.3f} s, burst {ts.burst_s:.3f} s, first retry delay {ts.retry_base_s:.2f} s "
        "and the stub's retry-delay step scaled by the same factor; "
        f"{plan.measured} window(s) measured after a skipped first one.",
        f"Stub: sliding window, tokens = ⌈characters / 4⌉ of the request's text; answers in "
        f"{LATENCY.base_s:g} s + 1 s per {LATENCY.tokens_per_s:,.0f} input tokens. Requests-bound "
        f"figures: {plan.requests} calls per window, {out['mixed_videos']} videos of 1 min-4 h "
        f"(log-normal, median 12 min, bundled samples included); tokens-bound: "
        f"{tokens_quota(plan).tokens:,} tokens per window, {out['long_videos']} videos of 1-9 h.",
        f"Run took {took / 60:.1f} min on {platform.machine()} with {_cpus()} CPU(s); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    notes += why_notes(out)
    title = f"tubeq benchmarks (issue 14){' — quick run' if args.quick else ''}"
    print_table(rows, title, notes)
    args.out.write_text(
        json.dumps(
            {
                "command": command,
                "quick": args.quick,
                "took_s": round(took, 1),
                "plan": plan.__dict__,
                "figures": _jsonable(out),
                "per_video": per_video,
                "rows": [r.as_dict() for r in rows],
                "notes": notes,
            },
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    if not args.no_readme:
        write_readme(README, markdown(rows, f"Made by `{command}`:", notes))
    print(f"wrote {args.out}" + ("" if args.no_readme else " and README.md"))
    return 0


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
