"""The one local server every stub serves on: bound to 127.0.0.1 (tests never listen on
another interface), answered by a daemon thread per connection, stopped and closed once.

A stub says how to answer (its request handler class) and what its base URL looks like;
the binding (a test on a machine that cannot bind loopback at all skips, or fails under
``TUBEQ_REQUIRE_SERVICES=1``),
the starting, the port and the orderly stop are written here once. ``stop`` before ``start``
is harmless: ``socketserver``'s ``shutdown`` would otherwise wait for ever for a loop that
never ran.
"""

from __future__ import annotations

import socketserver
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from tests.support.services import unavailable

HOST = "127.0.0.1"


class LoopbackServer:
    """A threaded HTTP server (or, with ``http=False``, a plain TCP one) on ``127.0.0.1``."""

    def __init__(self, handler: Any, *, port: int = 0, http: bool = True) -> None:
        server_class = ThreadingHTTPServer if http else socketserver.ThreadingTCPServer
        try:
            self._server: socketserver.TCPServer = server_class((HOST, port), handler)
        except OSError as exc:
            if port == 0:  # any free port refused: this machine has no usable loopback
                unavailable(f"cannot bind a stub server on {HOST}: {exc}")
            raise  # a port asked for by number and taken is the caller's bug, not a skip
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = self._stopped = False

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``, with no path."""
        return f"http://{HOST}:{self.port}"

    def quiet(self) -> None:
        """Print nothing for a request that fails in the handler: where tests kill clients
        mid-request on purpose, the reset connection is expected, not news."""
        self._server.handle_error = lambda *_args: None  # type: ignore[method-assign]

    def start(self) -> LoopbackServer:
        if self._stopped:
            raise RuntimeError("this server was stopped: make a new LoopbackServer")
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
