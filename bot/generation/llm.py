"""The llm generator: an OpenAI-compatible chat model writes, the grounding gate decides what is kept.

The model sees the numbered passages (prompts ``llm_system`` and ``llm_user``) and streams
its answer; each sentence goes through the gate as soon as it is complete, and kept
sentences are released to the caller one by one once the answer has qualified (see
``gate.GatedAnswer``). A slow, failing or off-source model never produces an error page:
the answer falls back to the extractive composer, and the trace says why.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Callable, Sequence

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from ..compose import Draft
from ..evaluation.groundedness import Calibration, SupportMeasurer
from ..prompts import PromptLibrary
from ..schema import RetrievedChunk
from .base import ExtractiveGenerator, Release
from .chat import redact
from .gate import CalibrationSource, EmbedFn, GatedAnswer, GroundingGate, SentenceSplitter
from .passages import Passage, number_passages

log = logging.getLogger(__name__)

SYSTEM_PROMPT = "llm_system"
USER_PROMPT = "llm_user"
RAW_TRACE_CHARS = 4000  # how much of the model's raw output staff see in the trace
# HTTP statuses that another attempt will not fix (bad request, key, permission, unknown model).
_FINAL_STATUSES = {400, 401, 403, 404, 422}


class LLMGenerator:
    """Generated answers behind the claim-level grounding gate, with the extractive composer as fallback."""

    streams = True
    name = "llm"

    def __init__(
        self,
        chat_model,
        *,
        fallback: ExtractiveGenerator,
        prompts: PromptLibrary,
        embed: EmbedFn,
        calibration: CalibrationSource | Calibration,
        timeout_s: float = 20.0,
        max_retries: int = 1,
        min_kept_ratio: float = 0.5,
        max_sentences: int = 6,
        model_name: str = "",
        endpoint: str = "",
        secrets: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.chat_model = chat_model
        self.fallback = fallback
        self.prompts = prompts
        self.embed = embed
        self.calibration = calibration
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.min_kept_ratio = min_kept_ratio
        self.max_sentences = max_sentences
        self.model_name = model_name
        self.endpoint = endpoint
        self._secrets = tuple(secrets)
        self._clock = clock
        self._sleep = sleep
        self.messages("What is kratom?", [])  # a missing or broken prompt template fails at start-up

    def __repr__(self) -> str:  # never shows the key
        return f"LLMGenerator(model={self.model_name!r}, endpoint={self.endpoint!r})"

    # -- prompts ------------------------------------------------------------------------

    def messages(self, question: str, passages: Sequence[Passage]) -> list[BaseMessage]:
        """The system and user messages for a question and its numbered passages."""
        variables = {"max_sentences": self.max_sentences}
        system = self.prompts.render(SYSTEM_PROMPT, "en", **variables)
        user = self.prompts.render(
            USER_PROMPT, "en", question=question, passages=[p.prompt_dict() for p in passages], **variables
        )
        return [SystemMessage(content=system), HumanMessage(content=user)]

    def warm_up(self) -> None:
        """Load the gate's calibration now (a bad calibration setting fails at start-up, not on a visitor)."""
        self._rule()

    def _rule(self) -> Calibration:
        return self.calibration.get() if isinstance(self.calibration, CalibrationSource) else self.calibration

    # -- generation ---------------------------------------------------------------------

    def generate(
        self,
        build,
        query_vec,
        query_text: str,
        retrieved: list[RetrievedChunk],
        trace: dict,
        *,
        release: Release | None = None,
    ) -> Draft:
        """The gated generated answer, or the extractive one when the model fails or strays."""
        started = self._clock()
        info: dict = {"generator": "llm", "model": self.model_name, "endpoint": self.endpoint}
        trace["generation"] = info
        if not retrieved:
            info.update(outcome="skipped", note="nothing relevant was retrieved, so the model was not asked")
            return self.fallback.generate(build, query_vec, query_text, retrieved, trace)

        passages = number_passages(retrieved)
        messages = self.messages(query_text, passages)
        rule = self._rule()
        measurer = SupportMeasurer(self.embed)  # per request: its embedding cache dies with the reply
        deadline = started + self.timeout_s
        errors: list[str] = []
        attempts = 0
        spent = {"gate_ms": 0.0}  # time inside the gate, summed over attempts
        while True:
            attempts += 1
            answer = GatedAnswer(
                GroundingGate(passages, rule, measurer),
                min_kept_ratio=self.min_kept_ratio, max_sentences=self.max_sentences,
            )
            splitter = SentenceSplitter()
            status, error = self._read(messages, answer, splitter, deadline, release, info, started, spent)
            if error is not None:
                errors.append(error)
            if status in ("done", "stopped") or answer.committed:
                break
            if status == "final" or attempts > self.max_retries or self._clock() >= deadline:
                break
            self._sleep(min(0.25 * attempts, max(0.0, deadline - self._clock())))

        info.update(
            attempts=attempts,
            errors=errors,
            timed_out=status == "timeout",
            judged=answer.judged,
            kept=len(answer.kept),
            dropped=len(answer.dropped),
            kept_ratio=round(answer.ratio, 4),
            min_kept_ratio=self.min_kept_ratio,
            stopped=answer.stopped,
            drop_reasons=dict(Counter(v.reason for v in answer.dropped)),
            sentences=[v.to_trace() for v in answer.verdicts if v.counted],
            raw_output=redact(splitter.text[:RAW_TRACE_CHARS], self._secrets),
            gate_ms=round(spent["gate_ms"], 3),
            llm_ms=round((self._clock() - started) * 1000, 3),
        )
        if answer.committed:
            info["outcome"] = "llm"
            info["note"] = self._kept_note(answer, status)
            if status in ("timeout", "error", "final"):
                log.warning("llm generator: %s", info["note"])
            return answer.draft()
        info["outcome"] = "fallback"
        info["note"] = self._fallback_note(answer, status, errors)
        log.warning("llm generator: %s; answering extractively", info["note"])
        return self.fallback.generate(build, query_vec, query_text, retrieved, trace)

    def _read(self, messages, answer: GatedAnswer, splitter: SentenceSplitter, deadline: float,
              release: Release | None, info: dict, started: float, spent: dict) -> tuple[str, str | None]:
        """Stream one attempt through the gate: ("done" | "stopped" | "timeout" | "error" | "final", error text)."""
        remaining = deadline - self._clock()
        if remaining <= 0:
            return "timeout", f"no time left for attempt (llm_timeout_s={self.timeout_s:g})"
        iterator = None
        try:
            try:
                iterator = iter(self.chat_model.stream(messages, timeout=remaining))
            except Exception as exc:  # any client failure degrades, never surfaces
                return self._failure(exc)
            while True:
                try:
                    chunk = next(iterator)
                except StopIteration:
                    break
                except Exception as exc:
                    return self._failure(exc)
                text = _content(chunk)
                if text and "first_token_ms" not in info:
                    info["first_token_ms"] = round((self._clock() - started) * 1000, 3)
                if self._feed(splitter.feed(text), answer, release, info, started, spent):
                    return "stopped", None
                if self._clock() > deadline:
                    return "timeout", f"timed out after {self.timeout_s:g}s (llm_timeout_s)"
            if self._feed(splitter.finish(), answer, release, info, started, spent):
                return "stopped", None
            return "done", None
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()  # stops the HTTP stream, so the server stops generating
                except Exception:  # closing a broken stream must not mask the real outcome
                    pass

    def _feed(self, sentences: list[str], answer: GatedAnswer, release, info: dict, started: float, spent: dict) -> bool:
        """Judge complete sentences; release text that may be shown; True when the gate says stop."""
        for sentence in sentences:
            t = self._clock()
            grew = answer.add(sentence)
            spent["gate_ms"] += (self._clock() - t) * 1000
            if grew and release is not None:
                info.setdefault("first_release_ms", round((self._clock() - started) * 1000, 3))
                release(answer.text())
            if answer.stopped:
                return True
        return False

    def _failure(self, exc: Exception) -> tuple[str, str]:
        message = redact(f"{type(exc).__name__}: {exc}", self._secrets)[:500]
        if _is_timeout(exc):
            return "timeout", message
        status = getattr(exc, "status_code", None)
        return ("final" if status in _FINAL_STATUSES else "error"), message

    def _kept_note(self, answer: GatedAnswer, status: str) -> str:
        kept = f"{len(answer.kept)} of {answer.judged} generated sentence(s) passed the gate"
        if answer.stopped == "drift":
            return f"{kept}; stopped reading when the kept share fell below {self.min_kept_ratio:g}"
        if answer.stopped == "max_sentences":
            return f"{kept}; stopped at llm_max_sentences={self.max_sentences}"
        if status in ("timeout", "error", "final"):
            return f"{kept}; the endpoint failed after they were shown ({status}), so the answer ends there"
        return kept

    def _fallback_note(self, answer: GatedAnswer, status: str, errors: list[str]) -> str:
        if status == "timeout":
            return f"the model timed out ({errors[-1] if errors else 'llm_timeout_s'})"
        if status in ("error", "final"):
            return f"the model endpoint failed: {errors[-1] if errors else status}"
        if not answer.judged:
            return "the model returned no sentences"
        if answer.stopped == "cannot_qualify":
            return (
                f"{len(answer.kept)} of the first {answer.judged} generated sentence(s) passed the gate, too few to reach "
                f"llm_min_kept_ratio={self.min_kept_ratio:g} within llm_max_sentences={self.max_sentences}; stopped reading"
            )
        return (
            f"only {len(answer.kept)} of {answer.judged} generated sentence(s) passed the gate "
            f"(below llm_min_kept_ratio={self.min_kept_ratio:g})"
        )


def _content(chunk) -> str:
    """Text of a streamed message chunk (a string, or a list of content blocks)."""
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content if isinstance(b, (str, dict)))
    return ""


def _is_timeout(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 5:  # the timeout may be wrapped by the client library
        if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
