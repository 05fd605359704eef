"""The model quota and its spend: the rate budget every consumer shares, one call's grant of it,
the read-only meter behind the overview's budget panel, and the ledger of every billed call."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.fleet import BudgetUsage
from shared.models import BilledCall


@runtime_checkable
class BudgetGrant(Protocol):
    """One call's share of a ``RateBudget``, as ``acquire`` granted it."""

    def sending(self) -> None:
        """The call's request is being written to the network now: a budget that counts
        calls where the server will see them moves a call that leaves late (its slot was
        earlier) to now. Called once, right before sending; later calls change nothing."""
        ...

    def refund(self) -> None:
        """Give the share back: the server refused the call (429), so it did not count
        against the quota. Refunding twice gives it back once."""
        ...


@runtime_checkable
class RateBudget(Protocol):
    """A rate budget shared by every consumer that calls a paid model (``shared.rate_budget``):
    requests and input tokens per window, paced through the window, spent together across
    processes (one machine's file) or machines (the result database)."""

    def acquire(self, tokens: int, timeout_s: float) -> BudgetGrant:
        """Take one request and ``tokens`` input tokens from the budget, waiting at most
        ``timeout_s`` for the slot; raise ``RateLimited(retry_after=…)`` at once, taking
        nothing, when the slot is further away."""
        ...

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now (the server said so: pass its Retry-After,
        no more); a pause only ever extends, never shortens, one already set."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BudgetMeter(Protocol):
    """Reads the shared rate budget's state (``shared.rate_budget``) to say how much of the
    model quota is in use; it never takes, returns or pauses anything."""

    def usage(self) -> BudgetUsage:
        """The window ending now; ``exists`` False when no consumer has made a call yet."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SpendLedger(Protocol):
    """Every billed model call, kept where the results are (issue 9: spend counted even for
    calls whose video ends failed). Recording the same ``call_id`` twice keeps one row."""

    def record_call(self, call: BilledCall) -> None: ...
