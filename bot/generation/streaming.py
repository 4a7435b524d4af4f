"""Live streaming for generators that release checked sentences while they work.

``stream_live`` runs one answer in a worker thread and yields each growing text the
generator releases (every released sentence has already passed the grounding gate and
the output guard's dose and claim checks), then the final text and the Reply. Every
yielded text is a prefix of the next one, so nothing shown is ever retracted.
"""

from __future__ import annotations

import queue
import re
import threading
from typing import Callable, Iterator

from ..schema import Reply

Answer = Callable[..., Reply]  # answer(messages, on_text=callback) -> Reply

_SPLIT = re.compile(r"(?<=[.!?\]])\s+")


def progressive(text: str) -> Iterator[str]:
    """The growing text of a finished answer, sentence by sentence (as ``Chatbot.stream`` shows extractive answers)."""
    current = ""
    for part in _SPLIT.split(text):
        current = f"{current} {part}".strip() if current and not current.endswith("\n") else current + part
        yield current


def stream_live(answer: Answer, messages) -> Iterator[str | Reply]:
    """Yield released texts as they come, then the final text, then the Reply."""
    events: queue.Queue = queue.Queue()

    def run() -> None:
        try:
            events.put(("reply", answer(messages, on_text=lambda text: events.put(("text", text)))))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            events.put(("error", exc))

    threading.Thread(target=run, name="kratombot-answer", daemon=True).start()
    shown = ""
    while True:
        kind, value = events.get()
        if kind == "text":
            if value != shown and value.startswith(shown):
                shown = value
                yield value
        elif kind == "error":
            raise value
        else:
            reply: Reply = value
            break
    if not shown:
        for text in progressive(reply.text):  # nothing was released (fallback or template): as before
            shown = text
            yield text
    if reply.text != shown:
        yield reply.text  # e.g. the clinician referral after the answer
    yield reply
