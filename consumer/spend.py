"""The consumer's side of the spend ledger: billed calls held until the reply is safe, and
kept on this machine's disk while the result store cannot take them.

Two faults lost ledger rows (the fault suite, ``tests/faults``):

- the analyzer recorded each billed call in the result store the moment the reply arrived,
  *before* the pipeline journaled the reply: a store that waits on a lock widened the window
  in which a kill loses the paid reply itself;
- while the store was down, ``record_call`` failed and the row was gone for good (the
  journaled reply was saved later, its calls never).

So the analyzer records into a ``DeferredLedger``. It holds each thread's calls in memory
until the pipeline has journaled the reply and calls ``flush()``; a flush the store refuses
writes the calls to a pending file next to the reply journal (one JSON line each, fsynced),
and every later flush — and ``close()`` — sends the pending ones first. ``call_id`` makes a
call recorded twice one row, so replaying is always safe.

The held calls also go into the reply's journal entry (``held()``), so a kill between the
journal write and the flush loses no row: the delivery that reuses the entry records them
again. What still escapes: calls whose reply a kill cut off before it was journaled (the
reply is lost too, and nobody can record what never arrived), and, for a chunked analysis,
the calls of chunks paid before a kill (their results are kept and reused, so they are not
billed again, but their rows are lost with the process).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from pydantic import ValidationError

from shared.logging import get_logger
from shared.models import BilledCall
from shared.ports import SpendLedger

log = get_logger("tubeq.spend")

PENDING_FILE = "ledger-pending.jsonl"


class DeferredLedger:
    """A ``SpendLedger`` for the analyzer: held per thread, flushed by the pipeline."""

    def __init__(self, store: SpendLedger, folder: Path) -> None:
        self._store = store
        self._pending = Path(folder).expanduser() / PENDING_FILE
        self._pending.parent.mkdir(parents=True, exist_ok=True)
        self._held = threading.local()
        self._file_lock = threading.Lock()
        #: calls neither the store nor the pending file could take (a full disk under
        #: both): held by this process and sent with the next flush
        self._unwritten: list[BilledCall] = []

    # ---- the analyzer's side --------------------------------------------------------
    def record_call(self, call: BilledCall) -> None:
        held: list[BilledCall] = getattr(self._held, "calls", None) or []
        held.append(call)
        self._held.calls = held

    # ---- the pipeline's side --------------------------------------------------------
    def held(self) -> list[BilledCall]:
        """This thread's calls not yet flushed (to keep them with the reply's journal entry)."""
        return list(getattr(self._held, "calls", None) or [])

    def flush(self) -> None:
        """Send this thread's held calls (and any pending from before) to the store; what
        the store refuses waits in the pending file. Never raises: spend is counted, the
        video's work goes on."""
        calls: list[BilledCall] = getattr(self._held, "calls", None) or []
        self._held.calls = []
        waiting = self._take_pending()
        with self._file_lock:
            unwritten, self._unwritten = self._unwritten, []
        unsent = self._send([*unwritten, *waiting, *calls])
        if unsent:
            self._keep_pending(unsent)

    def discard(self) -> None:
        """Forget this thread's held calls (nothing was billed after all)."""
        self._held.calls = []

    def close(self) -> None:
        """Send what is pending, if the store takes it now."""
        self.flush()

    # ---- internals ------------------------------------------------------------------
    def _send(self, calls: list[BilledCall]) -> list[BilledCall]:
        for index, call in enumerate(calls):
            try:
                self._store.record_call(call)
            except Exception as exc:  # the store is down: keep the rest for later
                log.warning(
                    "spend.ledger_deferred",
                    calls=len(calls) - index,
                    first_call=call.call_id,
                    error=repr(exc)[:300],
                )
                return calls[index:]
        return []

    def _keep_pending(self, calls: list[BilledCall]) -> None:
        lines = "".join(call.model_dump_json() + "\n" for call in calls)
        try:
            with self._file_lock, self._pending.open("a", encoding="utf-8") as out:
                out.write(lines)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:  # a full disk too: hold them here until one takes them
            with self._file_lock:
                self._unwritten.extend(calls)
            log.warning(
                "spend.ledger_held_in_memory",
                call_ids=[c.call_id for c in calls],
                cost_usd=round(sum(c.usage.cost_usd for c in calls), 8),
                error=repr(exc),
            )

    def _take_pending(self) -> list[BilledCall]:
        with self._file_lock:
            try:
                text = self._pending.read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
            except OSError as exc:
                log.warning("spend.pending_unreadable", error=repr(exc))
                return []
            with contextlib.suppress(OSError):
                self._pending.unlink()
        calls = []
        for line in text.splitlines():
            try:
                calls.append(BilledCall.model_validate_json(line))
            except ValidationError:  # a torn last line after a crash: nothing to replay
                log.warning("spend.pending_line_skipped", line=line[:200])
        return calls
