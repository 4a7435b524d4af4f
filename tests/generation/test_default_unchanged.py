"""The default (extractive) answers are unchanged by the generator interface.

``data/extractive_golden.jsonl`` holds replies recorded with the pipeline as it was
before the generator interface existed (fake embedder, fixture corpus, one scripted
guard decision per conversation so every action path is covered). The replay here must
match them byte for byte, apart from timings and the unused nearest-FAQ lookup (ties
between FAQ phrasings make that diagnostic order-dependent). If a deliberate change to
composition, prompts or the fixture corpus alters the answers, re-record with

    .venv/bin/python tests/generation/test_default_unchanged.py --record

and say so in the commit.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from bot.generation.base import ExtractiveGenerator
from bot.schema import GuardDecision
from bot.wiring import load_chatbot

GOLDEN = Path(__file__).parent / "data" / "extractive_golden.jsonl"


class FixedGuard:
    def __init__(self, label, action, language, scores):
        self.decision = GuardDecision(label=label, action=action, score=0.9, reason="scripted", layer="test",
                                      scores=scores, language=language)

    def decide(self, messages, embed, query_text):
        return self.decision


def normalized(reply_json: dict) -> dict:
    """A reply without what legitimately varies between runs."""
    data = copy.deepcopy(reply_json)
    data.pop("latency_ms", None)
    trace = data.get("trace", {})
    trace.pop("timings_ms", None)
    if data.get("answer_source") != "faq":
        trace.pop("faq", None)
    return data


def play(settings, case: dict, generator_off: bool = False) -> list[dict]:
    bot = load_chatbot(settings, guard=FixedGuard(case["label"], case["action"], case["language"], case["scores"]))
    if generator_off:
        bot.generator = None  # the pipeline's own composer path, as before the interface existed
    history, out = [], []
    for turn in case["turns"]:
        history.append({"role": "user", "content": turn})
        reply = bot.reply(history)
        history.append({"role": "assistant", "content": reply.text})
        out.append(reply.to_json_dict())
    return out


def golden_cases() -> list[dict]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_default_generator_is_extractive(fake_settings):
    assert fake_settings.generator == "extractive"
    bot = load_chatbot(fake_settings, guard=FixedGuard("benign", "answer", "en", {}))
    assert isinstance(bot.generator, ExtractiveGenerator) and not bot.generator.streams


@pytest.mark.parametrize("case", golden_cases(), ids=lambda c: c["id"])
def test_default_replies_are_byte_identical_to_the_recording(fake_settings, case):
    replies = play(fake_settings, case)
    assert len(replies) == len(case["replies"])
    for got, want in zip(replies, case["replies"]):
        assert got["text"] == want["text"]  # byte for byte
        assert got["warnings"] == want["warnings"] and got["citations"] == want["citations"]
        assert json.dumps(normalized(got), sort_keys=True) == json.dumps(normalized(want), sort_keys=True)
        assert "generation" not in got["trace"]


@pytest.mark.parametrize("case", golden_cases(), ids=lambda c: c["id"])
def test_default_replies_equal_the_generator_free_pipeline(fake_settings, case):
    with_interface = [normalized(r) for r in play(fake_settings, case)]
    without = [normalized(r) for r in play(fake_settings, case, generator_off=True)]
    assert with_interface == without


@pytest.mark.integration
def test_real_corpus_default_answers_equal_the_generator_free_pipeline(real_corpus_bot):
    from bot.evaluation.cases import load_cases
    from conftest import ROOT

    cases = load_cases(ROOT / "tests" / "eval" / "cases.jsonl")[::10]  # every tenth golden case, all categories
    plain = copy.copy(real_corpus_bot)
    plain.generator = None
    assert isinstance(real_corpus_bot.generator, ExtractiveGenerator)
    for case in cases:
        history = []
        for turn in case.turns:
            history.append({"role": "user", "content": turn})
            a, b = real_corpus_bot.reply(history), plain.reply(history)
            assert a.text == b.text and a.citations == b.citations and a.warnings == b.warnings, case.id
            history.append({"role": "assistant", "content": a.text})


def _record() -> None:
    import shutil
    import tempfile

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    import bot  # noqa: F401
    from bot.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(root / "tests" / "fixtures" / "corpus", tmp / "corpus")
        settings = Settings(corpus_dir=tmp / "corpus", data_dir=tmp / "state", prompts_dir=root / "prompts",
                            embedding_model="fake", guard_cache=tmp / "guard", min_relevance=0.05, min_sentence_score=0.0)
        lines = []
        for case in golden_cases():
            replies = play(settings, case)
            for r in replies:
                r.pop("latency_ms", None)
                r["trace"].pop("timings_ms", None)
            lines.append(json.dumps({**case, "replies": replies}, ensure_ascii=False, sort_keys=True))
        GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"re-recorded {len(lines)} conversations into {GOLDEN}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__" and "--record" in sys.argv:
    _record()
