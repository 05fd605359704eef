"""The one periodic thread the consumer keeps things alive with (leases, analysis claims)."""

from __future__ import annotations

import threading

from consumer.heartbeat import Heartbeat


def test_beats_until_stopped_and_survives_a_failing_beat() -> None:
    beats: list[int] = []
    third = threading.Event()

    def beat() -> bool:
        beats.append(len(beats))
        if len(beats) == 1:
            raise RuntimeError("one renewal failed")
        if len(beats) >= 3:
            third.set()
        return True

    heart = Heartbeat(beat, 0.01, "test-heartbeat").start()
    assert third.wait(5), "a failing beat must not end the heartbeat"
    heart.stop()
    stopped_at = len(beats)
    threading.Event().wait(0.05)
    assert len(beats) == stopped_at


def test_a_beat_that_answers_false_ends_it() -> None:
    calls: list[int] = []
    heart = Heartbeat(lambda: bool(calls.append(1)), 0.01, "test-heartbeat").start()
    threading.Event().wait(0.2)
    heart.stop()
    assert calls == [1]
