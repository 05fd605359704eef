"""One periodic thread, for everything the consumer keeps alive while work runs: the
leases of in-flight messages (``consumer.leases``) and the claim on a paid analysis
(``consumer.pipeline``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Self

from shared.logging import get_logger

log = get_logger("tubeq.heartbeat")


class Heartbeat:
    """Calls ``beat`` every ``interval_s`` seconds on a daemon thread, until ``stop()`` or
    until ``beat`` returns False. A beat that raises is logged and the next one still runs:
    one failed renewal must not end the keeping of the rest."""

    def __init__(self, beat: Callable[[], bool], interval_s: float, name: str) -> None:
        self.interval_s = max(0.05, interval_s)
        self._beat = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                keep_going = self._beat()
            except Exception as exc:
                log.warning("heartbeat.beat_failed", name=self._thread.name, error=repr(exc))
                continue
            if not keep_going:
                return
