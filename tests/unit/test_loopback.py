"""The stubs' shared local server (tests/support/loopback.py): it serves on 127.0.0.1, stops
cleanly even if never started, and a port it cannot bind skips the test, or fails it where
CI requires every service."""

from __future__ import annotations

import socket
import socketserver
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from tests.support.loopback import LoopbackServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_it_serves_on_loopback_until_stopped() -> None:
    server = LoopbackServer(Hello).start()
    try:
        assert server.origin == f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(server.origin + "/", timeout=5) as reply:
            assert reply.read() == b"hello"
    finally:
        server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.origin + "/", timeout=2)
    server.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError, match="stopped"):
        server.start()  # not silently serving nothing


def test_stop_before_start_only_closes_the_socket() -> None:
    server = LoopbackServer(Hello)
    port = server.port
    server.stop()  # would wait for ever on socketserver's own shutdown()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


@pytest.mark.parametrize(
    ("required", "outcome"), [("1", pytest.fail.Exception), ("0", pytest.skip.Exception)]
)
def test_no_usable_loopback_skips_or_fails_saying_why(
    monkeypatch: pytest.MonkeyPatch, required: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("TUBEQ_REQUIRE_SERVICES", required)

    def refuse(self: object, *args: object) -> None:
        raise OSError(99, "Cannot assign requested address")

    monkeypatch.setattr(socketserver.TCPServer, "server_bind", refuse)
    with pytest.raises(outcome, match=r"cannot bind a stub server on 127\.0\.0\.1"):
        LoopbackServer(Hello)


def test_a_taken_port_asked_for_by_number_is_an_error_not_a_skip() -> None:
    taken = LoopbackServer(Hello)
    try:
        with pytest.raises(OSError):
            LoopbackServer(Hello, port=taken.port)
    finally:
        taken.stop()
