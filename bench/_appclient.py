"""A light asynchronous visitor for the running web app: the browser's own queue protocol over HTTP.

One ``Visitor`` is one browser session (its own ``session_hash``, so the server keeps its
conversation). ``ask`` does what the page does when the visitor presses Send: POST
``/gradio_api/queue/join`` for the ``chat`` event, then read ``/gradio_api/queue/data``
(server-sent events) until the run completes, applying Gradio's streaming diffs.
Many visitors share one ``httpx.AsyncClient``, so 64 of them cost the load generator
little CPU on the machine under test.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass

import httpx

API = "/gradio_api"


@dataclass(frozen=True)
class ChatEndpoint:
    """Where the visitor page's chat event lives (from the app's /config)."""

    fn_index: int
    trigger_id: int | None
    n_inputs: int


@dataclass(frozen=True)
class Turn:
    """One message and what came back."""

    ok: bool
    latency_ms: float
    first_text_ms: float | None  # first streamed answer text
    # "", "rate_limited", "app_error", "error_notice", "notice", "no_answer", "incomplete", "error_event",
    # "http_<code>" (503: the queue is full), "exception:<type>"
    error: str = ""
    answer_chars: int = 0


async def discover(http: httpx.AsyncClient, base_url: str, api_name: str = "chat") -> ChatEndpoint:
    """Find the chat event's function index and trigger in the app's config."""
    resp = await http.get(f"{base_url}/config")
    resp.raise_for_status()
    for dep in resp.json()["dependencies"]:
        if dep.get("api_name") == api_name:
            targets = dep.get("targets") or [[None]]
            return ChatEndpoint(int(dep["id"]), targets[0][0], len(dep.get("inputs") or [1]))
    raise RuntimeError(f"the app at {base_url} has no {api_name!r} event")


def _apply_diff(value, diff):
    from gradio_client.utils import apply_diff

    return apply_diff(value, diff)


# Warning notices the page shows instead of an answer (prompts/ui_rate_limited, ui_error, input limits).
_NOTICE_KINDS = (("faster than", "rate_limited"), ("rate limit", "rate_limited"), ("went wrong", "app_error"))


def classify(outputs: list, answers_before: int = 0) -> tuple[bool, str, int]:
    """Whether the final outputs show a new, complete answer; else which error the visitor saw.

    ``answers_before`` is how many answers the conversation held before this message:
    an answer counts only if there is now one more.
    """
    notice = outputs[4] if len(outputs) > 4 and isinstance(outputs[4], str) else ""
    if notice and "warn" in notice:
        text = re.sub(r"<[^>]+>", " ", notice).lower()
        for needle, kind in _NOTICE_KINDS:
            if needle in text:
                return False, kind, 0
        return False, "error_notice", 0
    message = _new_answer(outputs, answers_before)
    if message is None:
        return False, "notice" if notice else "no_answer", 0
    html, text = _message_text(message)
    if "kb-answer" not in html or "kb-streaming" in html or not text:
        return False, "no_answer", 0
    return True, "", len(text)


class Visitor:
    """One browser session talking to the app."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, endpoint: ChatEndpoint):
        self.http = http
        self.base_url = base_url
        self.endpoint = endpoint
        self.session_hash = uuid.uuid4().hex[:11]
        self.answers = 0  # answers received so far in this conversation

    async def ask(self, text: str) -> Turn:
        """Send one message and wait for the complete answer."""
        t0 = time.perf_counter()
        first_text = None
        try:
            data = [text] + [None] * (self.endpoint.n_inputs - 1)
            join = await self.http.post(
                f"{self.base_url}{API}/queue/join",
                json={"data": data, "event_data": None, "fn_index": self.endpoint.fn_index,
                      "trigger_id": self.endpoint.trigger_id, "session_hash": self.session_hash},
            )
            if join.status_code != 200:
                return Turn(False, (time.perf_counter() - t0) * 1000, None, f"http_{join.status_code}")
            event_id = join.json()["event_id"]
            outputs: list | None = None
            final = None
            async with self.http.stream("GET", f"{self.base_url}{API}/queue/data", params={"session_hash": self.session_hash}) as resp:
                if resp.status_code != 200:
                    return Turn(False, (time.perf_counter() - t0) * 1000, None, f"http_{resp.status_code}")
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    msg = json.loads(line[5:])
                    kind = msg.get("msg")
                    if msg.get("event_id") not in (None, event_id):
                        continue
                    if kind == "process_generating":
                        data = (msg.get("output") or {}).get("data") or []
                        outputs = data if outputs is None else [_apply_diff(o, d) for o, d in zip(outputs, data)]
                        if first_text is None and _has_answer_text(outputs, self.answers):
                            first_text = (time.perf_counter() - t0) * 1000
                    elif kind == "process_completed":
                        if not msg.get("success", False):
                            return Turn(False, (time.perf_counter() - t0) * 1000, first_text, "error_event")
                        final = (msg.get("output") or {}).get("data") or outputs or []
                        break
                    elif kind in ("close_stream", "unexpected_error"):
                        if kind == "unexpected_error":
                            return Turn(False, (time.perf_counter() - t0) * 1000, first_text, "unexpected_error")
                        break
            latency = (time.perf_counter() - t0) * 1000
            if final is None:
                return Turn(False, latency, first_text, "incomplete")
            ok, error, chars = classify(final, self.answers)
            self.answers += ok
            return Turn(ok, latency, first_text if ok else None, error, chars)
        except httpx.HTTPError as exc:
            return Turn(False, (time.perf_counter() - t0) * 1000, first_text, f"exception:{type(exc).__name__}")


def _message_text(message) -> tuple[str, str]:
    """A chat message's HTML and its visible text (content is a string or a list of text parts)."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        html = "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    else:
        html = str(content or "")
    return html, " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _new_answer(outputs: list, answers_before: int):
    """The new answer message, or None when the conversation does not hold one more answer yet."""
    chat = outputs[0] if outputs else None
    value = chat.get("value") if isinstance(chat, dict) else chat
    if not value or not isinstance(value, list):
        return None
    if sum(1 for m in value if isinstance(m, dict) and m.get("role") == "assistant") != answers_before + 1:
        return None
    last = value[-1]
    return last if isinstance(last, dict) and last.get("role") == "assistant" else None


def _has_answer_text(outputs: list, answers_before: int) -> bool:
    """Whether a streamed update already shows text of the new answer (not the "…" placeholder)."""
    message = _new_answer(outputs, answers_before)
    return message is not None and _message_text(message)[1] not in ("", "…")
