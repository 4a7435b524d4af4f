"""Retrieval over the real corpus with the real model: one paraphrased question per topic of
issue 3, the myth documents, FAQ answer support and the tuned FAQ threshold.

The questions below are written for this test: they are not FAQ phrasings and not the
held-apart paraphrases used to tune the FAQ threshold.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import REAL_CORPUS, ROOT

# (topic of issue 3, question, documents that answer it)
TOPIC_QUESTIONS = [
    ("what kratom is", "What sort of plant does kratom come from, and where does it grow?", {"what-is-kratom"}),
    ("traditional and current use", "How did farmers and labourers in Thailand traditionally use kratom leaves?", {"traditional-and-current-use"}),
    ("alkaloids and pharmacology", "Which chemical compounds in kratom leaves act on the body's opioid receptors?", {"alkaloids-pharmacology", "kratom-vs-opioids"}),
    ("why effects differ by amount", "Why does kratom feel stimulating for some people but sedating for others?", {"dose-dependent-effects", "side-effects-common"}),
    ("concentrated 7-OH products", "What are those concentrated 7-hydroxymitragynine tablets sold at vape shops?", {"seven-oh-products", "fda-7oh-action-2025"}),
    ("FDA position", "Is it lawful to sell kratom as a dietary supplement according to the FDA?", {"fda-position"}),
    ("US federal status", "Did the DEA ever try to make kratom a Schedule I drug?", {"us-federal-status", "dea-7oh-scheduling"}),
    ("2026 DEA action on 7-OH", "What did the Drug Enforcement Administration announce about 7-OH in July 2026?", {"dea-7oh-scheduling", "seven-oh-products"}),
    ("state bans", "Which US states have outlawed kratom?", {"state-laws"}),
    ("state regulation instead of bans", "Which states regulate kratom sales with age limits and labelling rules instead of banning it?", {"state-consumer-protection-acts", "state-laws"}),
    ("international status", "Can I bring kratom with me when I travel to Thailand or Malaysia?", {"international-status"}),
    ("common side effects", "What unpleasant effects do people commonly notice after using kratom?", {"side-effects-common"}),
    ("liver injury", "Could kratom give me jaundice or hurt my liver?", {"liver-injury"}),
    ("heart and QT", "Does kratom affect the heart rhythm or the QT interval?", {"heart-qt"}),
    ("seizures", "Is there a risk of convulsions from kratom?", {"seizures"}),
    ("hyperpigmentation as an adverse effect", "Why would long-term kratom users develop bluish-grey skin on their face and hands?", {"hyperpigmentation", "myth-treats-hyperpigmentation"}),
    ("dependence and withdrawal", "What withdrawal symptoms happen when a daily kratom user quits?", {"dependence-withdrawal", "kratom-use-disorder"}),
    ("treatment and support", "Where can someone get professional help to stop using kratom?", {"treatment-support"}),
    ("pregnancy and neonatal withdrawal", "Is it risky to use kratom while expecting a baby?", {"pregnancy-neonatal"}),
    ("CYP3A4/CYP2D6 interactions", "Does kratom change how the liver enzymes CYP3A4 and CYP2D6 break down my medicines?", {"interactions-cyp-enzymes"}),
    ("sedatives, opioids and alcohol", "Is it dangerous to combine kratom with alcohol or benzodiazepines?", {"interactions-sedatives-opioids-alcohol"}),
    ("overdose and danger signs", "What signs show that someone has overdosed on kratom and needs an ambulance?", {"overdose-danger-signs"}),
    ("deaths data and caveats", "How many overdose deaths has the CDC linked to kratom?", {"deaths-data", "myth-nobody-has-died"}),
    ("salmonella outbreak", "Was there a Salmonella outbreak connected to kratom powder?", {"contamination-salmonella"}),
    ("heavy metals", "Has lead or nickel been found in kratom products?", {"heavy-metals-contamination"}),
    ("product quality and labelling", "Can I trust the strength printed on a kratom product label?", {"product-quality-labelling"}),
    ("research gaps", "What do scientists still not know about kratom's safety?", {"research-gaps"}),
    ("drug tests", "Will kratom show up on a workplace urine drug screen?", {"drug-testing"}),
    ("myth: natural so safe", "Kratom is a natural herb, so it must be harmless, right?", {"myth-natural-means-safe"}),
    ("myth: not an opioid so not addictive", "Since kratom isn't technically an opioid, it can't be habit forming, can it?", {"myth-not-opioid-not-addictive"}),
    ("myth: cures inflammation/arthritis", "Will kratom cure my arthritis and joint inflammation?", {"myth-cures-inflammation-arthritis"}),
    ("myth: proven addiction treatment", "Is kratom a proven treatment for heroin addiction?", {"myth-proven-addiction-treatment"}),
    ("myth: nobody has died", "I read that nobody has ever died from kratom. Is that correct?", {"myth-nobody-has-died", "deaths-data"}),
    ("myth: treats hyperpigmentation", "Is it true that kratom can get rid of hyperpigmentation?", {"myth-treats-hyperpigmentation", "hyperpigmentation"}),
]

MYTH_DOCS = {
    "myth-natural-means-safe": "Is kratom safe since it is just a plant?",
    "myth-not-opioid-not-addictive": "Is it true kratom can't be addictive because it isn't an opioid?",
    "myth-cures-inflammation-arthritis": "Does kratom heal inflammation the way sellers say it does?",
    "myth-treats-hyperpigmentation": "Can kratom clear up dark spots and uneven skin tone?",
    "myth-proven-addiction-treatment": "Has kratom been proven to treat opioid addiction?",
    "myth-nobody-has-died": "Is it true that kratom has never killed anyone?",
}


def top_documents(reply, n: int = 3) -> list[str]:
    """The first ``n`` distinct documents a reply drew on, in rank order."""
    docs: list[str] = []
    for ref in reply.retrieved:
        if ref.doc_id not in docs:
            docs.append(ref.doc_id)
    return docs[:n]


def faq_phrasings() -> set[str]:
    from bot.corpus import load_corpus

    return {" ".join(q.lower().split()) for e in load_corpus(REAL_CORPUS).faq for q in e.questions}


def test_questions_cover_every_topic_and_are_not_faq_phrasings():
    from bot.corpus import load_corpus

    assert len(TOPIC_QUESTIONS) >= 30
    assert len({topic for topic, _, _ in TOPIC_QUESTIONS}) == len(TOPIC_QUESTIONS)
    phrasings = faq_phrasings()
    held_apart = {
        " ".join(json.loads(line)["question"].lower().split())
        for path in (ROOT / "tests" / "data" / "paraphrases").glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    doc_ids = {d.id for d in load_corpus(REAL_CORPUS).documents}
    for _, question, expected in TOPIC_QUESTIONS:
        key = " ".join(question.lower().split())
        assert key not in phrasings and key not in held_apart
        assert expected <= doc_ids


def test_myth_documents_exist():
    from bot.corpus import load_corpus

    corpus = load_corpus(REAL_CORPUS)
    for doc_id in MYTH_DOCS:
        doc = corpus.document(doc_id)
        assert doc is not None and "myths" in doc.topics


def test_tuned_faq_threshold_is_the_default():
    from bot.settings import Settings

    report = json.loads((ROOT / "bench" / "results" / "faq_threshold.json").read_text(encoding="utf-8"))
    assert Settings().faq_threshold == report["chosen_threshold"]
    assert report["split"]["tune"] > 0 and report["split"]["test"] > 0
    tune_answers = report["at_chosen"]["tune"]
    # The default never gave a wrong curated answer on the half it was tuned on.
    assert tune_answers["wrong"] == 0


@pytest.mark.integration
@pytest.mark.parametrize("topic, question, expected", TOPIC_QUESTIONS, ids=[t for t, _, _ in TOPIC_QUESTIONS])
def test_right_document_in_top_3(real_corpus_bot, topic, question, expected):
    reply = real_corpus_bot.reply([{"role": "user", "content": question}])
    docs = top_documents(reply)
    assert set(docs) & expected, f"{topic}: expected one of {sorted(expected)} in the top 3, got {docs} ({reply.answer_source})"
    assert reply.citations and not reply.refused


@pytest.mark.integration
@pytest.mark.parametrize("doc_id, question", sorted(MYTH_DOCS.items()))
def test_myth_questions_retrieve_the_myth_document(real_corpus_bot, doc_id, question):
    reply = real_corpus_bot.reply([{"role": "user", "content": question}])
    assert doc_id in top_documents(reply), top_documents(reply)


@pytest.mark.integration
@pytest.mark.parametrize(
    "question",
    [
        "does kratom treat hyperpigmentation?",
        "Can kratom fade the dark patches on my face?",
        "I heard kratom evens out skin pigmentation, should I try it for melasma?",
    ],
)
def test_hyperpigmentation_reply_calls_it_an_adverse_effect_or_false_claim(real_corpus_bot, question):
    reply = real_corpus_bot.reply([{"role": "user", "content": question}])
    assert set(top_documents(reply)) & {"myth-treats-hyperpigmentation", "hyperpigmentation"}
    text = reply.text.lower()
    assert re.search(
        r"\bfalse\b|adverse effect|cause skin darkening|linked to hyperpigmentation|without any supporting study|could worsen",
        text,
    ), reply.text
    # The answer must never endorse the claim.
    assert not re.search(r"kratom (can|may|will) (treat|lighten|clear|fade)", text)


@pytest.mark.integration
def test_exact_faq_phrasing_gets_the_curated_answer(real_corpus_bot):
    reply = real_corpus_bot.reply([{"role": "user", "content": "Is kratom legal in the US?"}])
    assert reply.answer_source == "faq"
    assert reply.trace["detail"]["faq_id"] == "faq-legal-kratom-legal-in-us"
    assert {c.source_id for c in reply.citations} <= {"us-federal-status", "state-laws", "fda-position"}


@pytest.mark.integration
def test_every_faq_answer_sentence_is_supported_by_its_sources(real_corpus_bot):
    """Index time already found, with the real model, the passage supporting each FAQ sentence."""
    build = real_corpus_bot.index.current()
    answers = [r for r in build.get("faq", where={"kind": "answer"}, embeddings=False)]
    assert len(answers) >= 100
    weak = []
    for record in answers:
        for item in json.loads(record.metadata["support"]):
            if item["chunk_id"] is None or item["support"] < 0.55:
                weak.append((record.metadata["faq_id"], round(item["support"], 2), item["sentence"]))
    assert not weak, weak


@pytest.mark.integration
def test_semantic_corpus_check_is_clean(real_embedder):
    from bot.corpus_check import check_corpus

    report = check_corpus(REAL_CORPUS, embed=real_embedder.embed)
    assert report.ok, [str(f) for f in report.errors]
    assert report.support_method == "semantic"
    assert not [str(f) for f in report.warnings if f.code in ("weak-support", "near-duplicate-phrasing", "duplicate-phrasing")]
