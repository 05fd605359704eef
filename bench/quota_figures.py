"""Quota use: real ``tubeq consume --burst`` processes against the quota stub.

One figure = a fresh stub with a quota, a fresh data folder (queue, results, budget), a
backlog bigger than the quota lets through in the run, K consumer processes. The run lasts
``measured + 1`` windows from the first accepted call; the first window (start-up, the
burst tolerance) is skipped, and "quota use" is what the stub accepted in the next
``measured`` windows ÷ (``measured`` × the limit). Refusals count over the whole run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.harness import Machine, Processes, Timescale, consumer_env, tubeq
from bench.quota_stub import Latency, QuotaStub
from shared.adapters.sqlite_queue import SqliteQueue

Bound = Literal["requests", "tokens"]
FIRST_CALL_TIMEOUT_S = 60.0


@dataclass
class QuotaResult:
    name: str
    bound: Bound
    limit: int  # per window, in the bound's unit
    window_s: float
    windows: list[int]  # what the stub accepted in each measured window (bound's unit)
    accepted: int  # calls accepted over the whole run
    refused: int  # calls refused (429) over the whole run
    left: int  # messages still queued when the run stopped (must be > 0: saturated)
    dead: int  # dead-lettered messages
    first_call_s: float  # spawn of the first consumer → first accepted call
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def use(self) -> float:
        return sum(self.windows) / (len(self.windows) * self.limit) if self.windows else 0.0

    @property
    def refused_share(self) -> float:
        total = self.accepted + self.refused
        return self.refused / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bound": self.bound,
            "limit_per_window": self.limit,
            "window_s": self.window_s,
            "measured_windows": self.windows,
            "use": round(self.use, 4),
            "calls_accepted": self.accepted,
            "calls_refused": self.refused,
            "refused_share": round(self.refused_share, 5),
            "messages_left": self.left,
            "dead_lettered": self.dead,
            "first_call_s": round(self.first_call_s, 2),
            **self.extra,
        }


@dataclass(frozen=True)
class Quota:
    """The provider's quota (the stub's) and the one the consumers are told (the budget)."""

    requests: int
    tokens: int
    budget_requests: int
    budget_tokens: int
    chunk_tokens: int


def window_counts(
    accepted: list[tuple[float, int]], t0: float, window_s: float, measured: int, bound: Bound
) -> list[int]:
    counts = [0] * measured
    for at, tokens in accepted:
        index = math.floor((at - t0) / window_s) - 1  # window 0 is skipped
        if 0 <= index < measured:
            counts[index] += 1 if bound == "requests" else tokens
    return counts


def run_quota(
    name: str,
    *,
    work: Path,
    timescale: Timescale,
    measured: int,
    quota: Quota,
    bound: Bound,
    processes: int,
    transcripts: Path,
    ids: list[str],
    latency: Latency,
    machines: int = 1,
    fleet_dsn: str | None = None,
) -> QuotaResult:
    root = work / name
    root.mkdir(parents=True)
    queue_path = root / "queue.sqlite3"
    with QuotaStub(quota.requests, quota.tokens, timescale.window_s, latency=latency) as stub:
        fleet: list[Machine] = []
        for m in range(machines):
            data = root / f"machine{m}"
            extra = {"TUBEQ_QUEUE_PATH": str(queue_path)}
            if fleet_dsn is not None:
                extra.update(
                    TUBEQ_RESULTS_BACKEND="postgres",
                    TUBEQ_DATABASE_URL=fleet_dsn,
                    TUBEQ_RATE_BUDGET_BACKEND="results",
                )
            env = consumer_env(
                data,
                gemini_url=stub.base_url,
                api_key=stub.api_key,
                transcripts=transcripts,
                rpm=quota.budget_requests,
                tpm=quota.budget_tokens,
                chunk_tokens=quota.chunk_tokens,
                timescale=timescale,
                extra=extra,
            )
            fleet.append(Machine(data, env))
        id_file = root / "ids.txt"
        id_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
        tubeq(fleet[0].env, root, "enqueue", "--file", str(id_file))

        procs = Processes(root / "logs")
        try:
            for k in range(processes):
                machine = fleet[k % machines]
                procs.spawn(machine.env, f"consumer{k}-m{k % machines}")
            spawned = procs.consumers[0].started_at
            t0 = _first_call(stub, procs)
            end = t0 + timescale.window_s * (measured + 1) + 0.05
            while time.time() < end:
                _check_alive(procs)
                time.sleep(0.1)
            left = _backlog(queue_path)
        finally:
            procs.stop()
        dead = _dead(queue_path)
        accepted = list(stub.quota.accepted)
        refused = list(stub.quota.refused)
    refused_calls = [(at, tokens) for at, tokens, _ in refused]
    return QuotaResult(
        name=name,
        bound=bound,
        limit=quota.requests if bound == "requests" else quota.tokens,
        window_s=timescale.window_s,
        windows=window_counts(accepted, t0, timescale.window_s, measured, bound),
        accepted=len(accepted),
        refused=len(refused),
        left=left,
        dead=dead,
        first_call_s=t0 - spawned,
        extra={
            "processes": processes,
            "machines": machines,
            "budget_requests": quota.budget_requests,
            "budget_tokens": quota.budget_tokens,
            "exit_codes": procs.exit_codes(),
            "messages_failed_retry": sum(1 for _ in procs.events("message.failed")),
            "max_failed_attempt": max(
                (int(e.get("attempt") or 0) for e in procs.events("message.failed")), default=0
            ),
            "largest_call_tokens": max((t for _, t in accepted + refused_calls), default=0),
            "refused_by_quota": _by_quota(refused),
            "estimate_over_stub_count": _estimate_ratio(procs),
        },
    )


def _by_quota(refused: list[tuple[float, int, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, _, quota_id in refused:
        out[quota_id] = out.get(quota_id, 0) + 1
    return out


def _estimate_ratio(procs: Processes) -> float | None:
    """tubeq's token estimate ÷ the stub's count (``promptTokenCount``), over every call."""
    estimate = used = 0
    for event in procs.events("gemini.call"):
        if event.get("input_used"):
            estimate += int(event["input_estimate"])
            used += int(event["input_used"])
    return round(estimate / used, 4) if used else None


def _first_call(stub: QuotaStub, procs: Processes) -> float:
    deadline = time.monotonic() + FIRST_CALL_TIMEOUT_S
    while time.monotonic() < deadline:
        if stub.quota.accepted:
            return stub.quota.accepted[0][0]
        _check_alive(procs)
        time.sleep(0.02)
    raise RuntimeError(f"no model call within {FIRST_CALL_TIMEOUT_S:g} s of start")


def _check_alive(procs: Processes) -> None:
    for c in procs.consumers:
        code = c.proc.poll()
        if code is not None:
            tail = c.log_path.read_text(errors="replace")[-1500:]
            raise RuntimeError(
                f"{c.name} exited ({code}) before the run ended: the backlog is too small, or "
                f"it failed:\n{tail}"
            )


def _dead(queue_path: Path) -> int:
    queue = SqliteQueue(queue_path)
    try:
        return queue.stats().dead
    finally:
        queue.close()


def _backlog(queue_path: Path) -> int:
    queue = SqliteQueue(queue_path)
    try:
        stats = queue.stats()
        return stats.ready + stats.delayed + stats.in_flight
    finally:
        queue.close()
