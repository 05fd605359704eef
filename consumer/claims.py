"""Keeping this process's analysis claims alive while their analyses run.

A chunked 6-hour stream waiting on the rate budget can outlast one claim; renewed, the
claim keeps a duplicate from taking it over and paying again. One thread renews every
claim the process holds, every third of the claim's lifetime, so each claim is renewed
within that long of being taken and then as often. The thread starts with the first claim
and ends at a beat that finds none held: a thread per claim (as before) cost a thread start
and join per video, which was a measurable share of a video's own CPU.
"""

from __future__ import annotations

import threading

from shared.logging import get_logger
from shared.ports import AnalysisClaims

log = get_logger("tubeq.claims")

#: the shortest pause between two renewals (a claim of a few tenths of a second, in tests)
MIN_INTERVAL_S = 0.05


class ClaimKeeper:
    def __init__(self, claims: AnalysisClaims, ttl_s: float) -> None:
        self._claims = claims
        self.ttl_s = ttl_s
        self.interval_s = max(MIN_INTERVAL_S, ttl_s / 3)
        self._held: dict[tuple[str, str, str], None] = {}
        self._lock = threading.Lock()
        #: held through each round of renewals, so ``release`` can wait out one in flight
        self._renewing = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, video_id: str, version: str, owner: str) -> None:
        """Renew this claim (taken a moment ago by ``owner``) until ``release``."""
        with self._lock:
            self._held[(video_id, version, owner)] = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="claim-renewer", daemon=True)
                self._thread.start()

    def release(self, video_id: str, version: str, owner: str) -> None:
        """Stop renewing it (the caller lets it go, or lets it run out). Returns once no
        renewal of it is in flight, so a release of the claim that follows is not undone by
        a renewal landing after it."""
        self._drop(video_id, version, owner)
        with self._renewing:
            pass

    def _drop(self, video_id: str, version: str, owner: str) -> None:
        with self._lock:
            self._held.pop((video_id, version, owner), None)

    def held(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self._held)

    def _run(self) -> None:
        pause = threading.Event()
        while True:
            pause.wait(self.interval_s)
            with self._lock:
                if not self._held:
                    self._thread = None  # a later ``hold`` starts another
                    return
                due = list(self._held)
            with self._renewing:
                for claim in due:
                    with self._lock:
                        if claim not in self._held:
                            continue  # released meanwhile
                    self._renew(*claim)

    def _renew(self, video_id: str, version: str, owner: str) -> None:
        try:
            wait = self._claims.claim_analysis(video_id, version, owner, self.ttl_s)
        except Exception as exc:  # the claim may lapse; the worst case is a duplicate
            log.warning("analysis.claim_renew_failed", video_id=video_id, error=repr(exc))
            return
        if wait > 0:
            log.warning("analysis.claim_lost", video_id=video_id, owner=owner)
            self._drop(video_id, version, owner)
