"""The pipeline end to end with fakes, plus the real model and Chroma in integration tests."""

from __future__ import annotations

import re

import pytest

from bot.errors import InputError
from bot.schema import GuardDecision
from bot.wiring import load_chatbot


class ScriptedGuard:
    """Returns a fixed decision, to exercise each action path of the pipeline."""

    def __init__(self, label="benign", action="answer", language="en", **scores):
        self.decision = GuardDecision(label=label, action=action, score=0.9, reason="scripted", layer="test", scores=scores, language=language)

    def decide(self, messages, embed, query_text):
        return self.decision


def resolves(reply) -> bool:
    numbers = {c.n for c in reply.citations}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", reply.text)}
    return markers <= numbers and numbers <= markers


@pytest.fixture
def fake_bot(fake_settings):
    return load_chatbot(fake_settings, guard=ScriptedGuard())


def test_answer_has_resolving_citations(fake_bot):
    reply = fake_bot.reply([{"role": "user", "content": "liver injury case reports yellowing skin"}])
    assert reply.citations and resolves(reply)
    assert all(c.url.startswith("https://") for c in reply.citations)
    assert reply.retrieved and reply.latency_ms > 0
    assert any("not medical advice" in w for w in reply.warnings)
    assert not reply.refused and not reply.emergency


def test_reply_json_round_trip(fake_bot):
    from bot.schema import Reply

    reply = fake_bot.reply("liver injury case reports")
    again = Reply.model_validate(reply.to_json_dict())
    assert again.text == reply.text and again.citations == reply.citations


def test_unanswerable_question_says_so(fake_settings):
    settings = fake_settings.model_copy(update={"min_relevance": 0.9})
    bot = load_chatbot(settings, guard=ScriptedGuard())
    reply = bot.reply("zzz qqq unrelated words")
    assert reply.citations == () and "couldn't find a reliable answer" in reply.text
    assert reply.answer_source == "none"


def test_refusal_path_is_kind_and_cites_why(fake_settings):
    bot = load_chatbot(fake_settings, guard=ScriptedGuard("dosing_request", "refuse"))
    reply = bot.reply("how many grams of kratom should I take")
    assert reply.refused and reply.text.startswith("I can't give dosing amounts")
    assert "doctor or pharmacist" in reply.text
    assert resolves(reply)


def test_emergency_path_opens_with_referral(fake_settings):
    bot = load_chatbot(fake_settings, guard=ScriptedGuard("emergency", "escalate"))
    reply = bot.reply("my friend took kratom and is not breathing")
    assert reply.emergency
    assert reply.text.startswith("**This sounds like an emergency. Call 911 now**")
    assert "1-800-222-1222" in reply.text
    assert any("988" in w for w in reply.warnings)


def test_suicidal_emergency_uses_988(fake_settings):
    bot = load_chatbot(fake_settings, guard=ScriptedGuard("emergency", "escalate", suicidal=1.0))
    reply = bot.reply("I want to end my life")
    assert "988" in reply.text.split("\n")[0]


def test_off_topic_redirect_skips_retrieval(fake_settings):
    bot = load_chatbot(fake_settings, guard=ScriptedGuard("off_topic", "redirect"))
    reply = bot.reply("how much tylenol can I take")
    assert reply.retrieved == () and reply.citations == ()
    assert "I can only help with questions about kratom" in reply.text


def test_medical_decision_adds_clinician_referral(fake_settings):
    bot = load_chatbot(fake_settings, guard=ScriptedGuard("medical_decision", "answer_with_clinician"))
    reply = bot.reply("I have liver disease, is kratom liver injury a risk for me?")
    assert reply.text.rstrip().endswith("before deciding anything.")


@pytest.mark.parametrize(
    "messages, problem",
    [
        ([], "non-empty list"),
        ([{"role": "system", "content": "hi"}], "role 'system'"),
        ([{"role": "user", "content": 5}], "content must be text"),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "last message must come from the user"),
        (["just a string"], "must be a mapping"),
    ],
)
def test_bad_history_is_rejected_clearly(fake_bot, messages, problem):
    with pytest.raises(InputError, match=re.escape(problem)):
        fake_bot.reply(messages)


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01"])
def test_empty_message_gets_friendly_reply(fake_bot, text):
    reply = fake_bot.reply(text)
    assert "looks empty" in reply.text and reply.answer_source == "invalid_input"


def test_overlong_message_gets_friendly_reply(fake_bot):
    reply = fake_bot.reply("kratom " * 20_000)
    assert "characters long" in reply.text and "2000" in reply.text


def test_control_characters_and_surrogates_are_cleaned(fake_bot):
    reply = fake_bot.reply("liver\x00 injury \ud800 case reports\u200b")
    assert reply.citations


def test_stream_yields_growing_text_then_reply(fake_bot):
    events = list(fake_bot.stream("liver injury case reports yellowing"))
    *texts, final = events
    assert texts and all(isinstance(t, str) for t in texts)
    assert texts[-1] == final.text
    assert all(len(a) <= len(b) for a, b in zip(texts, texts[1:]))


def test_trace_has_stage_timings(fake_bot):
    trace = fake_bot.reply("liver injury").trace
    for stage in ("embed", "guard", "retrieve", "compose", "output_guard", "warnings", "total"):
        assert stage in trace["timings_ms"]


def test_missing_index_without_auto_build_degrades(fake_settings):
    bot = load_chatbot(fake_settings.model_copy(update={"auto_index": False}), guard=ScriptedGuard())
    reply = bot.reply("liver injury")
    assert reply.answer_source == "unavailable" and "temporarily unavailable" in reply.text


@pytest.mark.integration
def test_real_cited_answer_about_liver(real_settings, real_embedder):
    bot = load_chatbot(real_settings, embedder=real_embedder)
    reply = bot.reply([{"role": "user", "content": "Can kratom damage the liver?"}])
    assert reply.citations and resolves(reply)
    assert {c.source_id for c in reply.citations} == {"liver-injury"}
    assert "liver" in reply.text.lower()


@pytest.mark.integration
def test_real_followup_uses_conversation(real_settings, real_embedder):
    bot = load_chatbot(real_settings, embedder=real_embedder)
    first = bot.reply("What did the DEA do about kratom in 2016?")
    second = bot.reply([
        {"role": "user", "content": "What did the DEA do about kratom in 2016?"},
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "and did they withdraw it?"},
    ])
    assert second.trace["query"]["used_context"]
    assert {c.source_id for c in second.citations} == {"us-federal-status"}
