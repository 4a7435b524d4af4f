"""The one place that builds the chatbot from settings. ``app.py`` and the CLI only call this."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .chatbot import Chatbot
from .chunking import Chunker
from .compose import ExtractiveComposer, FaqAnswerer
from .corpus import corpus_fingerprint, load_corpus
from .embedding import Embedder, make_embedder
from .guard.base import InputGuard
from .guard.output import OutputGuard
from .guard.warnings import WarningSelector
from .indexing import BuildReport, IndexBuilder, IndexStatus
from .prompts import PromptLibrary
from .retrieval import Retriever
from .schema import Corpus
from .settings import Settings
from .store import ActiveIndex, make_layout

log = logging.getLogger(__name__)


@dataclass
class Components:
    """The parts that indexing and answering share."""

    settings: Settings
    embedder: Embedder
    builder: IndexBuilder
    prompts: PromptLibrary


def build_components(settings: Settings, embedder: Embedder | None = None) -> Components:
    """Create the embedder, index builder and prompt library (nothing heavy is loaded yet)."""
    embedder = embedder or make_embedder(settings.embedding_model, settings.embedding_batch_size)
    builder = IndexBuilder(make_layout(settings), embedder, Chunker(settings.chunk_max_chars))
    return Components(settings, embedder, builder, PromptLibrary(settings.prompts_dir))


def ensure_index(components: Components, corpus: Corpus, rebuild: bool = False) -> tuple[IndexStatus, BuildReport | None]:
    """Build the index when it is missing or stale (or when asked); return the status before and the build report."""
    status = components.builder.status(corpus)
    if rebuild or status.state != "fresh":
        log.info("index %s (%s): building", status.state, status.reason)
        return status, components.builder.build(corpus, full=rebuild)
    return status, None


def make_guard(settings: Settings, components: Components, corpus: Corpus) -> InputGuard:
    """The input guard the settings ask for."""
    from .guard.input import LayeredGuard

    return LayeredGuard.from_settings(settings, components.embedder)


def _warm(guard: InputGuard) -> InputGuard:
    """Train or load the guard classifier while starting up, not on the first visitor's message."""
    warm_up = getattr(guard, "warm_up", None)
    if warm_up is not None:
        warm_up()
    return guard


def load_chatbot(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    guard: InputGuard | None = None,
    build_index: bool | None = None,
) -> Chatbot:
    """Build a ready chatbot from settings, building the index first if it is missing or stale.

    ``build_index`` defaults to ``settings.auto_index``; with it off, a missing index is
    reported by the first reply instead of being built.
    """
    settings = settings or Settings()
    logging.getLogger("bot").setLevel(settings.log_level)
    components = build_components(settings, embedder)
    corpus = load_corpus(settings.corpus_dir)
    if settings.auto_index if build_index is None else build_index:
        ensure_index(components, corpus)
    prompts = components.prompts
    chatbot = Chatbot(
        embedder=components.embedder,
        index=ActiveIndex(components.builder.layout),
        retriever=Retriever(
            top_k=settings.top_k,
            candidate_k=settings.candidate_k,
            min_relevance=settings.min_relevance,
            dedup_similarity=settings.dedup_similarity,
            hybrid=settings.hybrid,
            bm25_weight=settings.bm25_weight,
        ),
        composer=ExtractiveComposer(settings.max_answer_sentences, settings.min_sentence_score),
        faq=FaqAnswerer(settings.faq_threshold),
        guard=guard or _warm(make_guard(settings, components, corpus)),
        output_guard=OutputGuard(prompts.render("refusal_dosing"), prompts.render("no_answer")),
        warnings=WarningSelector(prompts),
        prompts=prompts,
        generator=None,
        max_input_chars=settings.max_input_chars,
        max_history_turns=settings.max_history_turns,
        corpus_version=corpus_fingerprint(corpus),
    )
    return chatbot
