"""A running consumer's row in the result store (``ConsumerRegistry``), for the overview's
"running consumers" panel, ``tubeq status`` and ``GET /v1/consumers``.

Kept off the hot path: nothing here runs per video. Its own ``Heartbeat`` thread upserts one
row every ``TUBEQ_CONSUMER_HEARTBEAT_S`` (what is in flight, read from the lease keeper, and
the run's counts); the first beat goes when the runner starts (after its pre-flight), and a
clean stop deletes the row. A killed consumer's row stays and its age says it is lost. A
beat the store refuses is logged and the next one tries again: the registry must never stop
or slow the work it describes.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from consumer.heartbeat import Heartbeat
from consumer.runner import Preflight, Runner
from shared.fleet import CURRENT_SHOWN, ConsumerBeat
from shared.jobs import JobUnreadable
from shared.logging import get_logger
from shared.models import Delivery
from shared.ports import ConsumerRegistry

log = get_logger("tubeq.presence")


def _tubeq_version() -> str:
    try:
        return version("tubeq")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _label(d: Delivery) -> str:
    try:
        return d.body.label
    except JobUnreadable:
        return d.envelope.label


class Presence:
    """This consumer's row: ``start`` (first beat, then every ``interval_s``), ``stop`` (row
    removed). ``watch(runner)`` says whose work to describe."""

    def __init__(self, registry: ConsumerRegistry, interval_s: float) -> None:
        self.registry = registry
        self.interval_s = interval_s
        host = socket.gethostname()
        self.host, self.pid = host, os.getpid()
        #: host and pid say where to look; the suffix tells a restarted pid from the old one
        self.consumer_id = f"{host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.started_at = datetime.now(UTC)
        self._version = _tubeq_version()
        self._runner: Runner | None = None
        self._heartbeat: Heartbeat | None = None
        self._lock = threading.Lock()

    def watch(self, runner: Runner) -> None:
        self._runner = runner

    def after(self, preflight: Preflight) -> Preflight:
        """``preflight``, then the first beat: a consumer shows as running once it may pull."""

        def checked_then_start(stop: threading.Event) -> None:
            preflight(stop)
            if not stop.is_set():
                self.start()

        return checked_then_start

    def beat(self) -> ConsumerBeat:
        runner = self._runner
        held = runner.leases.held() if runner is not None else []
        stats = runner.stats if runner is not None else None
        return ConsumerBeat(
            consumer_id=self.consumer_id,
            host=self.host,
            pid=self.pid,
            version=self._version,
            started_at=self.started_at,
            interval_s=self.interval_s,
            state="stopping" if runner is not None and runner.stopping else "running",
            concurrency=runner.config.concurrency if runner is not None else 0,
            current=[_label(d) for d in held[:CURRENT_SHOWN]],
            in_flight=len(held),
            done=stats.done if stats else 0,
            skipped=stats.skipped if stats else 0,
            failed=stats.failed if stats else 0,
            retried=stats.retried if stats else 0,
            dead=stats.dead if stats else 0,
        )

    def beat_once(self) -> bool:
        try:
            self.registry.consumer_beat(self.beat())
        except Exception as exc:  # never the consumer's problem: the next beat tries again
            log.warning("presence.beat_failed", error=repr(exc))
        return True

    def start(self) -> None:
        with self._lock:
            if self._heartbeat is not None:
                return
            self.beat_once()
            self._heartbeat = Heartbeat(self.beat_once, self.interval_s, "presence").start()
        log.info("presence.started", consumer_id=self.consumer_id, interval_s=self.interval_s)

    def stop(self) -> None:
        """A clean stop: no more beats, and the row goes. Before the store is closed."""
        with self._lock:
            heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is None:
            return
        heartbeat.stop(timeout_s=2.0)
        try:
            self.registry.consumer_gone(self.consumer_id)
        except Exception as exc:  # it will show as lost instead, then be forgotten
            log.warning("presence.remove_failed", error=repr(exc))
