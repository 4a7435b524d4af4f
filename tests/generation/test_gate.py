"""The claim-level grounding gate on its own: sentence splitting, judging, release and numbering."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.embedding import FakeEmbedder
from bot.errors import ConfigError
from bot.evaluation.groundedness import Calibration, SupportMeasurer
from bot.generation.gate import CalibrationSource, GatedAnswer, GroundingGate, SentenceSplitter, plain_sentence
from bot.generation.passages import number_passages
from bot.schema import RetrievedChunk, Source

LIVER = (
    "Case reports describe acute liver injury in people who used kratom regularly for weeks. "
    "Liver injury linked to kratom is considered rare, but some cases have needed hospital care. "
    "Most people in published case reports recovered after they stopped using kratom."
)
LAW = (
    "On October 13, 2016, the DEA withdrew that notice and asked the public for comments. "
    "The DEA also said it would wait for a scientific and medical evaluation from the FDA."
)
RULE = Calibration(alpha=0.15, threshold=0.69, use_contradiction=True, accuracy=1, balanced_accuracy=1,
                   cv_accuracy=1, false_supported=0, false_unsupported=0, n=0)


def chunk(doc: str, i: int, text: str, topics=()) -> RetrievedChunk:
    source = Source(id=doc, title=f"{doc} title", source_org="Org", url=f"https://example.org/{doc}",
                    published=dt.date(2020, 1, 1), evidence="legal", topics=tuple(topics))
    return RetrievedChunk(chunk_id=f"{doc}::c{i}", doc_id=doc, text=text, heading_path=("H",), score=0.8, source=source)


@pytest.fixture
def passages():
    return number_passages([chunk("liver", 1, LIVER, ["liver"]), chunk("law", 1, LAW), chunk("liver", 2, "Yellow skin can be a sign.")])


@pytest.fixture
def gate(passages):
    return GroundingGate(passages, RULE, SupportMeasurer(FakeEmbedder().embed))


def answer(gate, ratio=0.5, max_sentences=6):
    return GatedAnswer(gate, min_kept_ratio=ratio, max_sentences=max_sentences)


# -- passages ---------------------------------------------------------------------------


def test_passages_are_numbered_per_document_in_retrieval_order(passages):
    assert [(p.n, p.doc_id) for p in passages] == [(1, "liver"), (2, "law")]
    assert passages[0].text == f"{LIVER} … Yellow skin can be a sign."
    # The citation shows exactly the text the gate judged against.
    assert passages[0].citation(4).passage == passages[0].text and passages[0].citation(4).n == 4


# -- splitting --------------------------------------------------------------------------


def test_splitter_waits_for_the_marker_after_a_full_stop():
    splitter = SentenceSplitter()
    assert splitter.feed("Liver injury is rare.") == []
    assert splitter.feed(" [1") == []  # could still be this sentence's marker
    assert splitter.feed("] Most people recovered") == ["Liver injury is rare. [1]"]
    assert splitter.feed(" [1].") == []
    assert splitter.finish() == ["Most people recovered [1]."]


def test_splitter_handles_markers_before_the_stop_and_line_breaks():
    splitter = SentenceSplitter()
    out = splitter.feed("Kratom is a tree [3]. It grows in Asia [3].\n\nThe DEA acted in 2016 [2]")
    out += splitter.finish()
    assert out == ["Kratom is a tree [3].", "It grows in Asia [3].", "The DEA acted in 2016 [2]"]


def test_a_marker_opening_a_line_cites_each_unmarked_sentence_of_that_line():
    text = "[2] Kratom is a tree. It grows in Asia [3].\n[1] The DEA acted in 2016. It withdrew.\nNo marker here."
    splitter = SentenceSplitter()
    out = [s for i in range(0, len(text), 4) for s in splitter.feed(text[i : i + 4])] + splitter.finish()
    assert out == [
        "Kratom is a tree. [2]", "It grows in Asia [3].", "The DEA acted in 2016. [1]", "It withdrew. [1]", "No marker here.",
    ]


def test_a_marker_alone_on_the_next_line_belongs_to_the_sentence_before():
    splitter = SentenceSplitter()
    assert splitter.feed("Liver injury is rare.\n") == []
    assert splitter.feed("[1]\n") == ["Liver injury is rare. [1]"]
    assert splitter.feed("\nMost recovered.\n\n") == ["Most recovered."]
    assert splitter.finish() == []


def test_splitter_keeps_abbreviations_and_decimals_together():
    splitter = SentenceSplitter()
    out = splitter.feed("In the U.S. sales rose 2.5 times [1]. Next one [2].") + splitter.finish()
    assert out == ["In the U.S. sales rose 2.5 times [1].", "Next one [2]."]


def test_plain_sentence_strips_markdown_markers_and_adds_a_stop():
    assert plain_sentence("- **Liver injury** is rare [1]") == "Liver injury is rare."
    assert plain_sentence("## Heading") == "Heading."
    assert plain_sentence("Rare. [1] [2]") == "Rare."


# -- judging: the adversary ---------------------------------------------------------------


def test_a_verbatim_quote_with_a_valid_citation_is_kept(gate):
    v = gate.judge("Liver injury linked to kratom is considered rare, but some cases have needed hospital care [1].")
    assert v.kept and v.reason == "supported" and v.supporting == (1,) and v.chunk_id == "liver::c1"


def test_a_sentence_supported_by_the_second_chunk_of_a_passage_points_at_that_chunk(gate):
    v = gate.judge("Yellow skin can be a sign [1].")
    assert v.kept and v.chunk_id == "liver::c2"


@pytest.mark.parametrize(
    "sentence, reason",
    [
        ("Most people take 2 to 4 grams of kratom powder [1].", "dose"),
        ("Users usually redose every 4 hours [1].", "dose"),
        ("Case reports describe liver injury in people who used 10 grams a day [1].", "dose"),  # even attributed
        ("Regulators have approved kratom as a dietary supplement [1].", "unsupported_claim"),
        ("Kratom is completely safe for the liver [1].", "unsupported_claim"),
        ("Liver injury linked to kratom is considered rare [7].", "invented_citation"),
        ("Liver injury linked to kratom is considered rare [1] [7].", "invented_citation"),
        ("Liver injury linked to kratom is considered rare.", "no_citation"),
        ("Kratom cures anxiety in most adults [1].", "unsupported_claim"),
        ("Kratom is widely prescribed in European hospitals as a sleep aid [1].", "not_supported"),  # ignores the context
        ("Case reports describe acute liver injury in 45 people who used kratom [1].", "figures"),
        ("Liver injury linked to kratom is considered common, but some cases have needed hospital care [1].", "contradiction"),
        ("The DEA withdrew that notice and asked the public for comments [1].", "not_supported"),  # true, but not in [1]
    ],
)
def test_the_gate_drops_each_kind_of_bad_sentence(gate, sentence, reason):
    v = gate.judge(sentence)
    assert not v.kept
    assert v.reason == reason, v.why


def test_a_sentence_citing_two_passages_keeps_only_the_supporting_citation(gate):
    v = gate.judge("On October 13, 2016, the DEA withdrew that notice and asked the public for comments [1][2].")
    assert v.kept and v.supporting == (2,)


def test_fragments_without_words_do_not_count(gate):
    v = gate.judge("[1]")
    assert not v.kept and not v.counted


# -- release, fallback decision and numbering ---------------------------------------------

GOOD_LAW = "The DEA also said it would wait for a scientific and medical evaluation from the FDA [2]."
GOOD_LIVER = "Most people in published case reports recovered after they stopped using kratom [1]."
BAD = "Kratom is widely prescribed in European hospitals as a sleep aid [1]."


def test_numbers_follow_first_use_and_text_is_one_cited_paragraph(gate):
    a = answer(gate)
    assert a.add(GOOD_LAW) and a.add(GOOD_LIVER)
    assert a.text() == (
        "The DEA also said it would wait for a scientific and medical evaluation from the FDA [1]. "
        "Most people in published case reports recovered after they stopped using kratom [2]."
    )
    draft = a.draft()
    assert [(c.n, c.source_id) for c in draft.citations] == [(1, "law"), (2, "liver")]
    assert [s.citation for s in draft.sentences] == [1, 2] and draft.source == "llm"
    assert draft.topics == frozenset({"liver"})


def test_nothing_is_released_until_the_kept_share_reaches_the_ratio(gate):
    a = answer(gate, ratio=0.5)
    assert not a.add(BAD) and a.text() == ""
    assert a.add(GOOD_LIVER)  # 1 of 2: qualifies, both judged, the kept one is released
    assert a.committed and a.text().startswith("Most people")


def test_an_answer_that_never_qualifies_is_not_committed(gate):
    a = answer(gate, ratio=0.5)
    for sentence in (BAD, "Take 3 grams [1].", GOOD_LIVER, "Kratom is approved by the FDA [2]."):
        a.add(sentence)
    assert not a.committed and a.text() == "" and a.ratio == 0.25


def test_after_release_a_drifting_model_is_stopped_and_nothing_is_retracted(gate):
    a = answer(gate, ratio=0.5)
    a.add(GOOD_LIVER)
    shown = a.text()
    a.add(BAD)  # 1 of 2: still fine
    assert not a.stopped
    a.add("Take 3 grams [1].")  # 1 of 3: below the ratio
    assert a.stopped == "drift" and a.text() == shown
    assert not a.add(GOOD_LAW) and a.text() == shown  # nothing more is read


def test_reading_stops_once_the_answer_can_no_longer_qualify(gate):
    a = answer(gate, ratio=0.5, max_sentences=3)
    for _ in range(3):
        a.add(BAD)
        assert not a.stopped  # three more good sentences would still make 3 of 6
    a.add(BAD)
    assert a.stopped == "cannot_qualify" and not a.committed


def test_repeated_sentences_are_dropped_and_the_answer_is_capped(gate):
    a = answer(gate, ratio=0.0, max_sentences=2)
    a.add(GOOD_LIVER)
    a.add(GOOD_LIVER.replace("[1]", "[1]"))
    assert a.verdicts[-1].reason == "repeated"
    a.add(GOOD_LAW)
    assert a.stopped == "max_sentences" and len(a.kept) == 2


# -- calibration source ------------------------------------------------------------------


def test_calibration_source_uses_the_pin_only_for_its_embedder(tmp_path):
    from conftest import ROOT

    labels = ROOT / "tests" / "eval" / "groundedness_labels.jsonl"
    pin = ROOT / "tests" / "eval" / "groundedness_calibration.json"
    pinned = json.loads(pin.read_text())
    real = CalibrationSource(pin, labels, FakeEmbedder().embed, pinned["embedder"]).get()
    assert (real.alpha, real.threshold) == (pinned["alpha"], pinned["threshold"])  # the pinned rule, as eval uses it
    fake = CalibrationSource(pin, labels, FakeEmbedder().embed, "fake").get()
    assert fake.embedder == "fake" and fake.labels_sha256 == pinned["labels_sha256"]  # recalibrated on the same labels


def test_calibration_source_without_labels_or_pin_is_a_clear_config_error(tmp_path):
    source = CalibrationSource(tmp_path / "cal.json", tmp_path / "labels.jsonl", FakeEmbedder().embed, "fake")
    with pytest.raises(ConfigError, match="cal.json"):
        source.get()
    (tmp_path / "cal.json").write_text(json.dumps(RULE.to_json_dict() | {"embedder": "other-model"}))
    with pytest.raises(ConfigError, match="other-model"):
        source.get()
