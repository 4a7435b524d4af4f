"""Fixtures for the web app: a scripted guard, a fake-embedder bot, and an in-process server."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from bot.schema import GuardDecision

STAFF_TOKEN = "correct horse battery staple"


class KeywordGuard:
    """A test-only guard: decides by keywords, so one app can show every reply style."""

    def decide(self, messages, embed, query_text):
        text = messages[-1].content.lower()
        if "not breathing" in text or "overdose" in text:
            return GuardDecision(label="emergency", action="escalate", score=0.99, reason="keyword: emergency", layer="test",
                                 scores={"emergency": 0.99})
        if "grams" in text or "dose" in text:
            return GuardDecision(label="dosing_request", action="refuse", score=0.95, reason="keyword: dosing", layer="test",
                                 scores={"dosing_request": 0.95})
        return GuardDecision(label="benign", action="answer", score=0.05, reason="no keyword", layer="test",
                             scores={"benign": 0.95})


@pytest.fixture
def web_settings(fake_settings, tmp_path):
    """Fake-embedder settings with a staff token and the feedback database in tmp_path."""
    return fake_settings.model_copy(update={
        "staff_token": STAFF_TOKEN,
        "feedback_db": f"sqlite:///{tmp_path / 'state' / 'feedback.sqlite3'}",
        "rate_limit_per_minute": 30,
    })


@pytest.fixture
def store(web_settings):
    """The feedback store (SQLite in tmp_path) that the web settings point at."""
    from bot.feedback import FeedbackStore

    s = FeedbackStore(web_settings.feedback_url)
    yield s
    s.close()


@pytest.fixture
def fake_bot(web_settings):
    from bot.wiring import load_chatbot

    return load_chatbot(web_settings, guard=KeywordGuard())


class ServerThread:
    """Uvicorn serving an ASGI app in a thread, on a socket already bound to a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


@pytest.fixture
def serve_app():
    """Start an ASGI app on a free loopback port for the duration of a test."""
    servers: list[ServerThread] = []

    def start(app) -> ServerThread:
        server = ServerThread(app).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
