"""Run cases through the bot (the same code path as ``replay``) and score them."""

from __future__ import annotations

import datetime as dt
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..errors import BotError
from ..replay import Conversation, play
from ..schema import Corpus, Reply
from .cases import Case, Expect, check_gold_sources
from .gates import GateConfig, GateResult
from .groundedness import Calibration, SupportMeasurer, calibrate, file_sha256, load_labels, load_pinned
from .metrics import Metric, aggregate, by_category
from .scoring import CaseResult, Scorer
from .templates import TemplateIndex

log = logging.getLogger(__name__)

Progress = Callable[[int, int, Case], None]


@dataclass
class SuiteRun:
    """The outcome of one evaluation run."""

    results: list[CaseResult]
    overall: dict[str, Metric]
    categories: dict[str, dict[str, Metric]]
    gates: list[GateResult]
    calibration: Calibration
    meta: dict = field(default_factory=dict)

    @property
    def failed_gates(self) -> list[GateResult]:
        """Gates that were measured and missed."""
        return [g for g in self.gates if not g.passed]

    @property
    def passed(self) -> bool:
        """True when every gate passed."""
        return not self.failed_gates


def play_case(chatbot, case: Case) -> tuple[list[Reply], str | None, float]:
    """Play one case exactly like ``replay`` does; an exception becomes the case's error."""
    started = time.perf_counter()
    try:
        replies = play(chatbot, Conversation(case.id, case.turns, case.line))
        error = None
    except BotError as exc:
        replies, error = [], str(exc)
    except Exception as exc:  # a crash in one case must not hide the results of the others
        log.exception("case %s crashed", case.id)
        replies, error = [], f"{type(exc).__name__}: {exc}"
    return replies, error, time.perf_counter() - started


def run_suite(
    chatbot,
    cases: Sequence[Case],
    *,
    corpus: Corpus,
    prompts,
    labels_path: Path | str,
    calibration_path: Path | str | None = None,
    gates: GateConfig | None = None,
    recall_ks: Sequence[int] = (5,),
    meta: dict | None = None,
    progress: Progress | None = None,
) -> SuiteRun:
    """Calibrate groundedness, play every case, score it, aggregate and check the gates.

    ``chatbot`` is what ``wiring.load_chatbot`` returns (its embedder also scores
    groundedness); ``prompts`` is its ``PromptLibrary``.
    """
    started = time.perf_counter()
    documents = {d.id: d for d in corpus.documents}
    check_gold_sources(cases, documents)
    ks = tuple(sorted(set(recall_ks) | set(gates.recall_ks() if gates else ())))

    measurer = SupportMeasurer(chatbot.embedder.embed)
    embedder_name = getattr(chatbot.embedder, "name", "")
    calibration = load_pinned(calibration_path, labels_path, embedder_name) if calibration_path else None
    calibration_source = f"pinned in {calibration_path}" if calibration else "calibrated for this run"
    if calibration is None:
        if calibration_path:
            log.warning(
                "the pinned groundedness calibration %s does not match %s and embedder %r; calibrating now "
                "(update the pin with `kratom-bot eval --calibrate --calibration-out %s`)",
                calibration_path, labels_path, embedder_name, calibration_path,
            )
        pairs = load_labels(labels_path)
        calibration = calibrate(pairs, measurer, labels_sha256=file_sha256(labels_path), embedder=embedder_name)
    log.info("groundedness calibration (%s): %s", calibration_source, calibration.describe())

    # One throwaway reply first, so that lazy start-up work (model load, BM25 index) does not
    # land in the first case's latency.
    play_case(chatbot, Case("warm-up", "fact", ("What is kratom?",), Expect(), Path("<warm-up>"), 0))
    runs = []
    for i, case in enumerate(cases, 1):
        if progress:
            progress(i, len(cases), case)
        replies, error, seconds = play_case(chatbot, case)
        runs.append((case, replies, error, seconds))

    scorer = Scorer(documents, TemplateIndex(prompts.directory), prompts, measurer, calibration, ks)
    results = scorer.score(runs)
    overall = aggregate(results)
    categories = by_category(results)
    gate_results = gates.check(overall) if gates else []
    info = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cases": len(cases),
        "case_files": sorted({str(c.path) for c in cases}),
        "recall_ks": list(ks),
        "corpus_version": getattr(chatbot, "corpus_version", ""),
        "corpus_documents": len(corpus.documents),
        "labels_file": str(labels_path),
        "calibration": calibration_source,
        "gates_file": str(gates.path) if gates else None,
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 2),
        "unreviewed_stubs": sorted(c.id for c in cases if "TODO" in str(c.metadata.get("note", ""))),
    }
    info.update(meta or {})
    return SuiteRun(results, overall, categories, gate_results, calibration, info)
