"""Where operator alerts go, on 127.0.0.1: a Slack incoming webhook and an SMTP server.

``SlackWebhook`` follows Slack's documentation of incoming webhooks as of 2025
(docs.slack.dev "Sending messages using incoming webhooks", its error table first published
in the changelog "Improving error conditions for Incoming Webhooks", 2016-05-17, and
"Formatting text for app surfaces"):

- ``POST`` of a JSON body with a non-empty ``text`` to the webhook's own path
  (``/services/T…/B…/<token>``, the token being the credential) answers ``200`` ``ok``;
- a body that is not JSON answers ``400 invalid_payload``; JSON without text ``400 no_text``;
- a path that is no webhook (a revoked or mistyped URL) answers ``404 no_service``;
- faults can be queued: ``410 channel_is_archived``, ``500 rollup_error``, ``429`` with
  ``Retry-After``, or a reply that comes too late;
- ``text`` is mrkdwn: ``&``, ``<`` and ``>`` are control characters a sender must escape as
  ``&amp;``, ``&lt;``, ``&gt;``; ``<url|label>`` is a link, ``<!channel>``, ``<!here>``,
  ``<!everyone>`` and ``<@U…>`` are mentions. ``Post.shown`` is the text as Slack shows it
  (links by their label, mentions as @…, entities decoded) and ``Post.mentions`` the people
  it would have notified.

``SmtpServer`` is aiosmtpd (1.4, RFC 5321 with AUTH LOGIN/PLAIN), a real SMTP server; it
keeps every message, checks one login, and can refuse the next message with a reply
(e.g. ``451 4.3.0`` try again later). ``SilentServer`` accepts connections and never
answers (an SMTP server that hangs before its greeting, or a webhook that never replies).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import LoopbackServer
from tests.support.services import free_port

#: Slack's incoming-webhook path: /services/<team>/<bot>/<token>
WEBHOOK_PATH = "/services/T0001TUBEQ/B0001TUBEQ/s3cr3tWebhookToken0001"
_CONTROL = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True)
class Post:
    """One message Slack accepted."""

    path: str
    payload: dict[str, Any]
    #: the text as a reader sees it
    shown: str
    #: who it would have notified (``channel``, ``here``, ``everyone``, user ids)
    mentions: tuple[str, ...]


def render_mrkdwn(text: str) -> tuple[str, tuple[str, ...]]:
    """Slack's reading of ``text``: control sequences become links and mentions, then the
    three entities are decoded (Slack decodes only those)."""
    mentions: list[str] = []

    def control(match: re.Match[str]) -> str:
        inner = match[1]
        target, _, label = inner.partition("|")
        if target.startswith("!"):
            name = target[1:].split("^", 1)[0]
            mentions.append(name)
            return "@" + (label or name)
        if target.startswith(("@", "#")):
            mentions.append(target[1:])
            return target[0] + (label or target[1:])
        return label or target  # a link shows its label (or its URL)

    shown = _CONTROL.sub(control, text)
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return shown, tuple(mentions)


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def archived() -> Reply:
    return Reply(410, "channel_is_archived")


def rollup_error() -> Reply:
    return Reply(500, "rollup_error")


def rate_limited(retry_after_s: int = 1) -> Reply:
    return Reply(429, "rate_limited", {"Retry-After": str(retry_after_s)})


class SlackWebhook:
    """A Slack incoming webhook on 127.0.0.1 (see the module docstring)."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.faults: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler())

    @property
    def url(self) -> str:
        return self._http.origin + WEBHOOK_PATH

    @property
    def revoked_url(self) -> str:
        """The same workspace's URL with another token: a webhook that no longer exists."""
        return self.url.replace("s3cr3tWebhookToken0001", "r3vok3dWebhookToken0002")

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.faults.extend(replies)

    def start(self) -> SlackWebhook:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def _answer(self, path: str, content_type: str, raw: bytes) -> Reply:
        with self._lock:
            if self.faults:
                return self.faults.popleft()
        if path != WEBHOOK_PATH:
            return Reply(404, "no_service")
        try:
            payload = json.loads(raw) if "json" in content_type else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return Reply(400, "invalid_payload")
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            return Reply(400, "no_text")
        shown, mentions = render_mrkdwn(text)
        with self._lock:
            self.posts.append(Post(path, payload, shown, mentions))
        return Reply(200, "ok")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = hook._answer(self.path, self.headers.get("Content-Type", ""), raw)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        assert isinstance(self.message, EmailMessage)
        content = self.message.get_content()
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")  # SMTP's line ends, as a mail client shows them


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with one login (``username``/``password``)."""

    def __init__(self, username: str, password: str) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.mails: list[Mail] = []
        self.logins: list[str] = []
        #: the reply to the next messages' DATA instead of 250 (e.g. "451 4.3.0 try later")
        self.refusals: deque[str] = deque()
        box = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                if box.refusals:
                    return box.refusals.popleft()
                box.mails.append(
                    Mail(
                        envelope.mail_from,
                        tuple(envelope.rcpt_tos),
                        message_from_bytes(
                            envelope.original_content or envelope.content, policy=policy.default
                        ),
                    )
                )
                return "250 OK"

        def authenticator(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> Any:
            from aiosmtpd.smtp import AuthResult, LoginPassword

            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == username
                and data.password.decode() == password
            )
            if ok:
                box.logins.append(username)
            return AuthResult(success=ok)

        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,  # a local server: no certificate to present
        )

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port: int = self._sock.getsockname()[1]

    def stop(self) -> None:
        self._sock.close()
