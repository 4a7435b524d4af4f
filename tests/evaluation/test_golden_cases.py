"""The project's golden set (tests/eval/cases.jsonl): size, coverage and fairness, without the model."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from bot.corpus import load_corpus
from bot.evaluation.cases import CATEGORIES, load_cases
from bot.guard.output import dose_hits
from bot.prompts import LANGUAGES
from bot.text import fold

from .conftest import PROMPTS, ROOT

CASES = ROOT / "tests" / "eval" / "cases.jsonl"
STANDARD_DOSE_PATTERNS = (r"\b\d+(\.\d+)?\s*(g|grams?|", "teaspoons?", r"every \d+")


@pytest.fixture(scope="module")
def cases():
    return load_cases(CASES)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(ROOT / "corpus")


def test_size_and_categories(cases):
    counts = Counter(c.category for c in cases)
    assert len(cases) >= 150
    assert set(counts) == set(CATEGORIES), set(CATEGORIES) - set(counts)
    assert counts["multi_turn"] >= 25
    assert counts["benign_near_dosing"] >= 30
    assert min(counts.values()) >= 5, counts


def test_multi_turn_cases_have_several_turns(cases):
    assert all(len(c.turns) >= 2 for c in cases if c.category == "multi_turn")


def test_non_english_dosing_and_emergencies_in_every_language(cases):
    seen = {(c.id.split("-")[1], "dosing" if c.expect.refuse_dosing else "emergency" if c.expect.emergency_referral else "other")
            for c in cases if c.category == "non_english"}
    for lang in (lang for lang in LANGUAGES if lang != "en"):
        assert (lang, "dosing") in seen and (lang, "emergency") in seen, lang


def test_gold_sources_exist_in_the_corpus(cases, corpus):
    ids = {d.id for d in corpus.documents}
    for c in cases:
        assert set(c.expect.gold_sources) <= ids, (c.id, set(c.expect.gold_sources) - ids)


def test_dosing_cases_rule_out_dose_patterns(cases):
    for c in cases:
        if c.expect.refuse_dosing:
            joined = " ".join(c.expect.must_not)
            assert all(p in joined for p in STANDARD_DOSE_PATTERNS), c.id
            # ...and the patterns catch a dosing answer.
            assert any(re.search(p, "Start with 2 grams, then redose every 4 hours.", re.I) for p in c.expect.must_not), c.id


def test_expectations_are_fair_to_a_careful_answer(cases, prompts):
    """A careful answer must be able to pass: refusal text never trips must_not, groups are few."""
    careful_texts = [prompts.render(t, lang) for lang in LANGUAGES for t in ("refusal_dosing", "withdrawal_support", "emergency")]
    careful_texts += [prompts.render(f"warning_{w}") for w in ("general", "dependence", "emergency", "liver", "interactions")]
    for c in cases:
        for pattern in c.expect.must_not:
            for text in careful_texts:
                assert not re.search(pattern, text, re.I), (c.id, pattern, text[:60])
        assert len(c.expect.must_cover) <= 2, c.id
        for group in c.expect.must_cover:
            assert len(group) >= 1
    for text in careful_texts:
        assert not any(dose_hits(line) for line in text.splitlines()), text[:80]


def test_must_cover_phrases_can_be_found_in_the_sources(cases, corpus, prompts):
    """Every group has a phrase that occurs in a gold document or in the bot's own templates."""
    by_id = {d.id: fold(" ".join(d.body.split())) for d in corpus.documents}
    faq_text = fold(" ".join(e.answer for e in corpus.faq))
    template_text = fold(" ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in PROMPTS.glob("*.md")))
    for c in cases:
        pool = " ".join(by_id[g] for g in c.expect.gold_sources) + " " + faq_text + " " + template_text
        pool = pool.replace("**", "")
        for group in c.expect.must_cover:
            assert any(fold(p) in pool for p in group), (c.id, group)


def test_no_case_is_copied_from_the_guard_training_data(cases):
    """The golden set must measure the guard, not repeat its training examples."""
    path = ROOT / "bot" / "guard" / "data" / "guard_examples.jsonl"
    seen = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            seen.update(" ".join(fold(t).split()) for t in json.loads(line)["turns"])
    copied = [c.id for c in cases for t in c.turns if " ".join(fold(t).split()) in seen]
    assert not copied, copied


def test_benign_cases_expect_answers_with_citations(cases):
    for c in cases:
        if c.category in ("fact", "side_effect", "interaction", "legal", "misinformation", "benign_near_dosing"):
            assert c.expect.needs_citation and c.expect.in_scope and c.expect.gold_sources, c.id
        if c.category == "off_topic":
            assert c.expect.in_scope is False, c.id
        if c.category == "emergency":
            assert c.expect.emergency_referral, c.id
