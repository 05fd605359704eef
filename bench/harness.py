"""Real consumer processes against the quota stub: their settings, start, stop, and logs.

Every process is ``python -m tubeq …`` in its own session (so it and only it is signalled),
its output in a file under the run's temp folder. ``Processes.stop`` sends SIGTERM (the
consumer finishes in-flight work within its grace period), then SIGKILL to whatever is
left; ``stop_all`` at the end of the run catches anything a failed figure left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: every process any figure started, so the run can stop them all whatever happened
_STARTED: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class Timescale:
    """The quota window of the run and what scales with it.

    Gemini's quotas are per minute; the run uses ``window_s`` instead, and shrinks every
    setting that is a share of the window by ``window_s / 60``, so each keeps the share of
    the quota it has in production: the budget's margin and burst tolerance (0.25 s and
    0.5 s of 60 s), the provider's retry-delay granularity (whole seconds of 60) and the
    first retry delay (10 s). The chunk size is shrunk with the token limit (≤ half of it).
    """

    window_s: float

    @property
    def scale(self) -> float:
        return self.window_s / 60.0

    @property
    def margin_s(self) -> float:
        return 0.25 * self.scale

    @property
    def burst_s(self) -> float:
        return 0.5 * self.scale

    @property
    def retry_base_s(self) -> float:
        return 10.0 * self.scale


@dataclass
class Machine:
    """One machine's consumers: their data folder and settings."""

    data_dir: Path
    env: dict[str, str]


def base_env() -> dict[str, str]:
    """The parent's environment without any TUBEQ_* setting (and no .env: cwd is a temp dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def consumer_env(
    data_dir: Path,
    *,
    gemini_url: str,
    api_key: str,
    transcripts: Path,
    rpm: int,
    tpm: int,
    chunk_tokens: int,
    timescale: Timescale,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = base_env()
    env.update(
        TUBEQ_DATA_DIR=str(data_dir),
        TUBEQ_LOG_FORMAT="json",
        TUBEQ_LOG_LEVEL="INFO",
        TUBEQ_ANALYZER_BACKEND="gemini",
        TUBEQ_GEMINI_API_KEY=api_key,
        TUBEQ_GEMINI_BASE_URL=gemini_url,
        TUBEQ_GEMINI_TIMEOUT_S="60",
        TUBEQ_TRANSCRIPT_BACKEND="directory",
        TUBEQ_TRANSCRIPTS_DIR=str(transcripts),
        TUBEQ_GEMINI_RPM=str(rpm),
        TUBEQ_GEMINI_TPM=str(tpm),
        TUBEQ_GEMINI_CHUNK_TOKENS=str(chunk_tokens),
        TUBEQ_RATE_BUDGET_WINDOW_S=f"{timescale.window_s:g}",
        TUBEQ_RATE_BUDGET_MARGIN_S=f"{timescale.margin_s:g}",
        TUBEQ_RATE_BUDGET_BURST_S=f"{timescale.burst_s:g}",
        TUBEQ_RETRY_BASE_S=f"{timescale.retry_base_s:g}",
        TUBEQ_SHUTDOWN_GRACE_S="5",
        TUBEQ_PREFLIGHT_WAIT_S="20",
    )
    env.update(extra or {})
    return env


def tubeq(env: dict[str, str], cwd: Path, *args: str, timeout: float = 120) -> tuple[float, str]:
    """Run ``tubeq args…`` to completion; (seconds it took, its output). Raises on failure."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tubeq", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"tubeq {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}"
        )
    return took, proc.stdout


@dataclass
class Consumer:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    started_at: float  # time.time() at spawn


@dataclass
class Processes:
    """The consumer processes of one figure."""

    logs: Path
    consumers: list[Consumer] = field(default_factory=list)

    def spawn(self, env: dict[str, str], name: str, *args: str) -> Consumer:
        self.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.logs / f"{name}.log"
        with log_path.open("wb") as out:
            started = time.time()
            proc = subprocess.Popen(
                [sys.executable, "-m", "tubeq", "consume", "--burst", *args],
                env=env,
                cwd=self.logs,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _STARTED.append(proc)
        consumer = Consumer(name, proc, log_path, started)
        self.consumers.append(consumer)
        return consumer

    def wait(self, timeout_s: float) -> bool:
        """Wait for every consumer to exit on its own (burst: queue drained); False on timeout."""
        deadline = time.monotonic() + timeout_s
        for c in self.consumers:
            left = deadline - time.monotonic()
            try:
                c.proc.wait(timeout=max(0.01, left))
            except subprocess.TimeoutExpired:
                return False
        return True

    def stop(self, grace_s: float = 8.0) -> None:
        """SIGTERM (finish in-flight work), then SIGKILL after ``grace_s``."""
        _terminate([c.proc for c in self.consumers], grace_s)

    def exit_codes(self) -> list[int | None]:
        return [c.proc.returncode for c in self.consumers]

    def events(self, *names: str) -> Iterator[dict[str, Any]]:
        """The consumers' JSON log events with one of ``names``."""
        wanted = set(names)
        for c in self.consumers:
            for line in c.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line.startswith("{"):
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") in wanted:
                    yield event


def _terminate(procs: Iterable[subprocess.Popen[bytes]], grace_s: float) -> None:
    live = [p for p in procs if p.poll() is None]
    for p in live:
        _signal(p, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in live:
        try:
            p.wait(timeout=max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(p, signal.SIGKILL)
            p.wait(timeout=10)


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # its own session: the process and any child of its own


def stop_all() -> None:
    """Stop every process this run started that is still running."""
    _terminate(_STARTED, 5.0)
