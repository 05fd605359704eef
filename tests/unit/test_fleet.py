"""The fleet panels' pieces on their own: the quota in use from a budget's slots, when a
consumer counts as lost, the lines people read, and the consumer's presence (a row while it
runs, none after a clean stop, never an error for the consumer when the store fails)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumer.presence import Presence
from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import UpstreamUnavailable
from shared.fleet import BudgetUsage, ConsumerBeat, RunningConsumer
from shared.fleet_view import consumer_status, quota_summary
from shared.rate_budget import Limits
from shared.rate_budget.usage import no_budget, usage_of

LIMITS = Limits(requests=60, tokens=1_000, window_s=60.0)


def test_the_window_ending_now_what_is_ahead_and_what_has_left() -> None:
    now = 1_000.0
    slots = [
        (930.0, 939.0, 100.0, 2.0),  # left the window (ended more than 60 s ago)
        (935.0, 945.0, 50.0, 1.0),  # straddles the window's start: still counted
        (990.0, 990.0, 200.0, 3.0),
        (1_004.0, 1_004.0, 70.0, 1.0),  # paced into the coming seconds
    ]
    used = usage_of(slots, paused_until=1_010.0, now=now, limits=LIMITS, where="here")
    assert (used.requests_in_window, used.tokens_in_window) == (4, 250)
    assert (used.requests_ahead, used.tokens_ahead) == (1, 70)
    assert used.paused_for_s == 10.0
    assert used.last_grant_s_ago == 10.0
    assert used.requests_share == pytest.approx(4 / 60)
    assert used.tokens_share == pytest.approx(0.25)


def test_a_merged_slot_that_spans_now_counts_from_its_first_grant() -> None:
    used = usage_of([(995.0, 1_002.0, 10.0, 2.0)], 0.0, 1_000.0, LIMITS, "here")
    assert (used.requests_in_window, used.requests_ahead) == (2, 0)
    assert used.last_grant_s_ago == 5.0


def test_the_lines_people_read() -> None:
    assert "no budget yet" in quota_summary(no_budget(LIMITS, "local file x"))
    assert "60 requests and 1,000 input tokens per 60 s" in quota_summary(
        no_budget(LIMITS, "local file x")
    )
    busy = BudgetUsage(
        where="fleet (postgres)",
        exists=True,
        requests_limit=60,
        tokens_limit=1_000,
        window_s=60,
        requests_in_window=30,
        tokens_in_window=900,
        requests_ahead=2,
        paused_for_s=12.0,
    )
    line = quota_summary(busy)
    assert "30 of 60 requests (50%)" in line and "900 of 1,000 input tokens (90%)" in line
    assert "2 call(s) paced" in line and "paused by Gemini for 12 s" in line


def _seen(seconds: float, interval_s: float = 10.0) -> RunningConsumer:
    return RunningConsumer(
        consumer_id="h:1:x",
        host="h",
        pid=1,
        version="0",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        interval_s=interval_s,
        last_seen=datetime(2026, 1, 1, tzinfo=UTC),
        seen_s_ago=seconds,
    )


def test_lost_after_three_missed_beats_not_before() -> None:
    assert not _seen(29.9).stale and consumer_status(_seen(29.9)) == "running"
    assert _seen(30.1).stale
    assert consumer_status(_seen(125)).startswith("lost (no heartbeat for 2 min")


def test_presence_is_a_row_while_running_and_none_after_a_clean_stop(tmp_path: Path) -> None:
    store = SqliteResultStore(tmp_path / "results.sqlite3")
    try:
        presence = Presence(store, interval_s=0.1)
        started = presence.after(lambda stop: None)
        started(threading.Event())  # the runner calls it once its pre-flight passes
        [row] = store.consumers()
        assert row.consumer_id == presence.consumer_id and row.current == []
        first_seen = row.last_seen
        deadline = datetime.now(UTC).timestamp() + 5
        while store.consumers()[0].last_seen == first_seen:
            assert datetime.now(UTC).timestamp() < deadline, "no second beat"
            time.sleep(0.02)
        presence.stop()
        assert store.consumers() == []
        presence.stop()  # twice is fine
    finally:
        store.close()


def test_a_stop_signal_during_the_preflight_registers_nothing(tmp_path: Path) -> None:
    store = SqliteResultStore(tmp_path / "results.sqlite3")
    try:
        presence = Presence(store, interval_s=0.1)
        stop = threading.Event()
        stop.set()
        presence.after(lambda s: None)(stop)
        assert store.consumers() == []
    finally:
        store.close()


class _DownStore:
    def __init__(self) -> None:
        self.beats = 0

    def consumer_beat(self, beat: ConsumerBeat) -> None:
        self.beats += 1
        raise UpstreamUnavailable("the store is down")

    def consumer_gone(self, consumer_id: str) -> None:
        raise UpstreamUnavailable("the store is down")

    def consumers(self) -> list[RunningConsumer]:
        return []


def test_a_store_outage_never_reaches_the_consumer() -> None:
    down = _DownStore()
    presence = Presence(down, interval_s=0.05)
    presence.start()  # the first beat fails: logged, not raised
    deadline = datetime.now(UTC).timestamp() + 5
    while down.beats < 3:
        assert datetime.now(UTC).timestamp() < deadline, "the heartbeat stopped beating"
        time.sleep(0.02)
    presence.stop()  # the row cannot be removed: logged, not raised
