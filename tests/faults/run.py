"""``python -m tests.faults.run [--quick] [--json out.json]``: run the fault suite, print
its table, write ``tests/faults/results.json``; exit 1 when a goal is missed.

The cases run in a few parallel lanes (each case has its own folders, stub and servers), so
the two 3-minute outages overlap the rest: the whole suite takes about as long as the
longest lane, a few minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.faults import cases
from tests.faults.harness import FAST_SETTINGS, CaseResult, as_json, markdown_table, print_table

Case = Callable[[Path], CaseResult]
HERE = Path(__file__).resolve().parent

NOTES = [
    "shortened settings: "
    + ", ".join(f"{k.removeprefix('TUBEQ_')}={v}" for k, v in FAST_SETTINGS.items())
    + "; Postgres/R2 timeouts 5 s; MAX_RETRIES=3 (the default)",
    "Gemini: a stub with 0.15-1.0 s latency per answer, billed before the reply is sent; "
    "paid calls and billed spend are the stub's own count",
    "a kill is 'mid-call' when the frozen consumer (SIGSTOP, sockets read, SIGKILL) had a "
    "request at the stub whose reply was not yet written; such a video may be paid once "
    "more, and that billed call cannot be recorded (shown as 'cut')",
    "lost = not done, or its analysis row or one of its 5 artifacts missing; dup = extra "
    "rows or artifact objects; DLQ = dead-letter rows",
]


def lanes(quick: bool) -> list[list[tuple[str, Case]]]:
    if quick:
        return [
            [
                ("sigkill", lambda w: cases.sigkills(w, videos=40, max_kills=8, budget_s=20)),
                ("bad-key", lambda w: cases.bad_key(w, videos=16, restarts=3)),
            ],
            [
                ("pg-10s", lambda w: cases.postgres_stop(w, videos=30, hold_s=10)),
                ("429", lambda w: cases.rate_limit_storm(w, videos=20, storm_s=6)),
            ],
        ]
    return [
        [("pg-180s", lambda w: cases.postgres_stop(w, videos=120, hold_s=180))],
        [("s3-180s", lambda w: cases.s3_stop(w, videos=120, hold_s=180))],
        [
            ("sigkill", lambda w: cases.sigkills(w, videos=300, max_kills=60, budget_s=150)),
            ("sigterm", lambda w: cases.sigterms(w, videos=60, rounds=6)),
            ("pg-30s", lambda w: cases.postgres_stop(w, videos=80, hold_s=30)),
            ("sqlite-locked", lambda w: cases.sqlite_locked(w, videos=80, hold_s=40)),
            ("disk-full", lambda w: cases.disk_full(w, videos=80, hold_s=20)),
            ("bad-key", lambda w: cases.bad_key(w, videos=30, restarts=6)),
            ("429", lambda w: cases.rate_limit_storm(w, videos=60, storm_s=20)),
        ],
    ]


def _crashed(name: str, exc: BaseException, started: float) -> CaseResult:
    result = CaseResult(case=name, videos=0, faults="(harness error)")
    result.problems.append(f"the case crashed: {exc!r}: {traceback.format_exc()[-1500:]}")
    result.seconds = time.monotonic() - started
    return result


def run(quick: bool, work: Path) -> list[CaseResult]:
    """Every case, lane by lane in parallel; results in the lanes' order."""
    plan = lanes(quick)
    slots: dict[str, CaseResult] = {}

    def lane(items: list[tuple[str, Case]]) -> None:
        for name, case in items:
            started = time.monotonic()
            try:
                slots[name] = case(work / name)
            except Exception as exc:
                slots[name] = _crashed(name, exc, started)
            print(
                f"  {name}: {'met' if slots[name].passed else 'MISSED'} "
                f"({slots[name].seconds:.0f} s)",
                flush=True,
            )

    threads = [threading.Thread(target=lane, args=(items,), daemon=True) for items in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=14 * 60)
    order = [name for items in plan for name, _ in items]
    return [slots.get(n) or _missing(n) for n in order]


def _missing(name: str) -> CaseResult:
    result = CaseResult(case=name, videos=0, faults="(did not finish)")
    result.problems.append("the case did not finish within the suite's time limit")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.run")
    parser.add_argument("--quick", action="store_true", help="the fast subset (under 90 s)")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tq-faults-"))
    started = time.monotonic()
    print(f"fault suite ({'quick' if args.quick else 'full'}), work folder {work}", flush=True)
    try:
        results = run(args.quick, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    print_table(results, NOTES)
    print(f"\n{len(results)} cases in {seconds:.0f} s\n\n{markdown_table(results)}")
    args.json.write_text(json.dumps(as_json(results, NOTES, seconds), indent=2, default=str))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
