"""The fault suite's runner: real ``tubeq consume`` processes against real servers and
stubs, faults injected from outside, and a table of what each case cost.

A case (``tests.faults.cases``) builds a ``Rig`` — a data folder, transcripts, the Gemini
stub, the stores — enqueues its videos, starts consumers, does its damage, waits until the
queue is drained (bounded in time), stops every process and measures:

- lost: videos not done, or without their analysis row or one of their artifacts;
- duplicated: extra rows or artifacts of a video (keys are deterministic, rows keyed);
- dead-lettered: rows in the dead-letter table;
- paid calls per video, from the stub's side of the wire; calls cut by a kill are counted
  apart, and a video may be paid once more per cut call, never otherwise. A call is cut
  when the kill came before its reply was safe: in flight at the freeze, or written by the
  stub but not yet in the victim's journal nor in the store when it froze (the reply sat
  in the socket or was being parsed: nobody can keep what it has not read). Which replies
  were safe is looked up while the victim is frozen, not guessed from timings;
- recorded spend (``model_calls``) against the stub's billed spend: they must match, except
  for billed calls whose reply a kill cut off (nobody can record what never arrived).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.artifact_rules import RESERVED_NAME_PREFIX
from shared.artifacts import report_key, transcript_keys
from tests.faults.gemini import (
    PRICE_INPUT_PER_M,
    PRICE_OUTPUT_PER_M,
    Call,
    FaultGemini,
    cost_of,
)

ROOT = Path(__file__).resolve().parents[2]

#: shortened settings (the table's notes name them); the rest are the defaults
FAST_SETTINGS = {
    "TUBEQ_VISIBILITY_TIMEOUT_S": "10",
    "TUBEQ_POLL_INTERVAL_S": "0.1",
    "TUBEQ_RETRY_BASE_S": "0.5",
    "TUBEQ_RETRY_CAP_S": "5",
    "TUBEQ_SHUTDOWN_GRACE_S": "15",
    "TUBEQ_PREFLIGHT_WAIT_S": "30",
    "TUBEQ_CONCURRENCY": "4",
    "TUBEQ_BATCH_SIZE": "4",
    "TUBEQ_GEMINI_RPM": "100000",
    "TUBEQ_GEMINI_TPM": "1000000000",
    "TUBEQ_GEMINI_TIMEOUT_S": "5",
    "TUBEQ_GEMINI_BUDGET_WAIT_S": "2",
}


# ---- processes ---------------------------------------------------------------------------


def local_ports(pid: int) -> set[int]:
    """The local TCP ports of ``pid``'s sockets (its client side of each connection)."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[9] in inodes:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Consumer:
    proc: subprocess.Popen[bytes]
    log: Path


@dataclass
class Rig:
    """One case's world: folders, the stub, the settings; consumers it starts and stops."""

    name: str
    root: Path
    gemini: FaultGemini
    env_extra: dict[str, str] = field(default_factory=dict)
    consumers: list[Consumer] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)
    #: per SIGKILL: the victim's local ports, when it was frozen, when it was dead, and
    #: the videos whose reply was safe then (journaled or in the store)
    killed: list[tuple[set[int], float, float, set[str]]] = field(default_factory=list)
    kills_mid_call: int = 0
    video_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: results and artifacts, read at the end
    results: Callable[[], Any] | None = None
    artifact_keys: Callable[[], set[str]] | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.env_extra.get("TUBEQ_DATA_DIR", self.root / "data"))

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
        env.update(
            TUBEQ_DATA_DIR=str(self.root / "data"),
            TUBEQ_TRANSCRIPTS_DIR=str(self.root / "transcripts"),
            TUBEQ_LOG_FORMAT="json",
            TUBEQ_ANALYZER_BACKEND="gemini",
            TUBEQ_GEMINI_API_KEY=self.gemini.api_key,
            TUBEQ_GEMINI_BASE_URL=self.gemini.base_url,
            TUBEQ_GEMINI_PRICE_INPUT_PER_M=str(PRICE_INPUT_PER_M),
            TUBEQ_GEMINI_PRICE_OUTPUT_PER_M=str(PRICE_OUTPUT_PER_M),
            **FAST_SETTINGS,
        )
        env.update(self.env_extra)
        env.update(extra)
        return env

    # ---- videos ----------------------------------------------------------------------
    def make_videos(self, tag: str, count: int) -> list[str]:
        folder = self.root / "transcripts"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            vid = f"f{tag}{i:07d}"
            segments = [
                {
                    "start": s * 6.0,
                    "duration": 5.5,
                    "text": f"Fault clip {vid}, part {s}: a queue delivers at least once.",
                }
                for s in range(8)
            ]
            doc = {
                "video": {"video_id": vid, "title": f"Fault clip {vid}", "duration_s": 48},
                "language": "en",
                "language_name": "English",
                "is_generated": False,
                "segments": segments,
            }
            (folder / f"{vid}.json").write_text(json.dumps(doc))
            self.video_ids.append(vid)
        return self.video_ids

    def enqueue(self) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "tubeq", "enqueue", "--file", "-"],
            input="\n".join(self.video_ids).encode(),
            capture_output=True,
            env=self.env(),
            cwd=self.root,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"enqueue failed: {proc.stderr.decode()[-2000:]}")

    # ---- consumers -------------------------------------------------------------------
    def start(self, **extra: str) -> Consumer:
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / f"consumer-{len(self.consumers) + len(self.exits):03d}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tubeq", "consume"],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env(**extra),
                cwd=self.root,
            )
        consumer = Consumer(proc, log)
        self.consumers.append(consumer)
        return consumer

    def reap(self) -> None:
        """Forget consumers that exited by themselves, keeping their exit codes."""
        for c in list(self.consumers):
            code = c.proc.poll()
            if code is not None:
                self.exits.append(code)
                self.consumers.remove(c)

    def sigkill(self, consumer: Consumer) -> None:
        """Freeze it, note its sockets (to tell later which model calls it cut), kill it."""
        frozen_at = time.monotonic()
        os.kill(consumer.proc.pid, signal.SIGSTOP)
        ports = local_ports(consumer.proc.pid)
        safe = self.safe_replies()
        os.kill(consumer.proc.pid, signal.SIGKILL)
        consumer.proc.wait(10)
        self.killed.append((ports, frozen_at, time.monotonic(), safe))
        self.consumers.remove(consumer)
        self.exits.append(consumer.proc.returncode)

    def safe_replies(self) -> set[str]:
        """Videos whose paid reply is kept now: a journal file on this machine, or an
        analysis in the store (read while the victim is frozen; SQLite's WAL lets a reader
        in even if the victim holds the write lock)."""
        journal = Path(self.env().get("TUBEQ_JOURNAL_DIR", self.data_dir / "journal"))
        safe = {p.name.split(".", 1)[0] for p in journal.glob("*.json")}
        if self.results is not None:
            with contextlib.suppress(Exception):  # a store that is down keeps nothing new
                safe |= {v for v, _version in self.results()["analyses"]}
        return safe

    def cut_calls(self) -> list[Call]:
        """The model calls the kills cut (read at the end: a late request shows up late)."""
        cut: dict[int, Call] = {}
        self.kills_mid_call = 0
        for ports, frozen_at, killed_at, safe in self.killed:
            calls = self.gemini.cut_by(ports, frozen_at, killed_at, safe)
            self.kills_mid_call += bool(calls)
            cut |= {id(call): call for call in calls}
        return list(cut.values())

    def sigterm(self, consumer: Consumer, timeout: float = 30) -> int:
        consumer.proc.send_signal(signal.SIGTERM)
        try:
            code = consumer.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.problems.append(f"a consumer ignored SIGTERM for {timeout:g} s")
            consumer.proc.kill()
            code = consumer.proc.wait(10)
        self.consumers.remove(consumer)
        self.exits.append(code)
        return code

    def stop_all(self) -> None:
        for c in list(self.consumers):
            if c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for c in list(self.consumers):
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait(10)
            self.exits.append(c.proc.returncode)
            self.consumers.remove(c)

    # ---- the queue -------------------------------------------------------------------
    def queue_counts(self) -> tuple[int, int]:
        """(messages waiting or leased, dead letters)."""
        try:
            with contextlib.closing(sqlite3.connect(self.queue_path, timeout=1)) as db:
                left = db.execute("select count(*) from messages").fetchone()[0]
                dead = db.execute("select count(*) from dead_letters").fetchone()[0]
            return int(left), int(dead)
        except sqlite3.Error:
            return -1, -1

    def fast_forward_handed_back(self) -> None:
        """Make messages held back (not leased) visible now: a supervisor's restart after
        the hold, without sitting through it."""
        with contextlib.closing(sqlite3.connect(self.queue_path, timeout=10)) as db:
            db.execute("update messages set visible_at = 0 where lease_id is null")
            db.commit()

    def wait_drained(self, timeout: float, n: int = 2, max_restarts: int = 10) -> bool:
        """Until the queue is empty, at most ``timeout``; a consumer that exits is restarted
        (as a supervisor would), at most ``max_restarts`` times."""
        deadline = time.monotonic() + timeout
        restarts = 0
        while time.monotonic() < deadline:
            left, _dead = self.queue_counts()
            if left == 0:
                return True
            before = len(self.exits)
            self.reap()
            if len(self.exits) > before:
                self.problems.append(f"consumers exited while draining: {self.exits[before:]}")
            while len(self.consumers) < n and restarts < max_restarts:
                restarts += 1
                self.start()
            if not self.consumers:
                break
            time.sleep(0.25)
        self.problems.append(f"queue not drained within {timeout:g} s")
        return False

    def log_events(self, name: str) -> list[dict[str, Any]]:
        events = []
        for log in sorted((self.root / "logs").glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if f'"{name}"' not in line:
                    continue
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    if event.get("event") == name:
                        events.append(event)
        return events

    def log_tail(self, pattern: str, limit: int = 3) -> list[str]:
        hits = []
        for log in sorted((self.root / "logs").glob("*.log")):
            hits += [ln for ln in log.read_text(errors="replace").splitlines() if pattern in ln]
        return [h[:400] for h in hits[:limit]]


# ---- stores ------------------------------------------------------------------------------

RESULT_QUERIES = {
    "states": "select video_id, state from videos",
    "analyses": "select video_id, analysis_version from analyses where completed_at is not null",
    "artifacts": "select video_id, kind, count(*) from artifacts group by video_id, kind",
    "calls": "select video_id, count(*), sum(cost_usd) from model_calls group by video_id",
    # what `tubeq status` adds for analyses without ledger rows (progress.unledgered)
    "unledgered": "select coalesce(sum(cost_usd), 0) from analyses a where not exists "
    "(select 1 from model_calls m where m.video_id = a.video_id "
    "and m.analysis_version = a.analysis_version)",
}


def sqlite_results(path: Path) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    def read() -> dict[str, list[tuple[Any, ...]]]:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            return {k: db.execute(q).fetchall() for k, q in RESULT_QUERIES.items()}

    return read


def postgres_results(dsn: str) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    def read() -> dict[str, list[tuple[Any, ...]]]:
        import psycopg

        with psycopg.connect(dsn) as db:
            return {k: db.execute(q).fetchall() for k, q in RESULT_QUERIES.items()}

    return read


def local_keys(folder: Path) -> Callable[[], set[str]]:
    def read() -> set[str]:
        return {
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file()
            and not any(
                part.startswith(RESERVED_NAME_PREFIX) for part in p.relative_to(folder).parts
            )
        }

    return read


# ---- measuring ---------------------------------------------------------------------------


@dataclass
class CaseResult:
    case: str
    videos: int
    faults: str
    lost: int = 0
    duplicated: int = 0
    dead: int = 0
    paid_calls: int = 0
    cut_calls: int = 0  # calls cut by a kill (billed or not)
    kills_mid_call: int = 0  # kills that cut at least one call
    excess_paid: int = 0  # paid calls not explained by a cut call
    recorded_usd: float = 0.0
    billed_usd: float = 0.0
    status_usd: float = 0.0  # what `tubeq status` reports (ledger + unledgered analyses)
    unrecorded_calls: int = 0  # billed calls without a ledger row
    unrecorded_cut_calls: int = 0  # ... of which a kill cut the reply off (allowed)
    unrecorded_usd: float = 0.0
    spend_ok: bool = True
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def paid_per_video(self) -> float:
        return self.paid_calls / self.videos if self.videos else 0.0

    @property
    def passed(self) -> bool:
        return not self.problems


def measure(rig: Rig, faults: str, started: float) -> CaseResult:
    ids = rig.video_ids
    res = CaseResult(case=rig.name, videos=len(ids), faults=faults)
    assert rig.results is not None and rig.artifact_keys is not None
    rows = rig.results()
    states = dict(rows["states"])
    analyses = Counter(v for v, _version in rows["analyses"])
    versions = dict(rows["analyses"])
    artifacts = Counter({(v, k): n for v, k, n in rows["artifacts"]})
    keys = rig.artifact_keys()
    expected = {
        v: {*transcript_keys(v).values(), *([report_key(v, versions[v])] if v in versions else [])}
        for v in ids
    }
    lost = []
    for v in ids:
        missing = [k for k in expected[v] if k not in keys]
        if states.get(v) != "done" or analyses[v] != 1 or missing:
            lost.append(f"{v}: state={states.get(v)} analyses={analyses[v]} missing={missing}")
    res.lost = len(lost)
    if lost:
        rig.problems.append(f"lost {len(lost)}, e.g. {lost[:3]}")
    wanted = set().union(*expected.values()) if expected else set()
    extra = sorted(
        k
        for k in keys - wanted
        if not k.startswith("cache/")
        and not any(part.startswith(RESERVED_NAME_PREFIX) for part in k.split("/"))
    )
    doubled_rows = sum(n - 1 for n in analyses.values() if n > 1)
    doubled_rows += sum(n - 1 for n in artifacts.values() if n > 1)
    res.duplicated = len(extra) + doubled_rows
    if res.duplicated:
        rig.problems.append(f"duplicated {res.duplicated}: extra keys {extra[:5]}")
    left, res.dead = rig.queue_counts()
    if res.dead:
        rig.problems.append(f"dead-lettered {res.dead}: {rig.log_tail('queue.dead_lettered')}")
    if left:
        rig.problems.append(f"{left} messages still on the queue")
    _paid_and_spend(rig, res, rows)
    res.seconds = time.monotonic() - started
    res.notes = rig.notes
    res.problems = rig.problems
    return res


def _paid_and_spend(rig: Rig, res: CaseResult, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    billed = rig.gemini.billed_by_video()
    cut_calls = rig.cut_calls()
    cut = Counter(c.video_id for c in cut_calls if c.video_id)
    cut_billed = Counter(c.video_id for c in cut_calls if c.video_id and c.status == 200)
    res.paid_calls = sum(billed.values())
    res.cut_calls = len(cut_calls)
    res.kills_mid_call = rig.kills_mid_call
    if res.paid_calls != len(rig.gemini.billed):
        rig.problems.append(
            f"stub: {res.paid_calls} paid calls tied to videos, {len(rig.gemini.billed)} billed"
        )
    excess = {v: billed[v] - 1 - cut[v] for v in billed if billed[v] - 1 - cut[v] > 0}
    res.excess_paid = sum(excess.values())
    if excess:
        rig.problems.append(
            f"paid again without a cut call: {len(excess)} video(s); "
            + "; ".join(f"{v}: {_evidence(rig, v)}" for v in list(excess)[:4])
        )
    recorded = {v: (int(n), float(cost or 0)) for v, n, cost in rows["calls"]}
    res.recorded_usd = sum(cost for _n, cost in recorded.values())
    res.billed_usd = rig.gemini.billed_cost(PRICE_INPUT_PER_M, PRICE_OUTPUT_PER_M)
    res.status_usd = res.recorded_usd + float(rows["unledgered"][0][0] or 0)
    wrong = []
    for v in sorted(set(billed) | set(recorded)):
        n_rec = recorded.get(v, (0, 0.0))[0]
        gap = billed[v] - n_rec  # billed calls the ledger does not have
        if gap > 0:
            res.unrecorded_calls += gap
            res.unrecorded_cut_calls += min(gap, cut_billed[v])
            res.unrecorded_usd += gap * cost_of(v)
        if gap < 0 or gap > cut_billed[v]:
            wrong.append(f"{v}: billed {billed[v]}, recorded {n_rec}, cut {cut_billed[v]}")
    if abs(res.recorded_usd + res.unrecorded_usd - res.billed_usd) > 1e-9:
        wrong.append(
            f"recorded ${res.recorded_usd:.6f} + unrecorded ${res.unrecorded_usd:.6f} "
            f"!= billed ${res.billed_usd:.6f}"
        )
    res.spend_ok = not wrong
    if wrong:
        rig.problems.append(
            f"spend ledger: {len(wrong)} video(s) with billed calls not recorded (and not cut "
            f"by a kill), e.g. {wrong[:3]}; `tubeq status` shows ${res.status_usd:.6f} "
            f"(ledger + analyses without ledger rows)"
        )


def _evidence(rig: Rig, video_id: str) -> str:
    """Each paid call of a video against the kill of its connection, if any: when its
    request came and its reply went, in seconds from the moment the victim froze."""
    out = []
    for c in rig.gemini.calls_of(video_id):
        if c.status != 200:
            continue
        kill = next((k for k in rig.killed if c.port in k[0]), None)
        safe = kill is not None and video_id in kill[3]
        if kill is None:
            out.append(f"call on port {c.port}: no kill had this connection")
            continue
        end = "never" if c.finished is None else f"{c.finished - kill[1]:+.2f} s"
        out.append(
            f"request {c.started - kill[1]:+.2f} s, reply written {end} from the freeze, "
            + ("kept (journal or store) at the freeze" if safe else "not kept at the freeze")
        )
    return ", ".join(out)


# ---- the table ---------------------------------------------------------------------------

COLUMNS = (
    "case",
    "videos",
    "kills / outages",
    "lost",
    "dup",
    "DLQ",
    "paid calls/video",
    "kills mid-call",
    "recorded $ / billed $",
    "s",
    "goals",
)


def table_rows(results: list[CaseResult]) -> Iterator[tuple[str, ...]]:
    for r in results:
        spend = f"{r.recorded_usd:.6f} / {r.billed_usd:.6f}"
        if r.unrecorded_calls:
            spend += f" ({r.unrecorded_calls} unrecorded, {r.unrecorded_cut_calls} cut)"
        yield (
            r.case,
            str(r.videos),
            r.faults,
            str(r.lost),
            str(r.duplicated),
            str(r.dead),
            f"{r.paid_per_video:.2f}" + (f" (+{r.excess_paid} excess)" if r.excess_paid else ""),
            f"{r.kills_mid_call} ({r.cut_calls} calls)" if r.cut_calls else "0",
            spend + ("" if r.spend_ok else " ✗"),
            f"{r.seconds:.0f}",
            "met" if r.passed else "MISSED",
        )


def markdown_table(results: list[CaseResult]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    return "\n".join(lines)


def print_table(results: list[CaseResult], notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tubeq fault suite", show_lines=False)
    for col in COLUMNS:
        table.add_column(col, overflow="fold")
    for row in table_rows(results):
        style = None if row[-1] == "met" else "bold red"
        table.add_row(*row, style=style)
    console = Console(width=200)
    console.print(table)
    for note in notes:
        console.print(f"[dim]note:[/dim] {note}")
    for r in results:
        for note in r.notes:
            console.print(f"[dim]{r.case}:[/dim] {note}")
        for problem in r.problems:
            console.print(f"[bold red]{r.case} MISSED:[/bold red] {problem}")


def as_json(results: list[CaseResult], notes: list[str], seconds: float) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 1),
        "notes": notes,
        "passed": all(r.passed for r in results),
        "cases": [
            {
                **{k: v for k, v in r.__dict__.items()},
                "paid_per_video": round(r.paid_per_video, 4),
                "passed": r.passed,
            }
            for r in results
        ],
    }
