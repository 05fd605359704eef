"""The contract every result store keeps as a ``ConsumerRegistry`` (SQLite, Postgres,
Supabase): the running consumers' heartbeat rows. Each ``test_result_store_*`` class adds it
beside ``ResultStoreContract``; its ``store`` fixture is theirs."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from shared.fleet import ConsumerBeat
from shared.ports import ConsumerRegistry, ResultBackend


def beat(consumer_id: str = "host-a:101:0a1b2c3d", **changes: object) -> ConsumerBeat:
    fields: dict[str, object] = {
        "consumer_id": consumer_id,
        "host": consumer_id.split(":")[0],
        "pid": 101,
        "version": "1.2.3",
        "started_at": datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        "interval_s": 15.0,
        "concurrency": 4,
        "current": ["dQw4w9WgXcQ"],
        "in_flight": 1,
    }
    return ConsumerBeat.model_validate(fields | changes)


class ConsumerRegistryContract:
    def test_a_store_is_a_consumer_registry(self, store: ResultBackend) -> None:
        assert isinstance(store, ConsumerRegistry)

    def test_nobody_before_the_first_beat_and_a_gone_unknown_id_is_fine(
        self, store: ResultBackend
    ) -> None:
        assert isinstance(store, ConsumerRegistry)
        assert store.consumers() == []
        store.consumer_gone("never-seen")
        assert store.consumers() == []

    def test_a_beat_is_one_row_refreshed_in_place(self, store: ResultBackend) -> None:
        assert isinstance(store, ConsumerRegistry)
        store.consumer_beat(beat())
        [first] = store.consumers()
        assert first.consumer_id == "host-a:101:0a1b2c3d"
        assert (first.host, first.pid, first.version) == ("host-a", 101, "1.2.3")
        assert first.started_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        assert first.current == ["dQw4w9WgXcQ"] and first.in_flight == 1
        assert 0 <= first.seen_s_ago < 5 and not first.stale
        time.sleep(0.05)
        store.consumer_beat(
            beat(current=["a" * 11, "b" * 11], in_flight=2, done=7, failed=1, state="stopping")
        )
        [again] = store.consumers()
        assert again.last_seen > first.last_seen
        assert (again.done, again.failed, again.in_flight) == (7, 1, 2)
        assert again.current == ["a" * 11, "b" * 11]
        assert again.state == "stopping"
        assert again.started_at == first.started_at

    def test_gone_removes_only_that_consumer(self, store: ResultBackend) -> None:
        assert isinstance(store, ConsumerRegistry)
        store.consumer_beat(beat("host-a:1:aaaa"))
        store.consumer_beat(beat("host-b:2:bbbb", started_at=datetime(2026, 5, 2, tzinfo=UTC)))
        assert [c.consumer_id for c in store.consumers()] == ["host-b:2:bbbb", "host-a:1:aaaa"]
        store.consumer_gone("host-b:2:bbbb")
        assert [c.consumer_id for c in store.consumers()] == ["host-a:1:aaaa"]

    def test_a_consumer_silent_for_three_beats_is_stale(self, store: ResultBackend) -> None:
        assert isinstance(store, ConsumerRegistry)
        store.consumer_beat(beat(interval_s=0.2))
        assert not store.consumers()[0].stale
        time.sleep(0.8)
        [silent] = store.consumers()
        assert silent.seen_s_ago > 0.6
        assert silent.stale
