"""Who may see the dashboard and who may act on it.

Two kinds of key: operator keys (``TUBEQ_API_KEYS``) read and act (redrive), analyst keys
(``TUBEQ_ANALYST_KEYS``) only read. A key arrives as ``Authorization: Bearer <key>`` or
through the login form, which sets a cookie holding a keyed HMAC of the key (never the key:
a stolen cookie jar does not give away a key that also works on the API). The HMAC's secret
is derived from every configured key, so a login outlives a restart of ``tubeq serve`` (or
a second backend behind the Worker) and dies when any key is changed or revoked; nobody who
lacks an operator key can compute it. Every comparison is ``hmac.compare_digest`` against every
known value, with no early exit.

The cookie is HttpOnly and SameSite=Strict; a POST form carries a CSRF token that is an
HMAC of the cookie, so a page elsewhere can neither read nor forge it. A request that sent
its key in the Authorization header needs no token (a browser never adds that header to a
cross-site request on its own).

Without any key configured (``tubeq serve --insecure-no-auth``, loopback only) everyone is
an operator, as on the API.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from enum import StrEnum

from fastapi import Request
from pydantic import SecretStr

COOKIE = "tubeq_session"
#: a login lasts a working day; the key itself does not expire
COOKIE_MAX_AGE_S = 12 * 3600


class Role(StrEnum):
    OPERATOR = "operator"
    ANALYST = "analyst"


def _secret_of(keys: Sequence[SecretStr]) -> bytes:
    values = sorted(k.get_secret_value() for k in keys if k.get_secret_value())
    if not values:
        return secrets.token_bytes(32)  # no keys: everyone is an operator anyway
    return hashlib.sha256(b"tubeq-dashboard-login-v1\0" + "\0".join(values).encode()).digest()


class Access:
    def __init__(
        self,
        operators: Sequence[SecretStr],
        analysts: Sequence[SecretStr],
        *,
        secret: bytes | None = None,
    ) -> None:
        self._secret = secret or _secret_of([*operators, *analysts])
        self._known: list[tuple[bytes, Role]] = [
            (self._mac(k.get_secret_value()), role)
            for keys, role in ((operators, Role.OPERATOR), (analysts, Role.ANALYST))
            for k in keys
            if k.get_secret_value()
        ]
        # analysts alone do not open the API: with no operator key it stays as the API is
        self.open = not any(role == Role.OPERATOR for _, role in self._known)

    def _mac(self, value: str) -> bytes:
        return hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).digest()

    def _match(self, mac: bytes) -> Role | None:
        found: Role | None = None
        for known, role in self._known:
            # no short-circuit: every value is compared whatever happened before
            if hmac.compare_digest(mac, known) and found is None:
                found = role
        return found

    def role_of_key(self, key: str) -> Role | None:
        return self._match(self._mac(key))

    def cookie_for(self, key: str) -> str | None:
        """The cookie value for a good key (its HMAC), or None for a key we do not know."""
        mac = self._mac(key)
        return mac.hex() if self._match(mac) is not None else None

    def _role_of_cookie(self, value: str) -> Role | None:
        try:
            mac = bytes.fromhex(value)
        except ValueError:
            return None
        return self._match(mac) if len(mac) == hashlib.sha256().digest_size else None

    def bearer(self, request: Request) -> str | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return key.strip() if scheme.lower() == "bearer" and key.strip() else None

    def role(self, request: Request) -> Role | None:
        """The caller's role, or None: no key, or one that is not ours."""
        if self.open:
            return Role.OPERATOR
        key = self.bearer(request)
        if key is not None:
            return self.role_of_key(key)
        cookie = request.cookies.get(COOKIE)
        return self._role_of_cookie(cookie) if cookie else None

    def csrf_token(self, request: Request) -> str:
        """The token a POST form of this session carries: tied to its cookie."""
        basis = request.cookies.get(COOKIE) or "open"
        return hmac.new(self._secret, b"csrf:" + basis.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request, token: str) -> bool:
        if self.bearer(request) is not None:
            return True
        return hmac.compare_digest(self.csrf_token(request).encode(), token.encode())
