"""The output guard on adversarial generator output: dose numbers, orphan citations, injected claims."""

import datetime as dt

import pytest

from bot.compose import Draft
from bot.guard.output import OutputGuard, claim_hits, dose_hits, is_dose_advice
from bot.schema import Citation, GuardDecision, RetrievedChunk, Source

SRC = Source(id="liver-injury", title="Liver", source_org="NIH", url="https://www.ncbi.nlm.nih.gov/books/NBK548231/",
             published=dt.date(2024, 1, 1), evidence="case_report")
CHUNK = RetrievedChunk(chunk_id="liver-injury::a", doc_id="liver-injury", text="passage", heading_path=(), score=0.9, source=SRC)
CITE = Citation(n=1, source_id="liver-injury", title="Liver", source_org="NIH", url=SRC.url, chunk_id="liver-injury::a",
                chunk_ids=("liver-injury::a",), passage="passage")
BENIGN = GuardDecision(label="benign", action="answer")
DOSING = GuardDecision(label="dosing_request", action="refuse")


def check(text, decision=BENIGN, citations=(CITE,), retrieved=(CHUNK,), source="llm"):
    return OutputGuard().check(Draft(text, tuple(citations), source=source), decision, list(retrieved))


@pytest.mark.parametrize(
    "sentence",
    [
        "Start with 2 grams of kratom.",
        "Most people take 3-5 g per dose.",
        "Take one teaspoon in the morning.",
        "You can redose every 4 hours.",
        "Use it twice a day for pain.",
        "A typical 7-OH tablet dose is 10 mg.",
        "Reduce your intake by 10% each week.",
        "Aim for 1 mg/kg of mitragynine.",
        "Half a scoop is a good start.",
        "Take 2 capsules three times daily.",
    ],
)
def test_dose_advice_is_detected(sentence):
    assert dose_hits(sentence) and is_dose_advice(sentence, strict=False)


@pytest.mark.parametrize(
    "sentence",
    [
        "Call Poison Help at 1-800-222-1222.",
        "In 2018, 199 people were sickened in the Salmonella outbreak.",
        "Some 7-OH products are sold as a shot at gas stations.",
        "Kratom is sold as powder, capsules and extracts.",
        "The CDC counted 91 deaths in 27 states between July 2016 and December 2017.",
    ],
)
def test_figures_that_are_not_doses_pass(sentence):
    assert not is_dose_advice(sentence, strict=True)


def test_attributed_finding_may_stay_but_not_after_a_dosing_request():
    finding = "A case report described a patient who had used 3-7 g a day for four years."
    assert not is_dose_advice(finding, strict=False)
    assert is_dose_advice(finding, strict=True)
    kept = check(f"{finding} [1]")
    assert "3-7 g" in kept.draft.text
    refused = check(f"{finding} [1]", decision=DOSING)
    assert "3-7 g" not in refused.draft.text and refused.refused


def test_dose_sentences_are_removed_and_rest_kept():
    result = check("Kratom has caused liver injury [1]. You should take 4 grams twice a day [1].")
    assert result.draft.text == "Kratom has caused liver injury [1]."
    assert result.report["removed"][0]["why"] == "dose"


def test_only_dose_content_becomes_refusal():
    result = check("Take 5 grams every 6 hours [1].")
    assert result.refused and "can't give dosing guidance" in result.draft.text
    assert result.draft.citations == ()


@pytest.mark.parametrize(
    "claim",
    [
        "Kratom is approved by regulators and harmless.",
        "The FDA has approved kratom for pain.",
        "Kratom is completely safe.",
        "Kratom cures arthritis and inflammation.",
        "Kratom treats hyperpigmentation.",
        "You can't overdose on kratom.",
        "Kratom has no side effects.",
        "Nobody has ever died from kratom.",
    ],
)
def test_injected_claims_are_removed(claim):
    assert claim_hits(claim)
    result = check(f"Kratom has caused liver injury [1]. {claim[:-1]} [1].")
    assert result.draft.text == "Kratom has caused liver injury [1]."
    assert result.report["removed"][0]["why"] == "unsupported_claim"


@pytest.mark.parametrize(
    "sentence",
    [
        "Kratom is not approved by the FDA for any medical use.",
        "No regulator has approved kratom as a medicine.",
        "Claims that kratom treats hyperpigmentation are false.",
        "The claim that nobody has died from kratom is not true.",
        "Kratom is not safe to combine with opioids.",
        "The myth that you can't overdose on kratom is wrong.",
    ],
)
def test_corrections_of_claims_are_kept(sentence):
    assert not claim_hits(sentence), sentence


def test_orphan_and_invented_markers_are_removed_and_renumbered():
    other = Citation(n=2, source_id="x", title="X", source_org="Y", url="https://example.org/x", chunk_id="x::1",
                     chunk_ids=("x::1",), passage="p")
    # [2] cites a chunk that was never retrieved; [7] resolves to nothing.
    result = check("Fact one [2]. Fact two [7]. Fact three [1].", citations=(CITE, other))
    assert result.draft.text == "Fact one. Fact two. Fact three [1]."
    assert [c.n for c in result.draft.citations] == [1]
    assert result.report["orphan_markers"] == [2, 7]


def test_unused_sources_are_dropped():
    unused = CITE.model_copy(update={"n": 2})
    result = check("Fact one [1].", citations=(CITE, unused))
    assert [c.n for c in result.draft.citations] == [1] and result.report["unused_sources"] == [2]


def test_template_lists_and_paragraphs_survive():
    text = "**Call 911 now.**\n\n- Stay with the person.\n- Give naloxone if you have it.\n\nKratom has caused liver injury [1]."
    result = check(text, source="guard")
    assert result.draft.text == text


def test_every_template_survives_the_output_guard():
    """Guard-made messages (emergency, refusal, support) must never be cut by the guard itself."""
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[2] / "prompts").glob("*.md")):
        if path.name.startswith("ui_") or "{{" in path.read_text():
            continue
        text = path.read_text().strip()
        result = check(text, source="guard", citations=(), retrieved=())
        assert result.draft.text == text, path.name
