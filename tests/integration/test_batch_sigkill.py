"""Batch backfills (issue 12) under real kills: two ``tubeq consume`` processes work a
160-video ``backfill --batch`` while the test SIGKILLs one of them at random moments and a
supervisor (the test) starts a new one, until every video is done.

``test_batch_backfill.py`` puts a crash at each named point in-process; this test proves the
same promise against what a crash really is — a process gone at any instruction, its
leases left to run out, its SQLite transactions rolled back by the next opener:

- every video ends ``done`` (nothing lost), with one analysis row;
- the Batch API stub (``tests/support/gemini_batch_stub.py``, google-genai's wire shapes)
  saw no batch created twice and billed each video's request once;
- the spend ledger holds one row per video and equals the stub's bill at batch prices;
- nothing was dead-lettered.

Each kill is labelled by what the store showed at that moment (a batch collecting requests,
sealed and being submitted, submitted and waiting, or its results half saved; several
batches run at once), and the test asserts the kills met more than one of those phases.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from producer.backfill import send_videos
from shared import factory
from shared.adapters.gemini_batch import batch_prices
from shared.gemini.pricing import Prices
from shared.settings import Settings
from tests.integration.test_batch_backfill import rounding, write_transcripts
from tests.support.gemini_batch_stub import GeminiBatchStub

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]

VIDEOS = 160
KILLS = 12
FIRST_PHASE = "collecting requests"
LATER_PHASES = ["sealed, being submitted", "submitted, waiting", "results half saved"]
#: the least time between two kills: the work moves on between them
MIN_GAP_S = 0.5
ROOT = Path(__file__).resolve().parents[2]


def env_for(tmp_path: Path, stub: GeminiBatchStub) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    env.update(
        TUBEQ_DATA_DIR=str(tmp_path / "data"),
        TUBEQ_TRANSCRIPTS_DIR=str(tmp_path / "transcripts"),
        TUBEQ_LOG_FORMAT="json",
        TUBEQ_ANALYZER_BACKEND="gemini",
        TUBEQ_GEMINI_API_KEY=stub.api_key,
        TUBEQ_GEMINI_BASE_URL=stub.base_url,
        TUBEQ_GEMINI_BATCH_MAX_REQUESTS="20",
        TUBEQ_GEMINI_BATCH_MAX_AGE_S="1",
        TUBEQ_GEMINI_BATCH_POLL_S="1",
        TUBEQ_GEMINI_BATCH_POLL_MAX_S="1",
        # a killed consumer's leases run out after 6 s: the redelivery a crash makes
        TUBEQ_VISIBILITY_TIMEOUT_S="6",
        TUBEQ_GEMINI_TIMEOUT_S="2",
        TUBEQ_GEMINI_BUDGET_WAIT_S="1",
        TUBEQ_POLL_INTERVAL_S="0.05",
        TUBEQ_RETRY_BASE_S="0.2",
        TUBEQ_RETRY_CAP_S="2",
        TUBEQ_MAX_RETRIES="5",
        TUBEQ_CONCURRENCY="2",
        TUBEQ_BATCH_SIZE="4",
    )
    return env


def phases(results_file: Path) -> set[str]:
    """What the batches were doing when the kill came (several batches run at once): read
    while the victim is dead, which SQLite's WAL allows whatever state it left."""
    try:
        with closing(sqlite3.connect(results_file, timeout=5)) as db:
            states = {s for (s,) in db.execute("SELECT DISTINCT state FROM batches")}
            saving = db.execute(
                "SELECT count(*) FROM batches b WHERE b.state IN ('submitted', 'succeeded') "
                "AND EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.batch_id "
                "AND i.state = 'saved') AND EXISTS (SELECT 1 FROM batch_items i "
                "WHERE i.batch_id = b.batch_id AND i.state = 'pending')"
            ).fetchone()[0]
    except sqlite3.Error:
        return {"before any batch"}
    labels = {
        "collecting requests": "open" in states,
        "sealed, being submitted": "sealed" in states,
        "submitted, waiting": "submitted" in states,
        "results half saved": bool(saving),
    }
    return {label for label, under_way in labels.items() if under_way} or {"between batches"}


@dataclass
class Supervisor:
    """Keeps two ``tubeq consume`` processes running, as a container supervisor would, and
    kills one on request."""

    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_of: dict[int, Path] = field(default_factory=dict)
    started: int = 0

    def keep_two(self) -> None:
        for p in [p for p in self.procs if p.poll() is not None]:
            # a consumer only stops by itself on a systemic error: a failure here
            pytest.fail(f"a consumer exited with {p.returncode}; see {self.logs}")
        while len(self.procs) < 2:
            log = self.logs / f"consumer-{self.started:02d}.log"
            with log.open("wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "tubeq", "consume"],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=self.env,
                    cwd=ROOT,
                )
            self.procs.append(proc)
            self.log_of[proc.pid] = log
            self.started += 1

    def working(self) -> list[subprocess.Popen[bytes]]:
        """Consumers past start-up (a kill before any work proves little)."""
        return [p for p in self.procs if b"runner.started" in self.log_of[p.pid].read_bytes()]

    def kill(self, victim: subprocess.Popen[bytes]) -> None:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        self.procs.remove(victim)

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)

    def last_lines(self) -> str:
        return "\n".join(
            line
            for log in sorted(self.logs.glob("*.log"))
            for line in log.read_text(errors="replace").splitlines()[-3:]
        )


def done(settings: Settings) -> int:
    with closing(sqlite3.connect(settings.results_file, timeout=5)) as db:
        return int(db.execute("SELECT count(*) FROM videos WHERE state = 'done'").fetchone()[0])


def kill_through_the_phases(
    sup: Supervisor, settings: Settings, rng: random.Random
) -> Counter[str]:
    """Kills a random working consumer whenever a phase still owed a kill is under way (the
    first kill while requests are collected; each later phase owed several), at a random
    moment and at least MIN_GAP_S after the last kill; then the backfill runs to its end.
    Any owed phase may take the next kill, so a short phase that does not come round again
    holds up no other (on an idle machine waiting for one ended the backfill first).
    Returns, per phase, the kills made while it ran."""
    owed = [FIRST_PHASE, *LATER_PHASES * KILLS][:KILLS]
    kills: Counter[str] = Counter()
    killed = 0
    deadline = time.monotonic() + 240
    last_kill = 0.0
    while time.monotonic() < deadline and done(settings) < VIDEOS:
        sup.keep_two()
        time.sleep(rng.uniform(0.01, 0.15))
        working = sup.working()
        if not owed or not working or time.monotonic() - last_kill < MIN_GAP_S:
            continue
        now = phases(settings.results_file)
        # the first kill waits for collecting; after it, any owed phase under way will do
        hit = (
            next((p for p in owed if p in now), None)
            if killed
            else (FIRST_PHASE if FIRST_PHASE in now else None)
        )
        if hit is not None:
            sup.kill(rng.choice(working))
            kills.update(now)
            killed += 1
            owed.remove(hit)
            last_kill = time.monotonic()
    kills["(kills)"] = killed
    return kills


@pytest.mark.timeout(300)
def test_sigkills_during_a_batch_backfill_lose_nothing_and_pay_nothing_twice(
    tmp_path: Path,
) -> None:
    metas = write_transcripts(tmp_path / "transcripts", VIDEOS)
    with GeminiBatchStub() as stub:
        stub.polls_to_finish = 3  # each batch waits a few polls: kills land while it runs
        settings = Settings(
            data_dir=tmp_path / "data",
            transcripts_dir=tmp_path / "transcripts",
            analyzer_backend="gemini",
            gemini_api_key=stub.api_key,
        )
        # what `tubeq backfill --batch` sends: one batch.collect job per video
        queue = factory.build_queue(settings)
        reader = factory.build_results(settings)
        try:
            asyncio.run(send_videos(queue, reader, metas, "test", False, batch=True))
        finally:
            reader.close()
            queue.close()

        (tmp_path / "logs").mkdir()
        sup = Supervisor(env_for(tmp_path, stub), tmp_path / "logs")
        try:
            kills = kill_through_the_phases(sup, settings, random.Random(12))
        finally:
            sup.stop()
        killed = kills.pop("(kills)")
        print(f"\n{killed} SIGKILLs; phases under way at them: {dict(kills)}; {sup.started} starts")

        # a fast machine ends the backfill sooner: fewer phases come round to be killed in
        assert killed >= 5, f"only {killed} kills happened"
        assert len(kills) >= 3, f"the kills met too few phases: {dict(kills)}"
        assert done(settings) == VIDEOS, f"not every video done; last lines:\n{sup.last_lines()}"

        with closing(sqlite3.connect(settings.results_file)) as db:
            analyses = db.execute("SELECT count(*), count(DISTINCT video_id) FROM analyses")
            assert analyses.fetchone() == (VIDEOS, VIDEOS)
            calls, spend = db.execute("SELECT count(*), sum(cost_usd) FROM model_calls").fetchone()
        with closing(sqlite3.connect(settings.queue_file)) as db:
            assert db.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 0

        assert len(stub.creates) == len(set(stub.creates)), f"a batch created twice: {stub.creates}"
        billed = Counter(key for _, key, _ in stub.billed)
        assert len(billed) == VIDEOS and set(billed.values()) == {1}, "a request billed twice"
        prices = batch_prices(
            Prices(settings.gemini_price_input_per_m, settings.gemini_price_output_per_m)
        )
        assert calls == VIDEOS
        assert float(spend) == pytest.approx(
            stub.billed_cost(prices.input_per_m, prices.output_per_m), abs=rounding(calls)
        )
        print(f"{len(stub.creates)} batches, {len(stub.billed)} requests billed once each")
