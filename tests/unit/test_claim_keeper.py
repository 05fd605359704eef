"""The one thread that renews every analysis claim a consumer holds (``consumer.claims``)."""

from __future__ import annotations

import threading
from collections import Counter

from consumer.claims import ClaimKeeper


class Claims:
    """Counts renewals; answers ``lost`` ones with a wait (someone else holds it)."""

    def __init__(self) -> None:
        self.renewals: Counter[str] = Counter()
        self.lost: set[str] = set()
        self.threads: set[str] = set()
        self.renewed = threading.Condition()

    def claim_analysis(self, video_id: str, version: str, owner: str, ttl_s: float) -> float:
        assert ttl_s == 0.15
        with self.renewed:
            self.renewals[video_id] += 1
            self.threads.add(threading.current_thread().name)
            self.renewed.notify_all()
        return 5.0 if video_id in self.lost else 0.0

    def wait_for(self, video_id: str, renewals: int) -> bool:
        with self.renewed:
            return self.renewed.wait_for(lambda: self.renewals[video_id] >= renewals, 5)


def test_one_thread_renews_every_held_claim_until_released() -> None:
    claims = Claims()
    keeper = ClaimKeeper(claims, ttl_s=0.15)  # type: ignore[arg-type]
    keeper.hold("a", "v1", "me")
    keeper.hold("b", "v1", "me")
    assert claims.wait_for("a", 3) and claims.wait_for("b", 3)
    assert claims.threads == {"claim-renewer"}  # one thread for both
    keeper.release("a", "v1", "me")
    released_at = claims.renewals["a"]
    assert claims.wait_for("b", claims.renewals["b"] + 2)
    assert claims.renewals["a"] == released_at  # never renewed after its release
    assert keeper.held() == [("b", "v1", "me")]
    keeper.release("b", "v1", "me")


def test_the_thread_ends_when_no_claim_is_held_and_a_new_claim_starts_one() -> None:
    claims = Claims()
    keeper = ClaimKeeper(claims, ttl_s=0.15)  # type: ignore[arg-type]
    others = set(threading.enumerate())  # other tests' keepers may still be winding down
    keeper.hold("a", "v1", "me")
    assert claims.wait_for("a", 1)
    (ours,) = [t for t in threading.enumerate() if t.name == "claim-renewer" and t not in others]
    keeper.release("a", "v1", "me")
    ours.join(2)  # more than one beat: it finds nothing held and ends
    assert not ours.is_alive()
    keeper.hold("c", "v1", "me")
    assert claims.wait_for("c", 1)
    keeper.release("c", "v1", "me")


def test_a_lost_claim_is_no_longer_renewed() -> None:
    claims = Claims()
    claims.lost.add("a")
    keeper = ClaimKeeper(claims, ttl_s=0.15)  # type: ignore[arg-type]
    keeper.hold("a", "v1", "me")
    keeper.hold("b", "v1", "me")
    assert claims.wait_for("b", 3)
    assert claims.renewals["a"] == 1  # lost at its first renewal, dropped
    assert keeper.held() == [("b", "v1", "me")]
    keeper.release("b", "v1", "me")
