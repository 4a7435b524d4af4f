"""Fixtures for the generator tests: a policy guard, scripted-model bots and a fake OpenAI-compatible server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.generation.fake import ScriptedChatModel
from bot.schema import GuardDecision
from bot.wiring import load_chatbot

# What the scripted model may be asked about: the fixture corpus (liver injury, US federal status, what kratom is).
LIVER_Q = "What are warning signs of liver injury from kratom?"


class PolicyGuard:
    """A test-only input guard that decides by keywords, so one bot can show every action."""

    RULES = (
        ("not breathing", "emergency", "escalate", {}),
        ("end my life", "emergency", "escalate", {"suicidal": 1.0}),
        ("grams", "dosing_request", "refuse", {}),
        ("quit", "withdrawal_help", "support", {}),
        ("ignore your rules", "injection", "ignore_injection", {"has_question": 1.0}),
        ("tylenol", "off_topic", "redirect", {}),
        ("i have liver disease", "medical_decision", "answer_with_clinician", {}),
    )

    def __init__(self, language: str = "en"):
        self.language = language

    def decide(self, messages, embed, query_text):
        text = messages[-1].content.lower()
        for needle, label, action, scores in self.RULES:
            if needle in text:
                return GuardDecision(label=label, action=action, score=0.9, reason=f"keyword {needle!r}", layer="test",
                                     scores=scores, language=self.language)
        return GuardDecision(label="benign", action="answer", score=0.1, reason="no keyword", layer="test",
                             language=self.language)


_CALIBRATIONS: dict = {}


@pytest.fixture(autouse=True)
def _calibrate_once(monkeypatch):
    """Calibrating the gate for the fake embedder is deterministic: do it once per session, not per bot."""
    from bot.generation import gate

    real = gate.calibrate

    def cached(pairs, measurer, *, labels_sha256="", embedder="", **kwargs):
        key = (labels_sha256, embedder)
        if key not in _CALIBRATIONS or not labels_sha256:
            _CALIBRATIONS[key] = real(pairs, measurer, labels_sha256=labels_sha256, embedder=embedder, **kwargs)
        return _CALIBRATIONS[key]

    monkeypatch.setattr(gate, "calibrate", cached)


@pytest.fixture
def llm_settings(fake_settings):
    """Fake-embedder settings with the llm generator switched on."""
    return fake_settings.model_copy(update={"generator": "llm", "llm_timeout_s": 5.0, "llm_max_retries": 1})


@pytest.fixture
def make_bot(llm_settings):
    """Build a chatbot whose llm generator is a ScriptedChatModel; returns (bot, model)."""

    def build(script="", *, guard=None, settings=None, **model_options):
        model = ScriptedChatModel(script=script, **model_options)
        bot = load_chatbot(settings or llm_settings, guard=guard or PolicyGuard(), chat_model=model)
        return bot, model

    return build


class FakeOpenAIServer:
    """A tiny OpenAI-compatible chat server on loopback: streams scripted text, fails or hangs on demand."""

    def __init__(self):
        self.requests: list[dict] = []  # {"path", "headers", "body"}
        self.text = "Hello [1]."
        self.script = None  # optional function (system, user) -> text, instead of ``text``
        self.status = 200  # non-200: answer with this status and an error body
        self.error_body = '{"error": {"message": "server error"}}'
        self.hang_s = 0.0  # sleep this long before answering
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                body = json.dumps({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}).encode()
                self._send(200, body, "application/json")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                if server.hang_s:
                    time.sleep(server.hang_s)
                if server.status != 200:
                    self._send(server.status, server.error_body.encode(), "application/json")
                    return
                text = server.text
                if server.script is not None:
                    messages = body.get("messages", [])
                    text = server.script(
                        "\n".join(m["content"] for m in messages if m["role"] == "system"),
                        "\n".join(m["content"] for m in messages if m["role"] == "user"),
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    pieces = [text[i : i + 6] for i in range(0, len(text), 6)]
                    for i, piece in enumerate([""] + pieces):
                        delta = {"role": "assistant", "content": ""} if i == 0 else {"content": piece}
                        self._event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                    self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading early (the gate asked it to)

            def _event(self, data: dict):
                data = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "fake-model", **data}
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

            def _send(self, status: int, body: bytes, kind: str):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]


@pytest.fixture
def openai_server():
    """A running FakeOpenAIServer."""
    with FakeOpenAIServer() as server:
        yield server
