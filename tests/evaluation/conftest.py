"""Fixtures for the evaluation tests: a scorer over the fixture corpus, and reply builders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.corpus import load_corpus
from bot.embedding import FakeEmbedder
from bot.evaluation.groundedness import Calibration, SupportMeasurer
from bot.evaluation.scoring import Scorer
from bot.evaluation.templates import TemplateIndex
from bot.prompts import PromptLibrary
from bot.schema import Citation, GuardDecision, Reply, RetrievedRef

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "prompts"
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "corpus"

LIVER_URL = "https://pmc.ncbi.nlm.nih.gov/articles/PMC4849036"
LIVER_PASSAGE = (
    "Case reports describe acute liver injury in people who used kratom regularly for weeks. "
    "Liver injury linked to kratom is considered rare, but some cases have needed hospital care. "
    "The injury pattern reported after kratom use is often cholestatic, which means bile flow is reduced. "
    "Most people in published case reports recovered after they stopped using kratom."
)
# A fixed rule, so scorer tests do not depend on calibration.
RULE = Calibration(alpha=0.5, threshold=0.7, use_contradiction=True, accuracy=1, balanced_accuracy=1,
                   cv_accuracy=1, false_supported=0, false_unsupported=0, n=0)


@pytest.fixture(scope="session")
def prompts() -> PromptLibrary:
    return PromptLibrary(PROMPTS)


@pytest.fixture(scope="session")
def scorer(prompts) -> Scorer:
    corpus = load_corpus(FIXTURE_CORPUS)
    return Scorer(
        {d.id: d for d in corpus.documents}, TemplateIndex(PROMPTS), prompts,
        SupportMeasurer(FakeEmbedder().embed), RULE, (5,),
    )


def liver_citation(n: int = 1, **changes) -> Citation:
    data = dict(
        n=n, source_id="liver-injury", title="Kratom and liver injury", source_org="IJMS", url=LIVER_URL,
        published=dt.date(2016, 4, 16), chunk_id="liver-injury::c1", chunk_ids=("liver-injury::c1",),
        passage=LIVER_PASSAGE,
    )
    data.update(changes)
    return Citation(**data)


def make_reply(text: str, prompts: PromptLibrary, *, citations=(), label="benign", action="answer", refused=False,
               emergency=False, warnings=None, retrieved=(), source=None, language="en") -> Reply:
    """A Reply as the pipeline would build it; warnings default to what a careful bot adds."""
    if warnings is None:
        warnings = []
        if emergency:
            warnings.append(prompts.render("warning_emergency", language))
        if any(c.source_id == "liver-injury" for c in citations):
            warnings.append(prompts.render("warning_liver", language))
        if citations:
            warnings.append(prompts.render("warning_general", language))
    if source is None:
        source = "documents" if citations else "guard"
    return Reply(
        text=text, citations=tuple(citations), warnings=tuple(warnings), refused=refused, emergency=emergency,
        guard=GuardDecision(label=label, action=action, language=language), answer_source=source, language=language,
        retrieved=tuple(RetrievedRef(chunk_id=f"{d}::x", doc_id=d, score=0.9) for d in retrieved), latency_ms=12.0,
    )
