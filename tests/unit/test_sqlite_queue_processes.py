"""A consumer process SIGKILLed while holding leases: nothing is lost, nothing is stuck.

No cron, no recovery step: the dead process's leases simply expire and the messages are
delivered again (attempts counted), and the file is intact for the next consumer.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

from shared.adapters.sqlite_queue import SqliteQueue
from tests.contract.queue_contract import job

LEASE_S = 1.5


def lease_and_hang(path: str, leased_out: str) -> None:
    queue = SqliteQueue(Path(path))
    got = queue.pull(6, LEASE_S)
    report = {
        "ids": [d.message_id for d in got],
        "expires": max(d.lease_expires_at for d in got).timestamp(),
    }
    # Write then rename, so the test never reads half a file.
    Path(leased_out + ".tmp").write_text(json.dumps(report))
    Path(leased_out + ".tmp").rename(leased_out)
    time.sleep(60)  # "working" until killed


def test_leases_of_a_killed_consumer_come_back(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    queue = SqliteQueue(path, max_retries=3)
    queue.send([job(i) for i in range(10)])

    leased_out = tmp_path / "leased.json"
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=lease_and_hang, args=(str(path), str(leased_out)), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while not leased_out.exists():
            assert time.monotonic() < deadline, "the consumer process never leased anything"
            assert proc.is_alive(), f"consumer exited early with {proc.exitcode}"
            time.sleep(0.02)
        report = json.loads(leased_out.read_text())
        killed_ids, expires = set(report["ids"]), float(report["expires"])
    finally:
        proc.kill()
        proc.join(10)
    assert len(killed_ids) == 6

    # Right away only the four unleased messages are there; the dead consumer's six are not.
    first = queue.pull(100, 60)
    assert time.time() < expires, "too slow to observe the lease (machine overloaded?)"
    assert {d.message_id for d in first}.isdisjoint(killed_ids)
    assert len(first) == 4
    queue.ack(first)

    time.sleep(max(0.0, expires - time.time()) + 0.1)
    back = queue.pull(100, 60)
    assert {d.message_id for d in back} == killed_ids
    assert {d.attempts for d in back} == {2}
    queue.ack(back)
    assert queue.stats().backlog == 0
    queue.close()
