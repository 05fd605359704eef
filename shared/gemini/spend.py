"""The spend ledger's side of a Gemini call: its idempotency key and its per-step attempt number.

Every call Gemini bills becomes one ``BilledCall`` (``shared.ports.SpendLedger``). Its
``call_id`` is built from what makes the call unique: the video, the analysis version, the
step (``analysis``, ``chunk-002-of-005-<digest>``, ``merge``, ``video``, and ``<step>.repair``
for a repair) and the step's attempt number, never from a clock. The same call recorded twice
is one row; a real second call of the same step (a redelivery after the reply was bought but
not kept) is a new row, because its attempt number is new.

The attempt numbers have to outlive the process (the redelivery may run in another one), so
they are kept as tiny counters in the ``PartialStore`` beside the paid chunk replies, under
``<video>/<version>/calls/``. A counter is read and bumped after the paid reply has arrived,
so a call that failed before billing (refused connection, 429, 5xx) uses up no number.
The analysis claim keeps two workers off the same video and version, so the read-then-write
does not race in practice. The in-memory store forgets counters on restart (or when it evicts
them): a later call may then reuse a number and its row be kept only once, an undercount.
"""

from __future__ import annotations

import hashlib
import re

from shared.ports import PartialStore

#: ``BilledCall.call_id``'s maximum length
MAX_CALL_ID = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")


def step_key(video_id: str, analysis_version: str, step: str) -> str:
    """Where the attempt counter of one step lives in the ``PartialStore``."""
    safe = [_UNSAFE.sub("_", part).replace(":", "_") for part in (video_id, analysis_version)]
    return f"{safe[0]}/{safe[1]}/calls/{_UNSAFE.sub('_', step).replace(':', '_')}.count"


def call_id(video_id: str, analysis_version: str, step: str, attempt: str) -> str:
    """``<video>:<version>:<step>#<attempt>``; when that is too long for the ledger, the version
    and step are replaced by a digest of both (still deterministic)."""
    readable = f"{video_id}:{analysis_version}:{step}#{attempt}"
    if len(readable) <= MAX_CALL_ID:
        return readable
    digest = hashlib.sha256(f"{analysis_version}\n{step}".encode()).hexdigest()[:32]
    return f"{video_id}:{digest}#{attempt}"[:MAX_CALL_ID]


def next_attempt(store: PartialStore, key: str) -> int:
    """Bump and return the attempt counter under ``key`` (1 for a step never called before).

    Raises what the store raises; an unreadable counter counts as 0 (the worst case is one
    reused number, one row kept once)."""
    raw = store.get(key)
    try:
        last = int(raw.decode("ascii")) if raw is not None else 0
    except (UnicodeDecodeError, ValueError):
        last = 0
    attempt = last + 1
    store.put(key, str(attempt).encode("ascii"))
    return attempt
