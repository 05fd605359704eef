"""SIGTERM and SIGINT caught from the first moment of a ``tubeq`` process.

Importing the CLI (typer, pydantic, the client libraries) takes a second or more, and a
container orchestrator may stop a consumer in that second: without a handler, Python dies
by the signal (exit -15) and the supervisor reports a crash although nothing was leased
yet. ``install()`` runs first thing in the entry points (stdlib only, so it is cheap):

- a consumer (``consume``, ``demo``) remembers the signal; ``consumer.main`` asks
  ``received()`` when it installs its graceful handler and stops before pulling anything;
- any other command exits at once with 128 + the signal number, as a shell reports it:
  nothing was done, and nothing claims it succeeded; once the CLI is imported,
  ``release()`` gives it Python's own handling back.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

__all__ = ["install", "received", "release"]

#: commands whose stop is graceful: the signal is kept for the runner to honour
_CONSUMERS = frozenset({"consume", "demo"})

_received: int | None = None
_defer = False


def install(argv: list[str] | None = None) -> None:
    """Catch SIGTERM/SIGINT until the command installs its own handlers."""
    global _defer
    args = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in args if not arg.startswith("-")), None)
    _defer = command in _CONSUMERS
    signal.signal(signal.SIGTERM, _early)
    signal.signal(signal.SIGINT, _early)


def release() -> None:
    """The CLI is imported: a command that is not a consumer gets Python's own handling
    back (Ctrl-C raises KeyboardInterrupt, which ``status --watch`` ends on). A consumer
    keeps the early handler until ``consumer.main`` installs its graceful one."""
    if not _defer:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def received() -> int | None:
    """The signal that arrived before the consumer's own handler, if one did."""
    return _received


def _early(signum: int, _frame: FrameType | None) -> None:
    global _received
    _received = signum
    if not _defer:
        raise SystemExit(128 + signum)
