"""The consumer's spend ledger: billed calls held until flushed, kept on disk while the
store refuses them, replayed (idempotently) when it takes them again."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from consumer.spend import PENDING_FILE, DeferredLedger
from shared.errors import StoreUnavailable
from shared.models import BilledCall, CallOutcome, Usage


class FlakyStore:
    def __init__(self) -> None:
        self.rows: dict[str, BilledCall] = {}
        self.down = False

    def record_call(self, call: BilledCall) -> None:
        if self.down:
            raise StoreUnavailable("postgres connection refused")
        self.rows.setdefault(call.call_id, call)


def call(n: int, cost: float = 0.01) -> BilledCall:
    return BilledCall(
        call_id=f"vid{n:08d}:v:analysis#1",
        video_id=f"vid{n:08d}",
        model="m",
        usage=Usage(prompt_tokens=100, output_tokens=10, model_calls=1, cost_usd=cost),
        outcome=CallOutcome.OK,
    )


def test_calls_are_held_until_the_flush(tmp_path: Path) -> None:
    store = FlakyStore()
    ledger = DeferredLedger(store, tmp_path)
    ledger.record_call(call(1))
    assert store.rows == {}  # nothing reaches the store before the reply is journaled
    ledger.flush()
    assert list(store.rows) == [call(1).call_id]


def test_a_store_outage_keeps_the_calls_on_disk_and_replays_them(tmp_path: Path) -> None:
    store = FlakyStore()
    ledger = DeferredLedger(store, tmp_path)
    store.down = True
    for n in (1, 2):
        ledger.record_call(call(n))
        ledger.flush()
    assert store.rows == {} and (tmp_path / PENDING_FILE).is_file()
    # a new process (a restart) finds them too
    store.down = False
    DeferredLedger(store, tmp_path).close()
    assert sorted(store.rows) == sorted(call(n).call_id for n in (1, 2))
    assert not (tmp_path / PENDING_FILE).exists()
    DeferredLedger(store, tmp_path).close()  # replaying again adds nothing
    assert len(store.rows) == 2


def test_a_torn_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / PENDING_FILE).write_text(call(1).model_dump_json() + "\n" + '{"call_id": "x", ')
    store = FlakyStore()
    DeferredLedger(store, tmp_path).flush()
    assert list(store.rows) == [call(1).call_id]


def test_each_thread_flushes_only_its_own_calls(tmp_path: Path) -> None:
    store = FlakyStore()
    ledger = DeferredLedger(store, tmp_path)
    ledger.record_call(call(1))
    other = threading.Thread(target=lambda: (ledger.record_call(call(2)), ledger.flush()))
    other.start()
    other.join()
    assert list(store.rows) == [call(2).call_id]
    ledger.flush()
    assert sorted(store.rows) == sorted([call(1).call_id, call(2).call_id])


def test_calls_neither_the_store_nor_the_disk_takes_are_held_until_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk under both the SQLite ledger and the pending file: the calls wait in
    this process and reach the store with the next flush after it recovers."""
    store = FlakyStore()
    ledger = DeferredLedger(store, tmp_path)
    store.down = True

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("consumer.spend.os.fsync", no_space)
    ledger.record_call(call(1))
    ledger.flush()
    monkeypatch.undo()
    assert store.rows == {}
    store.down = False
    ledger.record_call(call(2))
    ledger.flush()
    assert sorted(store.rows) == [call(1).call_id, call(2).call_id]
