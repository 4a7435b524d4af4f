"""Access control for the web app: the staff token, its session cookie, and rate limits.

The staff console is mounted under ``/staff`` only when a token is configured. Every
request under that prefix (page, assets, API, queue, uploads) passes ``StaffGate``,
which accepts either the signed cookie set by the login form or an
``Authorization: Bearer <token>`` header. Token and cookie are compared in constant time
(``hmac.compare_digest``). The cookie is an HMAC of the token, so it works across
several app replicas with no shared session store, and rotating the token logs
everybody out.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from http.cookies import SimpleCookie
from typing import Callable

STAFF_PREFIX = "/staff"
STAFF_COOKIE = "kratombot_staff"
_COOKIE_CONTEXT = b"kratombot staff console v1"


class StaffAuth:
    """Checks the staff token; disabled (everything refused) when no token is set."""

    def __init__(self, token: str | None):
        token = (token or "").strip()
        self._token = token.encode("utf-8") if token else None

    @property
    def enabled(self) -> bool:
        """Whether a staff token is configured (the console is off otherwise)."""
        return self._token is not None

    def check_token(self, candidate: str | None) -> bool:
        """Constant-time comparison of a presented token with the configured one."""
        if self._token is None or not isinstance(candidate, str):
            return False
        # Hash both sides first so that compare_digest sees equal lengths and the
        # configured token's length is not revealed by timing either.
        given = hashlib.sha256(candidate.strip().encode("utf-8", "replace")).digest()
        want = hashlib.sha256(self._token).digest()
        return hmac.compare_digest(given, want)

    def cookie_value(self) -> str:
        """The value of the staff session cookie (an HMAC of the token, never the token)."""
        if self._token is None:
            raise RuntimeError("the staff console is off")
        return hmac.new(self._token, _COOKIE_CONTEXT, hashlib.sha256).hexdigest()

    def check_cookie(self, value: str | None) -> bool:
        """Constant-time check of a staff session cookie."""
        if self._token is None or not isinstance(value, str):
            return False
        return hmac.compare_digest(value.encode("ascii", "replace"), self.cookie_value().encode("ascii"))

    def check_headers(self, headers: dict[str, str]) -> bool:
        """Whether a request's headers (lower-case names) carry a valid cookie or bearer token."""
        if self._token is None:
            return False
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and self.check_token(auth[7:]):
            return True
        cookie_header = headers.get("cookie", "")
        if cookie_header:
            jar = SimpleCookie()
            try:
                jar.load(cookie_header)
            except Exception:
                return False
            morsel = jar.get(STAFF_COOKIE)
            if morsel is not None and self.check_cookie(morsel.value):
                return True
        return False


class StaffGate:
    """ASGI middleware: nothing under /staff is served without a valid staff cookie or token.

    The login and logout pages themselves are open. Page requests without credentials
    are redirected to the login form; API requests get 401 (404 when the console is off).
    """

    def __init__(self, app, auth: StaffAuth):
        self.app = app
        self.auth = auth

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if not (path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")):
            return await self.app(scope, receive, send)
        if path in (f"{STAFF_PREFIX}/login", f"{STAFF_PREFIX}/logout"):
            return await self.app(scope, receive, send)
        if not self.auth.enabled:
            return await self.app(scope, receive, send)  # the "console is off" route answers
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.auth.check_headers(headers):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401})
            return
        wants_page = scope.get("method") == "GET" and "text/html" in headers.get("accept", "")
        if wants_page:
            await _respond(send, 303, b"", [(b"location", f"{STAFF_PREFIX}/login".encode())])
        else:
            await _respond(send, 401, b'{"detail":"staff token required"}', [(b"content-type", b"application/json")])


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"), *headers],
    })
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A sliding one-minute window per key (a browser session); thread-safe, bounded memory."""

    def __init__(self, per_minute: int, *, window_s: float = 60.0, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """A limit of 0 turns rate limiting off."""
        return self.per_minute > 0

    def check(self, key: str) -> float:
        """Record an attempt; return 0 when allowed, else the seconds to wait before the next one."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._forget_idle(now)
                hits = self._hits[key] = deque()
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.1, self.window_s - (now - hits[0]))
            hits.append(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window_s]
        for k in idle:
            del self._hits[k]
        if len(self._hits) >= self.max_keys:  # all active: drop the oldest half
            for k in sorted(self._hits, key=lambda k: self._hits[k][-1])[: self.max_keys // 2]:
                del self._hits[k]
