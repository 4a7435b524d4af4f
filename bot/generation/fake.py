"""A deterministic scripted chat model, the fake that lives beside the real one (for tests and demos).

``ScriptedChatModel`` is a real langchain chat model, so the generator drives it through
exactly the code path it uses for ``ChatOpenAI``: messages in, a stream of chunks out.
Its script is a fixed text or a function of the prompt; it can stream slowly, fail a
number of times first, or stall, to exercise time-outs and retries.

``passages_of(prompt)`` reads the numbered passages back out of a rendered user prompt,
so a script can quote them faithfully (a well-behaved model) or twist them (an adversary).
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable, Iterator

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

Script = Callable[[str, str], str]  # (system prompt, user prompt) -> the answer text

_PASSAGE = re.compile(r"^\[(\d{1,3})\] (.*?)(?=\n\n\[\d{1,3}\] |\n\nQuestion:|\Z)", re.M | re.S)


class ScriptedFailure(ConnectionError):
    """What the scripted model raises when told to fail (a connection error, like a dead endpoint)."""


def passages_of(user_prompt: str) -> dict[int, str]:
    """The numbered passage texts in a rendered ``llm_user`` prompt."""
    return {int(m.group(1)): " ".join(m.group(2).split()) for m in _PASSAGE.finditer(user_prompt)}


class ScriptedChatModel(BaseChatModel):
    """Answers every prompt with its script, streamed in small chunks."""

    script: Any = ""  # str, or a function (system, user) -> str
    chunk_chars: int = 5
    delay_s: float = 0.0  # sleep before each chunk (a slow model)
    fail_first: int = 0  # the first N calls raise ScriptedFailure before any text
    fail_after_chars: int | None = None  # raise ScriptedFailure after streaming this many characters
    status_code: int | None = None  # set on the raised failure (e.g. 401 for a bad key)
    hold_after_chars: int | None = None  # stop streaming after this many characters until ``resume`` is set
    resume: Any = None  # a threading.Event (waited for at most 30 s)

    _calls: list = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _holding: bool = PrivateAttr(default=False)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(system, user) prompts received, in order."""
        return list(self._calls)

    @property
    def holding(self) -> bool:
        """True while the stream is stalled at ``hold_after_chars``, waiting for ``resume``."""
        return self._holding

    def _answer(self, messages: list[BaseMessage]) -> str:
        system = "\n".join(str(m.content) for m in messages if m.type == "system")
        user = "\n".join(str(m.content) for m in messages if m.type == "human")
        with self._lock:
            self._calls.append((system, user))
            number = len(self._calls)
        if number <= self.fail_first:
            raise self._failure(f"scripted failure {number} of {self.fail_first}")
        return self.script(system, user) if callable(self.script) else str(self.script)

    def _failure(self, message: str) -> ScriptedFailure:
        exc = ScriptedFailure(message)
        if self.status_code is not None:
            exc.status_code = self.status_code
        return exc

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.message.content for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        text = self._answer(messages)
        sent = 0
        for start in range(0, len(text), max(1, self.chunk_chars)):
            if self.fail_after_chars is not None and sent >= self.fail_after_chars:
                raise self._failure(f"scripted failure after {sent} characters")
            if self.hold_after_chars is not None and sent >= self.hold_after_chars and self.resume is not None:
                self._holding = True
                self.resume.wait(30)
                self._holding = False
            if self.delay_s:
                time.sleep(self.delay_s)
            piece = text[start : start + self.chunk_chars]
            sent += len(piece)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def quoting_script(picks: list[tuple[int, int]], marker_style: str = "before_stop") -> Script:
    """A faithful model: quote sentence ``i`` of passage ``n`` for each (n, i), citing [n].

    ``marker_style``: "before_stop" writes "text [n]." and "after_stop" writes "text. [n]".
    """

    def script(system: str, user: str) -> str:
        from ..text import split_sentences

        passages = passages_of(user)
        out = []
        for n, i in picks:
            sentences = split_sentences(passages[n].split(" … ")[0])
            sentence = sentences[i].rstrip(".")
            out.append(f"{sentence} [{n}]." if marker_style == "before_stop" else f"{sentence}. [{n}]")
        return " ".join(out)

    return script
