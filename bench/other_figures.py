"""The figures that are not quota use: the sequential loop, duplicates, enqueue, start-up."""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types

from bench.harness import Processes, Timescale, base_env, consumer_env, tubeq
from bench.quota_figures import Quota, window_counts
from bench.quota_stub import Latency, QuotaStub
from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.sqlite_queue import SqliteQueue
from shared.classify import classify
from shared.errors import RateLimited
from shared.gemini import prompt
from shared.gemini.chunking import render_segments
from shared.models import VideoJob
from tests.support.cf_queues_stub import CfQueuesStub

# ---- a sequential one-video-at-a-time loop ---------------------------------------------------


def run_sequential(
    *,
    timescale: Timescale,
    measured: int,
    quota: Quota,
    transcripts: Path,
    ids: list[str],
    latency: Latency,
) -> dict[str, Any]:
    """What one would write without tubeq: for each video, read its transcript, call Gemini
    through google-genai with the same request tubeq sends, wait for the reply, next; on a
    429 sleep for the server's retry delay and call again. Same stub, same quota."""
    source = DirectoryTranscriptSource(transcripts)
    schema = prompt.response_json_schema()
    config = types.GenerateContentConfig(
        system_instruction=prompt.SYSTEM_INSTRUCTION,
        temperature=1.0,
        max_output_tokens=8192,
        response_mime_type="application/json",
        response_json_schema=schema,
    )
    with QuotaStub(quota.requests, quota.tokens, timescale.window_s, latency=latency) as stub:
        client = genai.Client(
            api_key=stub.api_key,
            http_options=types.HttpOptions(
                base_url=stub.base_url,
                timeout=60_000,
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        t0: float | None = None
        end = math.inf
        videos = 0
        try:
            for vid in ids:
                transcript = source.fetch(vid)
                text = render_segments(transcript.segments)
                contents = [prompt.whole_transcript_prompt(transcript, transcript.meta, text)]
                while True:
                    try:
                        client.models.generate_content(
                            model="gemini-3.1-flash-lite", contents=contents, config=config
                        )
                        break
                    except Exception as exc:
                        error = classify(exc)
                        if not isinstance(error, RateLimited):
                            raise
                        time.sleep(error.retry_after or 1.0)
                videos += 1
                if t0 is None:
                    t0 = stub.quota.accepted[0][0]
                    end = t0 + timescale.window_s * (measured + 1)
                if time.time() >= end:
                    break
            else:
                raise RuntimeError("the sequential loop ran out of videos before the run ended")
        finally:
            client.close()
        accepted = list(stub.quota.accepted)
        refused = len(stub.quota.refused)
    assert t0 is not None
    windows = window_counts(accepted, t0, timescale.window_s, measured, "requests")
    return {
        "limit_per_window": quota.requests,
        "measured_windows": windows,
        "use": round(sum(windows) / (measured * quota.requests), 4),
        "calls_accepted": len(accepted),
        "calls_refused": refused,
        "videos": videos,
    }


# ---- every message delivered twice -----------------------------------------------------------


def _settled(procs: Processes) -> dict[str, list[tuple[float, str]]]:
    out: dict[str, list[tuple[float, str]]] = {}
    for event in procs.events("message.acked"):
        at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
        out.setdefault(event["video_id"], []).append((at, event["outcome"]))
    return out


def run_duplicates(
    *, work: Path, timescale: Timescale, transcripts: Path, ids: list[str], processes: int
) -> dict[str, Any]:
    """Every video's message delivered twice, ``processes`` consumers, quota far away:

    A. side by side (both copies in the queue together, as when a lease ran out while the
       first delivery was still working): paid calls, and how long after the first copy
       settled the second one did; the consumers wait ``window_s`` (``--burst-wait``) for
       delayed retries, then what is still pending is reported with its scheduled delay;
    B. again after the video is done (a late redelivery): paid calls, time to settle.
    """
    root = work / "duplicates"
    root.mkdir(parents=True)
    with QuotaStub(10_000, 100_000_000, timescale.window_s, latency=Latency()) as stub:
        env = consumer_env(
            root / "data",
            gemini_url=stub.base_url,
            api_key=stub.api_key,
            transcripts=transcripts,
            rpm=10_000,
            tpm=100_000_000,
            chunk_tokens=1_000_000,
            timescale=timescale,
        )
        (root / "data").mkdir()

        def send(jobs: list[VideoJob]) -> None:
            queue = SqliteQueue(root / "data" / "queue.sqlite3")
            try:
                queue.send(jobs)
            finally:
                queue.close()

        send([VideoJob(video_id=v) for v in ids for _ in range(2)])
        side = Processes(root / "logs-a")
        try:
            for k in range(processes):
                side.spawn(env, f"consumer{k}", "--burst-wait", f"{timescale.window_s:g}")
            side.wait(120)
        finally:
            side.stop()
        calls_a = len(stub.quota.accepted)

        send([VideoJob(video_id=v) for v in ids])
        late = Processes(root / "logs-b")
        start = time.time()
        try:
            for k in range(processes):
                late.spawn(env, f"consumer{k}")
            late.wait(120)
        finally:
            late.stop()
        calls = len(stub.quota.accepted)
    settled = _settled(side)
    gaps = [max(t for t, _ in s) - min(t for t, _ in s) for s in settled.values() if len(s) >= 2]
    pending_delays = [
        float(e["delay_s"]) for e in side.events("message.failed") if e.get("action") == "retry"
    ]
    codes: dict[str, int] = {}
    for e in side.events("message.failed"):
        codes[e["error_code"]] = codes.get(e["error_code"], 0) + 1
    late_settled = _settled(late)
    late_times = [t - start for s in late_settled.values() for t, _ in s]
    late_outcomes: dict[str, int] = {}
    for s in late_settled.values():
        for _, outcome in s:
            late_outcomes[outcome] = late_outcomes.get(outcome, 0) + 1
    return {
        "videos": len(ids),
        "paid_calls": calls,
        "paid_calls_side_by_side": calls_a,
        "paid_calls_per_video": round(calls / len(ids), 3),
        "side_by_side": {
            "both_copies_settled": len(gaps),
            "second_after_first_s_median": round(statistics.median(gaps), 2) if gaps else None,
            "second_after_first_s_max": round(max(gaps), 2) if gaps else None,
            "retries_by_error": codes,
            "retry_delay_s_max": max(pending_delays) if pending_delays else None,
            "waited_s": timescale.window_s,
        },
        "after_done": {
            "settled": sum(len(s) for s in late_settled.values()),
            "outcomes": late_outcomes,
            "all_settled_after_spawn_s": round(max(late_times), 2) if late_times else None,
        },
    }


# ---- enqueue 10,000 ids ----------------------------------------------------------------------


def run_enqueue(*, work: Path, n: int) -> dict[str, Any]:
    """``tubeq enqueue --file`` of ``n`` ids: into the SQLite queue (wall time, interpreter
    start included, and the same CLI with one id for scale), and into Cloudflare Queues
    through the REST API (the stub counts the calls)."""
    root = work / "enqueue"
    root.mkdir(parents=True)
    ids = [f"bqe{i:08d}" for i in range(n)]
    id_file = root / "ids.txt"
    id_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
    env = base_env()
    env.update(TUBEQ_DATA_DIR=str(root / "sqlite"), TUBEQ_LOG_FORMAT="json")
    one_s, _ = tubeq(env, root, "enqueue", "bqeone00001")
    sqlite_s, _ = tubeq(env, root, "enqueue", "--file", str(id_file))
    queue = SqliteQueue(root / "sqlite" / "queue.sqlite3")
    try:
        queued = queue.stats().ready
    finally:
        queue.close()

    with CfQueuesStub() as cf:
        cf.add_queue("tubeq-jobs", max_retries=3, dead_letter_queue="tubeq-jobs-dlq")
        cf.add_queue("tubeq-jobs-dlq", max_retries=100)
        before = len(cf.requests)
        cf_env = base_env()
        cf_env.update(
            TUBEQ_DATA_DIR=str(root / "cf"),
            TUBEQ_LOG_FORMAT="json",
            TUBEQ_QUEUE_BACKEND="cloudflare",
            TUBEQ_CF_ACCOUNT_ID=cf.account_id,
            TUBEQ_CF_API_TOKEN=cf.token,
            TUBEQ_CF_QUEUE_ID="tubeq-jobs",
            TUBEQ_CF_DLQ_ID="tubeq-jobs-dlq",
            TUBEQ_CF_API_URL=cf.url,
        )
        cf_s, _ = tubeq(cf_env, root, "enqueue", "--file", str(id_file))
        calls = cf.requests[before:]
        in_cf = cf.count("tubeq-jobs")
    by_op: dict[str, int] = {}
    for r in calls:
        op = r.path.rsplit("/queues/", 1)[-1].split("/", 1)[-1]
        by_op[f"{r.method} {op}"] = by_op.get(f"{r.method} {op}", 0) + 1
    return {
        "ids": n,
        "sqlite_enqueue_s": round(sqlite_s, 2),
        "sqlite_enqueue_one_id_s": round(one_s, 2),
        "sqlite_queued": queued,
        "cloudflare_enqueue_s": round(cf_s, 2),
        "cloudflare_calls": len(calls),
        "cloudflare_calls_by_op": by_op,
        "cloudflare_calls_goal": math.ceil(n / 100),
        "cloudflare_queued": in_cf,
    }


# ---- consumer start-up -----------------------------------------------------------------------


@dataclass(frozen=True)
class Startup:
    empty_queue_exit_s: list[float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "empty_queue_exit_s": [round(s, 2) for s in self.empty_queue_exit_s],
            "median_s": round(statistics.median(self.empty_queue_exit_s), 2),
        }


def run_startup(*, work: Path, timescale: Timescale, transcripts: Path, repeats: int) -> Startup:
    """``tubeq consume --burst`` on an empty queue, Gemini analyzer against the stub: spawn to
    exit, i.e. interpreter start, imports, settings, pre-flight (``models.get``), one pull."""
    root = work / "startup"
    root.mkdir(parents=True)
    took = []
    with QuotaStub(1000, 10_000_000, timescale.window_s) as stub:
        for i in range(repeats):
            env = consumer_env(
                root / f"data{i}",
                gemini_url=stub.base_url,
                api_key=stub.api_key,
                transcripts=transcripts,
                rpm=1000,
                tpm=10_000_000,
                chunk_tokens=1_000_000,
                timescale=timescale,
            )
            procs = Processes(root / "logs")
            try:
                start = time.perf_counter()
                procs.spawn(env, f"startup{i}")
                if not procs.wait(60):
                    raise RuntimeError("an idle consumer did not exit within 60 s")
                took.append(time.perf_counter() - start)
            finally:
                procs.stop()
            codes = procs.exit_codes()
            if codes != [0]:
                raise RuntimeError(f"an idle consumer exited {codes}")
    return Startup(took)


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)
