"""The batch-store contract: one suite every ``shared.ports.BatchStore`` adapter keeps (the
result stores: SQLite, Postgres through psycopg, Supabase over PostgREST; the rules are
``sql/010_batches.sql`` and their twins in ``sql/queries/sqlite.sql``).

An adapter's test module subclasses ``BatchStoreContract`` and provides a ``harness``
fixture returning a ``BatchStoreHarness``: batch stores on one empty result store, built
from settings by ``shared.factory.build_batch_store``.

The promises pinned here: a video is in at most one live batch per analysis version, so a
redelivered collect job never adds it twice and a video whose reply is saved is never
requested again; one open batch per version, sealed by size (``sealed_by``) or by
``batch_seal``; ``batch_update`` keeps what it is not given and sets the submit and end
times once; an item is settled only in the batch it is in; a video of a batch that ended
without it goes into the open batch, its tries counted; unknown batches are empty answers,
never errors; batches are listed newest first, none for a limit below 1; concurrent adds
make one open batch; a bad item (an empty id, version or prompt, a job that is not JSON) is
refused with ``InvalidInput`` and nothing of its add is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import pytest

from shared.errors import InvalidInput
from shared.gemini.batch_models import BatchItem, BatchState, ItemState
from shared.ports import BatchStore

V1 = "gemini:test-model:p1"
V2 = "gemini:test-model:p2"


class BatchStoreHarness(Protocol):
    def make(self) -> BatchStore:
        """A new batch store on the harness's (shared, at first empty) result store."""
        ...


def vid(n: int) -> str:
    return f"vid{n:08d}"


def item(n: int, version: str = V1, **overrides: object) -> BatchItem:
    values: dict[str, object] = {
        "batch_id": "",
        "video_id": vid(n),
        "analysis_version": version,
        "state": ItemState.PENDING,
        "prompt": f"transcript {n} — «ünïcode» <data>",
        "job": json.dumps({"kind": "video.batch_collect", "video_id": vid(n), "n": n}),
        "language": "en",
    }
    return BatchItem(**(values | overrides))  # type: ignore[arg-type]


class BatchStoreContract:
    """Subclass as ``Test<Adapter>BatchStore`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def store(self, harness: BatchStoreHarness) -> Iterator[BatchStore]:
        built = harness.make()
        yield built
        built.close()

    # ---- the port ---------------------------------------------------------------------
    def test_implements_the_port(self, store: BatchStore) -> None:
        assert isinstance(store, BatchStore)

    def test_unknown_batches_are_empty_answers(self, store: BatchStore) -> None:
        assert store.batch_get("nosuch") is None
        assert store.batch_seal("nosuch") is None
        assert store.batch_items("nosuch") == []
        assert store.batch_list() == []
        store.batch_update("nosuch", BatchState.FAILED, error="gone")  # a no-op
        store.batch_item_settle("nosuch", vid(1), ItemState.SAVED)  # a no-op
        assert store.batch_get("nosuch") is None and store.batch_list() == []

    # ---- adding -----------------------------------------------------------------------
    def test_the_first_add_opens_a_batch(self, store: BatchStore) -> None:
        batch, added = store.batch_add(item(1), "b1", 10)
        assert added
        assert (batch.batch_id, batch.analysis_version, batch.state) == ("b1", V1, "open")
        assert (batch.items, batch.opened_by, batch.sealed_by) == (1, vid(1), None)
        assert batch.remote_name is None and batch.submitted_at is None and batch.ended_at is None
        assert store.batch_get("b1") == batch
        (kept,) = store.batch_items("b1")
        assert (kept.batch_id, kept.video_id, kept.analysis_version) == ("b1", vid(1), V1)
        assert (kept.state, kept.tries, kept.error, kept.language) == ("pending", 1, None, "en")
        assert kept.prompt == item(1).prompt
        assert json.loads(kept.job) == json.loads(item(1).job)  # the job, to send it again

    def test_a_redelivered_add_adds_nothing(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 10)
        again, added = store.batch_add(item(1), "ignored", 10)
        assert not added
        assert (again.batch_id, again.items) == ("b1", 1)
        assert store.batch_get("ignored") is None
        assert [i.tries for i in store.batch_items("b1")] == [1]

    def test_videos_fill_the_open_batch_until_it_is_sealed_by_size(self, store: BatchStore) -> None:
        for n in (1, 2):
            batch, added = store.batch_add(item(n), f"new-{n}", 3)
            assert added and (batch.batch_id, batch.state, batch.items) == ("new-1", "open", n)
        full, added = store.batch_add(item(3), "new-3", 3)
        assert added
        assert (full.batch_id, full.state, full.items, full.sealed_by) == (
            "new-1",
            BatchState.SEALED,
            3,
            vid(3),
        )
        nxt, added = store.batch_add(item(4), "new-4", 3)
        assert added and (nxt.batch_id, nxt.state, nxt.opened_by) == ("new-4", "open", vid(4))
        assert [i.video_id for i in store.batch_items("new-1")] == [vid(1), vid(2), vid(3)]

    def test_every_analysis_version_has_its_own_open_batch(self, store: BatchStore) -> None:
        a, _ = store.batch_add(item(1, V1), "b-v1", 10)
        b, added = store.batch_add(item(1, V2), "b-v2", 10)  # the same video, another version
        assert added and (a.batch_id, b.batch_id) == ("b-v1", "b-v2")
        c, _ = store.batch_add(item(2, V2), "ignored", 10)
        assert (c.batch_id, c.items) == ("b-v2", 2)
        assert {x.batch_id: x.analysis_version for x in store.batch_list()} == {
            "b-v1": V1,
            "b-v2": V2,
        }

    def test_a_video_of_an_ended_batch_goes_into_the_open_one(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 2)
        store.batch_add(item(2), "ignored", 2)  # b1 sealed
        store.batch_update("b1", BatchState.EXPIRED, error="expired after 48 h")
        store.batch_item_settle("b1", vid(2), ItemState.REQUEUED, "batch expired")
        moved, added = store.batch_add(item(2), "b2", 2)
        assert added and (moved.batch_id, moved.state, moved.items) == ("b2", "open", 1)
        (again,) = store.batch_items("b2")
        assert (again.video_id, again.state, again.tries, again.error) == (
            vid(2),
            "pending",
            2,  # its second batch
            None,
        )
        # it left b1: b1 lists only the video still there
        assert [i.video_id for i in store.batch_items("b1")] == [vid(1)]

    def test_a_pending_video_of_an_ended_batch_can_be_added_again(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 10)
        store.batch_update("b1", BatchState.FAILED, error="the batch failed")
        moved, added = store.batch_add(item(1), "b2", 10)  # still pending in a dead batch
        assert added and moved.batch_id == "b2"

    def test_a_saved_video_is_never_requested_again(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 10)
        store.batch_update("b1", BatchState.SUCCEEDED)
        store.batch_item_settle("b1", vid(1), ItemState.SAVED)
        again, added = store.batch_add(item(1), "b2", 10)
        assert not added and again.batch_id == "b1"
        assert store.batch_get("b2") is None

    def test_a_bad_item_is_refused_and_nothing_is_kept(self, store: BatchStore) -> None:
        for bad, new_id, says in (
            (item(1), "", "batch id"),
            (item(1, video_id=""), "b1", "video id"),
            (item(1, analysis_version=""), "b1", "analysis version"),
            (item(1, prompt=""), "b1", "prompt"),
            (item(1, job="not json {"), "b1", "json"),
            (item(1, job='{"n": NaN}'), "b1", "json"),  # Python reads it; JSON does not
        ):
            # the same type from every store, and not transient: a retry cannot fix it
            with pytest.raises(InvalidInput, match=f"(?i){says}"):
                store.batch_add(bad, new_id, 10)
        assert store.batch_list() == []

    def test_a_bad_item_added_again_leaves_the_kept_one_alone(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 10)
        store.batch_update("b1", BatchState.FAILED, error="the batch failed")  # may go again
        with pytest.raises(InvalidInput, match=r"(?i)json"):
            store.batch_add(item(1, job="{"), "b2", 10)
        assert store.batch_get("b2") is None  # the batch it would have opened is gone too
        (kept,) = store.batch_items("b1")
        assert (kept.tries, json.loads(kept.job)) == (1, json.loads(item(1).job))

    def test_an_empty_new_batch_id_is_refused_with_an_open_batch_too(
        self, store: BatchStore
    ) -> None:
        # the id is unused then, but a caller that sends none has a bug to hear about at once
        store.batch_add(item(1), "b1", 10)
        with pytest.raises(InvalidInput, match=r"(?i)batch id"):
            store.batch_add(item(2), "", 10)
        assert [i.video_id for i in store.batch_items("b1")] == [vid(1)]

    # ---- sealing and updating ---------------------------------------------------------
    def test_sealing_closes_an_open_batch_only(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 10)
        sealed = store.batch_seal("b1")
        assert sealed is not None and sealed.state == BatchState.SEALED
        assert sealed.sealed_by is None  # sealed by age, not by a video
        assert store.batch_seal("b1") == sealed  # again: a no-op
        nxt, _ = store.batch_add(item(2), "b2", 10)
        assert nxt.batch_id == "b2"  # a sealed batch takes no more videos
        store.batch_update("b2", BatchState.SUBMITTED, remote_name="batches/x2")
        after = store.batch_seal("b2")
        assert after is not None and after.state == BatchState.SUBMITTED

    def test_an_update_keeps_what_it_is_not_given_and_sets_times_once(
        self, store: BatchStore
    ) -> None:
        store.batch_add(item(1), "b1", 1)
        store.batch_update("b1", BatchState.SUBMITTED, remote_name="batches/abc", poll_chain="c1")
        submitted = store.batch_get("b1")
        assert submitted is not None and submitted.submitted_at is not None
        assert (submitted.state, submitted.remote_name, submitted.poll_chain) == (
            "submitted",
            "batches/abc",
            "c1",
        )
        assert submitted.ended_at is None
        store.batch_update("b1", BatchState.SUBMITTED, poll_chain="c2")  # a new poll chain
        again = store.batch_get("b1")
        assert again is not None
        assert (again.remote_name, again.poll_chain) == ("batches/abc", "c2")
        assert again.submitted_at == submitted.submitted_at  # set once
        store.batch_update("b1", BatchState.FAILED, error="quota")
        ended = store.batch_get("b1")
        assert ended is not None and ended.ended_at is not None
        assert (ended.state, ended.error, ended.remote_name) == ("failed", "quota", "batches/abc")
        store.batch_update("b1", BatchState.CANCELLED)
        last = store.batch_get("b1")
        assert last is not None
        assert (last.state, last.error, last.ended_at) == ("cancelled", "quota", ended.ended_at)

    # ---- items ------------------------------------------------------------------------
    def test_items_are_listed_by_video_and_settled_in_their_batch(self, store: BatchStore) -> None:
        for n in (3, 1, 2):
            store.batch_add(item(n), "b1", 10)
        assert [i.video_id for i in store.batch_items("b1")] == [vid(1), vid(2), vid(3)]
        store.batch_item_settle("b1", vid(2), ItemState.FAILED, "SAFETY: blocked")
        store.batch_item_settle("b1", vid(3), ItemState.SAVED)
        states = {i.video_id: (i.state, i.error) for i in store.batch_items("b1")}
        assert states == {
            vid(1): ("pending", None),
            vid(2): ("failed", "SAFETY: blocked"),
            vid(3): ("saved", None),
        }
        store.batch_item_settle("b1", vid(99), ItemState.SAVED)  # not in it: a no-op
        assert len(store.batch_items("b1")) == 3

    def test_a_video_that_moved_on_is_not_settled_by_its_old_batch(self, store: BatchStore) -> None:
        store.batch_add(item(1), "b1", 1)  # sealed at once
        store.batch_update("b1", BatchState.EXPIRED)
        store.batch_item_settle("b1", vid(1), ItemState.REQUEUED, "expired")
        store.batch_add(item(1), "b2", 10)
        store.batch_item_settle("b1", vid(1), ItemState.FAILED, "a late poll of b1")
        (now,) = store.batch_items("b2")
        assert (now.state, now.error) == ("pending", None)

    # ---- listing ----------------------------------------------------------------------
    def test_batches_are_listed_newest_first_within_the_limit(self, store: BatchStore) -> None:
        for n in range(1, 5):
            store.batch_add(item(n), f"b{n}", 1)  # each sealed at once: a new batch each
        assert [b.batch_id for b in store.batch_list()] == ["b4", "b3", "b2", "b1"]
        assert [b.batch_id for b in store.batch_list(limit=2)] == ["b4", "b3"]
        assert store.batch_list(limit=0) == []

    def test_a_negative_limit_lists_nothing(self, store: BatchStore) -> None:
        # none, as for a limit of 0 (not every batch: SQLite alone reads LIMIT -1 so)
        store.batch_add(item(1), "b1", 10)
        assert store.batch_list(limit=-1) == []
        assert store.batch_list(limit=-1000) == []
        assert [b.batch_id for b in store.batch_list(limit=1)] == ["b1"]

    def test_another_store_on_the_same_data_sees_the_batches(
        self, harness: BatchStoreHarness, store: BatchStore
    ) -> None:
        store.batch_add(item(1), "b1", 10)
        other = harness.make()
        try:
            again, added = other.batch_add(item(1), "b9", 10)  # another consumer's redelivery
            assert not added and again.batch_id == "b1"
            assert other.batch_get("b1") == store.batch_get("b1")
        finally:
            other.close()

    def test_concurrent_adds_make_one_open_batch_of_every_video(self, store: BatchStore) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: store.batch_add(item(n), f"new{n}", 1000), range(40)))
        (only,) = store.batch_list()
        assert (only.state, only.items) == (BatchState.OPEN, 40)
        assert len(store.batch_items(only.batch_id)) == 40
