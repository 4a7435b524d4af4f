"""The chatbot pipeline: validate → guard → retrieve → compose → output guard → warnings.

``Chatbot`` is built by ``wiring.load_chatbot`` from settings; nothing here reads the
environment or loads a model at import time.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .compose import Draft, ExtractiveComposer, FaqAnswerer, assemble
from .embedding import Embedder
from .glossary import expand
from .generation.base import GENERATOR_ACTIONS
from .errors import InputError, SearchIndexError, StoreUnavailable
from .guard.base import InputGuard
from .guard.output import OutputGuard
from .guard.warnings import WarningSelector
from .prompts import PromptLibrary
from .retrieval import Retriever, build_query
from .schema import GuardDecision, Message, Reply, RetrievedChunk, RetrievedRef
from .store import ActiveIndex, Build

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible format characters are deleted, not turned into spaces: "H\u200bow many grams" must read "How many grams".
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

# Retrieval queries used when the guard has decided, so that even refusals and
# emergency replies carry a few cited, relevant facts.
GUARD_QUERIES = {
    "dosing_request": "Why no safe dose of kratom can be recommended: unregulated products with variable alkaloid content and drug interactions",
    "withdrawal_help": "Getting help for kratom dependence and withdrawal: clinicians, treatment options, SAMHSA helpline",
}


def clean_text(text: str) -> str:
    """Make user text safe to process: valid Unicode, no control or invisible characters, NFC."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace") if _has_surrogates(text) else text
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text.replace("\r\n", "\n")))
    return unicodedata.normalize("NFC", text).strip()


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def validate_messages(messages, max_turns: int = 40) -> list[Message]:
    """Check the conversation's shape; raise InputError with a clear message when it is wrong."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not isinstance(messages, (list, tuple)) or not messages:
        raise InputError("messages must be a non-empty list of {'role': 'user'|'assistant', 'content': str}")
    out: list[Message] = []
    for i, m in enumerate(messages, 1):
        if isinstance(m, Message):
            out.append(m)
            continue
        if not isinstance(m, dict):
            raise InputError(f"message {i} must be a mapping with 'role' and 'content', got {type(m).__name__}")
        role, content = m.get("role"), m.get("content")
        if role not in ("user", "assistant"):
            raise InputError(f"message {i} has role {role!r}; only 'user' and 'assistant' are accepted")
        if not isinstance(content, str):
            raise InputError(f"message {i} content must be text, got {type(content).__name__}")
        out.append(Message(role=role, content=content))
    if out[-1].role != "user":
        raise InputError(f"the last message must come from the user, got role {out[-1].role!r}")
    return out[-max_turns:]


@dataclass
class _Timer:
    timings: dict

    def __call__(self, name: str):
        timer = self

        class _Span:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                timer.timings[name] = round(timer.timings.get(name, 0.0) + (time.perf_counter() - self.t) * 1000, 3)

        return _Span()


class Chatbot:
    """Answers a conversation with a cited, guarded Reply."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        index: ActiveIndex,
        retriever: Retriever,
        composer: ExtractiveComposer,
        faq: FaqAnswerer,
        guard: InputGuard,
        output_guard: OutputGuard,
        warnings: WarningSelector,
        prompts: PromptLibrary,
        generator=None,
        max_input_chars: int = 2000,
        max_history_turns: int = 40,
        corpus_version: str = "",
    ):
        self.embedder = embedder
        self.index = index
        self.retriever = retriever
        self.composer = composer
        self.faq = faq
        self.guard = guard
        self.output_guard = output_guard
        self.warnings = warnings
        self.prompts = prompts
        self.generator = generator
        self.max_input_chars = max_input_chars
        self.max_history_turns = max_history_turns
        self.corpus_version = corpus_version

    # -- public API -------------------------------------------------------------------

    def reply(self, messages: Sequence[Message | dict] | str) -> Reply:
        """Answer the last user turn of a conversation (a list of role/content messages)."""
        return self._answer(messages)

    def _answer(self, messages: Sequence[Message | dict] | str, on_text=None) -> Reply:
        # on_text: called with the growing answer while a streaming generator releases checked sentences.
        started = time.perf_counter()
        timings: dict[str, float] = {}
        timer = _Timer(timings)
        msgs = validate_messages(messages, self.max_history_turns)
        last = clean_text(msgs[-1].content)
        if not last:
            return self._simple("input_empty", "en", started, timings, source="invalid_input")
        if len(last) > self.max_input_chars:
            return self._simple(
                "input_too_long", "en", started, timings, source="invalid_input",
                length=len(last), limit=self.max_input_chars,
            )
        msgs = msgs[:-1] + [Message(role="user", content=last)]
        query = build_query(msgs)

        vectors: dict[str, np.ndarray] = {}

        def embed(text: str) -> np.ndarray:
            if text not in vectors:
                with timer("embed"):
                    vectors[text] = self.embedder.embed([text])[0]
            return vectors[text]

        qvec = embed(query.text)
        with timer("guard"):
            decision = self.guard.decide(msgs, embed, query.text)
        trace: dict = {
            "query": {"text": query.text, "used_context": query.used_context},
            "guard": decision.model_dump(),
        }
        lang = decision.language
        if decision.action == "redirect":
            return self._finish(
                Draft(self.prompts.render("off_topic", lang), (), source="guard"), decision, [], started, timings, trace
            )
        try:
            build = self.index.current()
        except (StoreUnavailable, SearchIndexError) as exc:
            log.error("index unavailable: %s", exc)
            self.index.invalidate()
            return self._unavailable(decision, started, timings, trace)
        try:
            draft, retrieved = self._draft(build, decision, query.text, qvec, embed, timer, trace, on_text)
        except StoreUnavailable as exc:
            log.error("store unavailable mid-request: %s", exc)
            self.index.invalidate()
            return self._unavailable(decision, started, timings, trace)
        except Exception as exc:
            # A lost Chroma server surfaces as a client exception from deep inside chromadb.
            if _looks_like_connection_error(exc):
                log.error("store connection failed: %s", exc)
                self.index.invalidate()
                return self._unavailable(decision, started, timings, trace)
            raise
        return self._finish(draft, decision, retrieved, started, timings, trace)

    def stream(self, messages: Sequence[Message | dict] | str) -> Iterator[str | Reply]:
        """Yield the growing answer text sentence by sentence, then the final Reply.

        Text is released only after the whole reply has passed the output guard, so a
        streamed sentence is never retracted. With a streaming generator (llm), each
        sentence is released as soon as it has passed the grounding gate.
        """
        if getattr(self.generator, "streams", False):
            from .generation.streaming import stream_live

            yield from stream_live(self._answer, messages)
            return
        reply = self.reply(messages)
        shown = ""
        for part in re.split(r"(?<=[.!?\]])\s+", reply.text):
            shown = f"{shown} {part}".strip() if shown and not shown.endswith("\n") else shown + part
            yield shown
        yield reply

    # -- stages -----------------------------------------------------------------------

    def _draft(self, build: Build, decision: GuardDecision, query_text: str, qvec, embed, timer, trace, on_text=None):
        lang = decision.language
        action = decision.action
        retrieved: list[RetrievedChunk] = []
        if action == "refuse":
            with timer("retrieve"):
                gq = GUARD_QUERIES["dosing_request"]
                retrieved = self.retriever.retrieve(build, embed(gq), gq, k=3)
            with timer("compose"):
                facts = self.composer.compose(build, embed(gq), gq, retrieved)
            intro = self.prompts.render("refusal_dosing", lang)
            return _prefixed(intro, _limit(facts, 2), source="guard"), retrieved
        if action == "ignore_injection" and not decision.scores.get("has_question", 0):
            return Draft(self.prompts.render("injection", lang), (), source="guard"), retrieved

        search_text = query_text
        if lang != "en":
            # The corpus and the embedding model are English: add English key terms.
            search_text = f"{search_text} {expand(query_text)}".strip()
        if action == "support":
            search_text = f"{search_text} {GUARD_QUERIES['withdrawal_help']}"
        svec = qvec if search_text == query_text else embed(search_text)
        draft = None
        if action in ("answer", "answer_with_clinician", "ignore_injection"):
            with timer("faq"):
                match = self.faq.match(build, svec)
                trace["faq"] = (
                    {"faq_id": match.faq_id, "question": match.question, "similarity": round(match.similarity, 4)}
                    if match else None
                )
                if match and match.similarity >= self.faq.threshold:
                    draft = self.faq.answer(build, match, query_text)
                    if draft is not None:
                        retrieved = [
                            RetrievedChunk(
                                chunk_id=cid, doc_id=c.source_id, text=c.passage, heading_path=(),
                                score=round(match.similarity, 4), source=_source_of(c),
                            )
                            for c in draft.citations
                            for cid in c.chunk_ids
                        ]
        if draft is None:
            with timer("retrieve"):
                retrieved = self.retriever.retrieve(build, svec, search_text)
            with timer("compose"):
                if self.generator is not None and action in GENERATOR_ACTIONS:
                    # Only plain answers are generated; guard-driven replies never depend on a generator.
                    release = self._release_to(on_text, lang) if getattr(self.generator, "streams", False) else None
                    extra = {"release": release} if release is not None else {}
                    draft = self.generator.generate(build, svec, search_text, retrieved, trace, **extra)
                else:
                    draft = self.composer.compose(build, svec, search_text, retrieved)
        if action == "escalate":
            draft = _prefixed(self.prompts.render(_emergency_template(decision), lang), _limit(draft, 3), "guard")
        elif action == "support":
            draft = _prefixed(self.prompts.render("withdrawal_support", lang), _limit(draft, 3), "guard")
        elif action == "answer_with_clinician":
            draft = _suffixed(draft, self.prompts.render("clinician_referral", lang))
        elif action == "ignore_injection":
            draft = _prefixed(self.prompts.render("injection_note", lang), draft, draft.source)
        if not draft.text and action in ("answer", "answer_with_clinician", "ignore_injection"):
            draft = Draft(self.prompts.render("no_answer", lang), (), source="none")
        if lang != "en" and draft.source in ("documents", "faq", "llm") and self.prompts.has("english_only_note", lang):
            draft = _prefixed(self.prompts.render("english_only_note", lang), draft, draft.source)
        return draft, retrieved

    def _release_to(self, on_text, lang: str):
        """The streaming callback for a generator: what it releases, as the visitor will see it."""
        if on_text is None:
            return None
        note = self.prompts.render("english_only_note", lang) if lang != "en" and self.prompts.has("english_only_note", lang) else ""
        return (lambda text: on_text(f"{note}\n\n{text}")) if note else on_text

    def _finish(self, draft: Draft, decision: GuardDecision, retrieved, started, timings, trace) -> Reply:
        timer = _Timer(timings)
        with timer("output_guard"):
            checked = self.output_guard.check(draft, decision, retrieved)
        with timer("warnings"):
            chosen = self.warnings.select(checked.draft, decision)
        trace["sentences"] = [s.model_dump() for s in checked.draft.sentences]
        trace["output_guard"] = checked.report
        trace["warnings"] = [{"id": w.id, "why": w.why} for w in chosen]
        trace["answer_source"] = checked.draft.source
        trace["detail"] = checked.draft.detail
        trace["retrieved"] = [
            {"chunk_id": r.chunk_id, "doc_id": r.doc_id, "score": r.score, "dense": r.dense_score,
             "lexical": r.lexical_score, "heading": " > ".join(r.heading_path), "text": r.text}
            for r in retrieved
        ]
        total = (time.perf_counter() - started) * 1000
        timings["total"] = round(total, 3)
        trace["timings_ms"] = timings
        return Reply(
            text=checked.draft.text,
            citations=checked.draft.citations,
            warnings=tuple(w.text for w in chosen),
            refused=decision.action == "refuse" or checked.refused,
            emergency=decision.action == "escalate",
            guard=decision,
            retrieved=tuple(RetrievedRef(chunk_id=r.chunk_id, doc_id=r.doc_id, score=r.score) for r in retrieved),
            latency_ms=round(total, 2),
            language=decision.language,
            answer_source=checked.draft.source,
            trace=trace,
        )

    def _simple(self, template: str, lang: str, started, timings, source: str, **variables) -> Reply:
        text = self.prompts.render(template, lang, **variables)
        timings["total"] = round((time.perf_counter() - started) * 1000, 3)
        return Reply(
            text=text,
            guard=GuardDecision(label="invalid_input", action="explain", reason=template, layer="input"),
            latency_ms=timings["total"],
            answer_source=source,
            trace={"timings_ms": timings},
        )

    def _unavailable(self, decision: GuardDecision, started, timings, trace) -> Reply:
        # Safety answers never depend on the store: emergency and refusal templates still go out.
        lang = decision.language
        if decision.action == "escalate":
            text = self.prompts.render(_emergency_template(decision), lang)
        elif decision.action == "refuse":
            text = self.prompts.render("refusal_dosing", lang)
        else:
            text = self.prompts.render("unavailable", lang)
        reply = self._finish(Draft(text, (), source="unavailable"), decision, [], started, timings, trace)
        return reply


def _emergency_template(decision: GuardDecision) -> str:
    return "emergency_suicide" if decision.scores.get("suicidal", 0) >= 0.5 else "emergency"


def _limit(draft: Draft, n: int) -> Draft:
    """Keep only the first n sentences of a draft (for the brief facts after a guard message)."""
    if not draft.sentences or len(draft.sentences) <= n:
        return draft
    return _reassemble(draft, draft.sentences[:n])


def _reassemble(draft: Draft, sentences) -> Draft:
    by_chunk = {}
    for c in draft.citations:
        passages = c.passage.split(" … ")
        for i, cid in enumerate(c.chunk_ids):
            by_chunk[cid] = (c, passages[i] if i < len(passages) else c.passage)
    pieces = []
    for s in sentences:
        found = by_chunk.get(s.chunk_id)
        if found is not None:
            c, passage = found
            chunk = RetrievedChunk(chunk_id=s.chunk_id, doc_id=c.source_id, text=passage, heading_path=(), score=0.0, source=_source_of(c))
            pieces.append((s.sentence, chunk, s.support or 0.0))
    text, citations, traces = assemble(pieces)
    return Draft(text, citations, traces, draft.source, draft.detail, draft.topics)


def _source_of(c):
    from .schema import Source
    import datetime as dt

    return Source(
        id=c.source_id, title=c.title, source_org=c.source_org, url=c.url,
        published=c.published, evidence=c.evidence or "",
    )


def _prefixed(intro: str, draft: Draft, source: str) -> Draft:
    text = f"{intro}\n\n{draft.text}".strip() if draft.text else intro
    return Draft(text, draft.citations, draft.sentences, source, draft.detail, draft.topics)


def _suffixed(draft: Draft, outro: str) -> Draft:
    text = f"{draft.text}\n\n{outro}".strip() if draft.text else outro
    return Draft(text, draft.citations, draft.sentences, draft.source, draft.detail, draft.topics)


def _looks_like_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("connect", "timeout", "timed out", "unreachable", "refused", "remoteprotocol"))
