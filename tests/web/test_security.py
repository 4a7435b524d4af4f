"""The staff token check, the /staff gate, and the per-session rate limiter."""

from __future__ import annotations

import asyncio
import hmac

import pytest

from bot.web.security import STAFF_COOKIE, RateLimiter, StaffAuth, StaffGate


def test_token_check_accepts_only_the_token():
    auth = StaffAuth("s3cret-token")
    assert auth.enabled
    assert auth.check_token("s3cret-token") and auth.check_token("  s3cret-token  ")
    for wrong in ("", "s3cret", "s3cret-token-x", "S3CRET-TOKEN", None, 123):
        assert not auth.check_token(wrong)


def test_token_comparison_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    auth = StaffAuth("s3cret-token")
    assert auth.check_token("s3cret-token") and not auth.check_token("nope")
    assert auth.check_cookie(auth.cookie_value()) and not auth.check_cookie("0" * 64)
    assert len(calls) == 4
    # Digests of equal length: the timing reveals neither the token nor its length.
    assert all(len(a) == len(b) for a, b in calls)


def test_console_is_off_without_a_token():
    for token in (None, "", "   "):
        auth = StaffAuth(token)
        assert not auth.enabled
        assert not auth.check_token("") and not auth.check_token(token or "x")
        assert not auth.check_headers({"authorization": "Bearer ", "cookie": f"{STAFF_COOKIE}="})
        with pytest.raises(RuntimeError):
            auth.cookie_value()


def test_cookie_is_an_hmac_not_the_token():
    auth = StaffAuth("s3cret-token")
    value = auth.cookie_value()
    assert "s3cret" not in value and len(value) == 64
    assert StaffAuth("another").cookie_value() != value  # rotating the token logs everyone out
    assert auth.check_headers({"cookie": f"theme=dark; {STAFF_COOKIE}={value}"})
    assert auth.check_headers({"authorization": "Bearer s3cret-token"})
    assert not auth.check_headers({"authorization": "Bearer wrong"})
    assert not auth.check_headers({"cookie": f"{STAFF_COOKIE}=s3cret-token"})
    assert not auth.check_headers({"cookie": "garbage;;=;"})


def _call(gate: StaffGate, path: str, headers: dict | None = None, method: str = "GET"):
    sent = []
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    gate.app = app

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "path": path, "method": method,
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(gate(scope, receive, send))
    status = sent[0]["status"]
    location = dict(sent[0]["headers"]).get(b"location", b"").decode()
    return status, bool(reached), location


def test_gate_blocks_everything_under_staff_without_credentials():
    auth = StaffAuth("tok")
    gate = StaffGate(None, auth)
    for path in ("/staff", "/staff/", "/staff/gradio_api/queue/join", "/staff/gradio_api/upload", "/staff/config",
                 "/staff/assets/index.js", "/staff/gradio_api/file=/etc/passwd"):
        status, reached, _ = _call(gate, path, method="POST" if "queue" in path or "upload" in path else "GET")
        assert (status, reached) == (401, False), path
    status, reached, location = _call(gate, "/staff/", {"accept": "text/html"})
    assert (status, reached, location) == (303, False, "/staff/login")


def test_gate_lets_credentials_and_public_paths_through():
    auth = StaffAuth("tok")
    gate = StaffGate(None, auth)
    assert _call(gate, "/staff/gradio_api/queue/join", {"cookie": f"{STAFF_COOKIE}={auth.cookie_value()}"}, "POST")[:2] == (200, True)
    assert _call(gate, "/staff/config", {"authorization": "Bearer tok"})[:2] == (200, True)
    for open_path in ("/staff/login", "/staff/logout", "/", "/healthz", "/gradio_api/queue/join", "/staffing"):
        assert _call(gate, open_path)[:2] == (200, True), open_path


def test_rate_limiter_sliding_window():
    now = [1000.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.check("a")
    assert 59.0 < wait <= 60.0
    assert limiter.check("b") == 0.0  # sessions are independent
    now[0] += 30
    assert limiter.check("a") > 0  # still inside the window
    now[0] += 31
    assert limiter.check("a") == 0.0  # the first hits have left the window


def test_rate_limiter_off_and_bounded():
    assert RateLimiter(0).check("x") == 0.0 and not RateLimiter(0).enabled
    now = [0.0]
    limiter = RateLimiter(1, max_keys=100, clock=lambda: now[0])
    for i in range(1000):
        now[0] += 0.001
        limiter.check(f"k{i}")
    assert len(limiter._hits) <= 100
