"""Keeping the leases of in-flight messages: which expire when, and extending long ones.

A heartbeat (``consumer.heartbeat``) extends leases that are half gone, so a video that
takes longer than the visibility timeout (a 6-hour stream) is not handed to a second
consumer meanwhile. It keeps beating through a graceful shutdown's grace period and stops
only when the runner is done with its in-flight work. Where the queue cannot extend
(Cloudflare), the runner keeps to the lease it got.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from consumer.heartbeat import Heartbeat
from shared.logging import get_logger
from shared.models import Delivery
from shared.ports import Queue

log = get_logger("tubeq.leases")


class LeaseKeeper:
    def __init__(self, queue: Queue, lease_s: float) -> None:
        self.queue = queue
        self.lease_s = lease_s
        self._leases: dict[str, tuple[Delivery, datetime]] = {}
        self._cannot_extend: set[str] = set()
        self._lock = threading.Lock()
        self._heartbeat = Heartbeat(self._beat, min(lease_s / 4, 30.0), "lease-heartbeat")

    # ---- tracking -----------------------------------------------------------------------
    def track(self, d: Delivery) -> None:
        with self._lock:
            self._leases[d.message_id] = (d, d.lease_expires_at)

    def forget(self, d: Delivery) -> None:
        with self._lock:
            self._leases.pop(d.message_id, None)
            self._cannot_extend.discard(d.message_id)

    def expired(self, d: Delivery) -> bool:
        with self._lock:
            entry = self._leases.get(d.message_id)
        expires = entry[1] if entry else d.lease_expires_at
        return datetime.now(UTC) >= expires

    def held(self) -> list[Delivery]:
        """The deliveries in flight now."""
        with self._lock:
            return [d for d, _ in self._leases.values()]

    def expires_at(self, d: Delivery) -> datetime | None:
        with self._lock:
            entry = self._leases.get(d.message_id)
        return entry[1] if entry else None

    # ---- the heartbeat ------------------------------------------------------------------
    def start(self) -> None:
        self._heartbeat.start()

    def stop(self) -> None:
        self._heartbeat.stop(timeout_s=1)

    def beat_once(self) -> int:
        """Extend every lease that is half gone; returns how many were extended."""
        now = datetime.now(UTC)
        half = timedelta(seconds=self.lease_s / 2)
        with self._lock:
            due = [
                d
                for d, exp in self._leases.values()
                if exp - now < half and d.message_id not in self._cannot_extend
            ]
        extended = 0
        for d in due:
            try:
                ok = self.queue.extend(d, self.lease_s)
            except Exception as exc:  # keep beating for the others
                log.warning(
                    "lease.extend_failed",
                    message_id=d.message_id,
                    kind=d.envelope.kind,
                    error=repr(exc),
                )
                continue
            with self._lock:
                if d.message_id not in self._leases:
                    continue  # finished meanwhile
                if ok:
                    self._leases[d.message_id] = (d, now + timedelta(seconds=self.lease_s))
                    extended += 1
                else:
                    # The backend cannot (Cloudflare) or the lease is gone: keep to it.
                    self._cannot_extend.add(d.message_id)
        return extended

    def _beat(self) -> bool:
        self.beat_once()
        return True  # until stopped
