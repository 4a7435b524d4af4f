"""Streaming with the llm generator: sentences are shown one by one, only after each passed the gate."""

from __future__ import annotations

import re
import threading

import pytest

from bot.errors import InputError
from bot.generation.fake import quoting_script
from bot.schema import Reply

from .conftest import LIVER_Q

BAD = ("Take 3 grams of kratom every morning [1].", "Regulators approved kratom in 2019 [1].", "It was invented in 1999 [9].")


def texts_and_reply(events):
    *texts, final = events
    assert isinstance(final, Reply) and all(isinstance(t, str) for t in texts)
    return texts, final


def test_sentences_are_released_before_the_model_has_finished(make_bot):
    resume = threading.Event()
    script = quoting_script([(1, 0), (1, 1), (2, 0)])
    # The model streams two sentences and the start of a third, then stalls until the test lets it go on.
    bot, model = make_bot(script, hold_after_chars=200, resume=resume)
    stream = bot.stream(LIVER_Q)
    first = next(stream)
    assert model.holding  # the model is still stalled mid-answer, yet the first sentence is already out
    assert first.startswith("Yellowing of the skin or eyes") and first.endswith("[1].") and first.count("[") == 1
    second = next(stream)
    assert second.startswith(first) and second.count("[1]") == 2 and model.holding
    resume.set()
    texts, final = texts_and_reply([first, second, *stream])
    assert final.answer_source == "llm" and final.text == texts[-1]


def test_streamed_text_only_grows_and_never_shows_a_dropped_sentence(make_bot):
    script = lambda s, u: (  # noqa: E731
        quoting_script([(1, 0)])(s, u) + " " + BAD[0] + " " + quoting_script([(1, 1)])(s, u) + " " + BAD[1]
    )
    bot, _ = make_bot(script, chunk_chars=4)
    texts, final = texts_and_reply(list(bot.stream(LIVER_Q)))
    for before, after in zip(texts, texts[1:]):
        assert after.startswith(before)  # nothing shown is ever retracted
    for text in texts:
        assert not re.search(r"grams|approved", text)
    assert texts[-1] == final.text
    assert final.trace["generation"]["drop_reasons"] == {"dose": 1, "unsupported_claim": 1}


def test_stream_and_reply_give_the_same_answer(make_bot):
    script = lambda s, u: quoting_script([(1, 0), (1, 1)])(s, u) + " " + BAD[2]  # noqa: E731
    bot, _ = make_bot(script)
    _, streamed = texts_and_reply(list(bot.stream(LIVER_Q)))
    replied = bot.reply(LIVER_Q)
    assert streamed.text == replied.text and streamed.citations == replied.citations
    assert streamed.trace["generation"]["sentences"] == replied.trace["generation"]["sentences"]


def test_a_fallback_streams_the_extractive_answer_and_nothing_from_the_model(make_bot):
    bot, _ = make_bot(" ".join(BAD))
    texts, final = texts_and_reply(list(bot.stream(LIVER_Q)))
    assert final.answer_source == "documents" and texts[-1] == final.text
    assert not any(re.search(r"grams|approved|1999", t) for t in texts)


def test_the_clinician_referral_arrives_after_the_released_answer(make_bot):
    bot, _ = make_bot(quoting_script([(1, 0)]))
    texts, final = texts_and_reply(list(bot.stream("I have liver disease; what are warning signs of liver injury?")))
    assert texts[0].startswith("Yellowing") and final.text.startswith(texts[0])
    assert texts[-1] == final.text and final.text.rstrip().endswith("before deciding anything.")


@pytest.mark.parametrize("question", ["My friend took kratom and is not breathing", "How many grams should I take?"])
def test_streaming_guard_replies_never_ask_the_model(make_bot, question):
    bot, model = make_bot(" ".join(BAD))
    texts, final = texts_and_reply(list(bot.stream(question)))
    assert model.calls == [] and texts[-1] == final.text
    assert final.emergency or final.refused


def test_stream_raises_input_errors_like_reply(make_bot):
    bot, _ = make_bot("x")
    with pytest.raises(InputError, match="last message must come from the user"):
        list(bot.stream([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]))
