"""Bearer API keys, compared in constant time.

Each presented key is hashed and compared with ``hmac.compare_digest`` against the hash of
EVERY configured key, with no early exit: the time taken does not depend on which key (if
any) matched or on how many leading bytes agreed. Hashing first gives equal-length inputs,
so the key's length does not leak either. Keys are never logged.

The dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
and a Cloudflare Python Worker (Pyodide) cannot start one, so a sync check would answer
every authenticated request with a 500 there.

No ``Authorization`` header → 401 with ``WWW-Authenticate: Bearer`` (the client should
authenticate); a key that is not one of ours → 403 (authenticated, not allowed). An analyst
key (``TUBEQ_ANALYST_KEYS``) reads: on any method but GET and HEAD (enqueue, redrive) → 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence

from fastapi import HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API key from TUBEQ_API_KEYS: `Authorization: Bearer <key>`.",
)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


class KeyChecker:
    def __init__(self, keys: Sequence[SecretStr]) -> None:
        self._digests = [_digest(k.get_secret_value()) for k in keys if k.get_secret_value()]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def matches(self, presented: str) -> bool:
        candidate = _digest(presented)
        found = False
        for known in self._digests:
            # no short-circuit: every key is compared whatever happened before
            found |= hmac.compare_digest(candidate, known)
        return found


#: what an analyst (read-only) key may do
READ_METHODS = frozenset({"GET", "HEAD"})


def require_key(
    checker: KeyChecker, analysts: KeyChecker | None = None
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[None]]:
    """A FastAPI dependency enforcing ``checker`` (a no-op when auth is switched off);
    a key of ``analysts`` passes for reads only."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),  # noqa: B008
    ) -> None:
        if not checker.enabled:
            return  # `tubeq serve --insecure-no-auth`, bound to 127.0.0.1 only
        if credentials is None or not credentials.credentials:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing API key: send `Authorization: Bearer <key>` (a TUBEQ_API_KEYS key)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if analysts is not None and analysts.matches(credentials.credentials):
            if request.method in READ_METHODS:
                return
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail="this is a read-only analyst key (TUBEQ_ANALYST_KEYS): enqueueing and "
                "redriving need an operator key from TUBEQ_API_KEYS",
            )
        if not checker.matches(credentials.credentials):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail="this API key is not accepted here: check it against TUBEQ_API_KEYS",
            )

    return dependency
