"""The shared Gemini rate budget: the sliding-window rule and two real processes on one file.

What every budget must do is in ``tests/contract/rate_budget_contract.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.factory import build_rate_budget
from shared.rate_budget import (
    Limits,
    SqliteRateBudget,
    wait_needed,
)
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_wait_needed_counts_requests_and_tokens() -> None:
    lim = Limits(requests=2, tokens=100, window_s=60)
    assert wait_needed([], 50, 0.0, lim) == 0.0
    assert wait_needed([(0.0, 10)], 50, 1.0, lim) == 0.0
    # request limit: the oldest grant must leave the window first
    assert wait_needed([(0.0, 10), (5.0, 10)], 1, 10.0, lim) == pytest.approx(50.0)
    # token limit: 60 + 50 > 100, so wait until the 60-token grant expires
    assert wait_needed([(2.0, 60)], 50, 10.0, lim) == pytest.approx(52.0)
    # grants older than the window do not count
    assert wait_needed([(0.0, 100), (1.0, 100)], 100, 61.5, lim) == 0.0
    # bigger than the whole limit: allowed once the window is empty, never before
    assert wait_needed([], 500, 0.0, lim) == 0.0
    assert wait_needed([(3.0, 1)], 500, 4.0, lim) == pytest.approx(59.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="TUBEQ_GEMINI_RPM"):
        Limits(requests=0, tokens=10)


def test_default_budget_wait_rides_out_normal_contention() -> None:
    # a call should wait for a busy minute rather than bounce back to the queue
    settings = Settings()
    assert settings.gemini_budget_wait_s >= 60
    assert settings.gemini_budget_wait_s + settings.gemini_timeout_s < settings.visibility_timeout_s


def test_the_factory_builds_the_budget_in_the_data_dir(tmp_path: Path) -> None:
    budget = build_rate_budget(Settings(data_dir=tmp_path, gemini_rpm=7, gemini_tpm=5000))
    assert isinstance(budget, SqliteRateBudget)
    assert budget.path == tmp_path / "budget.sqlite3"
    assert budget.limits == Limits(7, 5000)
    budget.close()


_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from shared.errors import RateLimited
    from shared.rate_budget import Limits, SqliteRateBudget

    path, out, start_at, run_s, n, window = sys.argv[1:]
    budget = SqliteRateBudget(Path(path), Limits(int(n), 10**9, float(window)))
    granted, limited = [], None
    ready = time.time()
    time.sleep(max(0.0, float(start_at) - time.time()))
    stop = float(start_at) + float(run_s)
    while time.time() < stop:
        try:
            budget.acquire(1, timeout_s=max(0.0, stop - time.time()))
        except RateLimited as exc:
            limited = exc.retry_after
            break
        granted.append(time.time())
    Path(out).write_text(json.dumps({"granted": granted, "ready": ready, "limited": limited}))
    """
)


@pytest.mark.slow
def test_two_processes_hammering_never_exceed_the_budget(tmp_path: Path) -> None:
    n, window, run_s = 4, 1.0, 2.2
    db = tmp_path / "budget.sqlite3"
    start_at = time.time() + 1.5  # both are past their imports by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                str(db),
                str(tmp_path / f"out{i}.json"),
                str(start_at),
                str(run_s),
                str(n),
                str(window),
            ],
            cwd=ROOT,
        )
        for i in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=30) == 0
    reports = [json.loads((tmp_path / f"out{i}.json").read_text()) for i in range(2)]
    per_process = [r["granted"] for r in reports]
    grants = sorted(t for times in per_process for t in times)

    assert all(per_process), f"both processes must have got budget: {reports}, start {start_at}"
    # without the shared budget two tight loops would take thousands of grants
    assert n * 2 <= len(grants) <= n * (int(run_s / window) + 1)
    # times are taken just after acquire returns, so allow a little slack on the window
    slack = 0.05
    for i, t in enumerate(grants):
        in_window = [g for g in grants[i:] if g < t + window - slack]
        assert len(in_window) <= n, f"{len(in_window)} grants within {window}s from {t}"
