"""The corpus checker: the real corpus passes; every broken fixture fails naming the file and line."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.corpus_check import (
    MAX_WORDS,
    MIN_WORDS,
    check_corpus,
    check_url,
    dosing_instruction,
    render_sources,
    weak_domain,
    write_sources,
)
from bot.corpus import load_corpus
from conftest import REAL_CORPUS

TODAY = dt.date(2026, 11, 25)
# Three real, valid documents make a small corpus that passes every check.
BASE_DOCS = ("liver-injury", "what-is-kratom", "state-laws")

FAQ = """\
- id: faq-liver
  questions:
    - Can kratom damage the liver?
    - Is kratom bad for your liver?
  answer: >-
    The LiverTox entry on kratom states that kratom has been linked to rare instances of clinically apparent acute liver injury.
    A 2021 DILIN report in Drug and Alcohol Dependence identified 11 cases of liver injury attributed to kratom.
  source_ids: [liver-injury]

- id: faq-what
  questions:
    - What is kratom?
    - what plant is kratom made from
  answer: >-
    Kratom is the common name for Mitragyna speciosa, a tropical tree native to Southeast Asia.
    Mitragyna speciosa belongs to the Rubiaceae family, the same plant family as the coffee plant.
  source_ids: [what-is-kratom]
"""


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """A clean corpus of three real documents, two FAQ entries and an up-to-date SOURCES.md."""
    root = tmp_path / "corpus"
    (root / "docs").mkdir(parents=True)
    (root / "faq").mkdir()
    for doc_id in BASE_DOCS:
        shutil.copy(REAL_CORPUS / "docs" / f"{doc_id}.md", root / "docs" / f"{doc_id}.md")
    (root / "faq" / "basics.yaml").write_text(FAQ, encoding="utf-8")
    write_sources(root)
    return root


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line containing ``needle``."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def findings(report, code: str, severity: str = "error"):
    pool = report.errors if severity == "error" else report.warnings
    return [f for f in pool if f.code == code]


# -- the real corpus ----------------------------------------------------------------------


def test_real_corpus_passes_the_check():
    report = check_corpus(REAL_CORPUS, today=TODAY)
    assert report.ok, "\n".join(str(f) for f in report.errors)
    assert report.documents >= 35
    assert report.faq_entries >= 100


def test_real_sources_file_is_current_and_lists_every_source():
    corpus = load_corpus(REAL_CORPUS)
    text = (REAL_CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert text == render_sources(corpus.documents)
    for doc in corpus.documents:
        assert f"<{doc.source_url}>" in text
        for source in doc.additional_sources:
            assert f"<{source.url}>" in text


def test_real_corpus_has_no_dosing_sentences_and_no_bare_homepages():
    report = check_corpus(REAL_CORPUS, today=TODAY)
    assert not findings(report, "dosing")
    assert not findings(report, "url")


def test_small_corpus_is_clean(small_corpus):
    report = check_corpus(small_corpus, today=TODAY)
    assert report.ok, "\n".join(map(str, report.errors))
    assert (report.documents, report.faq_entries) == (3, 2)


# -- errors, each naming the file and line --------------------------------------------------


def test_schema_error_names_file_and_line(small_corpus):
    doc = small_corpus / "docs" / "liver-injury.md"
    replace(doc, "title: Kratom and liver injury", "title: [unclosed")
    report = check_corpus(small_corpus, today=TODAY)
    [f] = findings(report, "schema")
    # YAML notices an unclosed bracket on the line after it.
    assert f.path == doc and f.line in (line_of(doc, "title: [unclosed"), line_of(doc, "title: [unclosed") + 1)
    assert "not valid YAML" in f.message


def test_missing_field_is_a_schema_error(small_corpus):
    doc = small_corpus / "docs" / "what-is-kratom.md"
    replace(doc, "evidence: regulatory\n", "")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "schema")
    assert f.path == doc and "evidence" in f.message


def test_duplicate_faq_id_across_files(small_corpus):
    other = small_corpus / "faq" / "more.yaml"
    other.write_text(FAQ.split("\n\n")[0] + "\n", encoding="utf-8")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "duplicate-id")
    assert f.path == other and f.line == 1 and "faq-liver" in f.message


def test_unknown_source_id(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "source_ids: [what-is-kratom]", "source_ids: [what-is-kratom, no-such-doc]")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "unknown-source-id")
    assert f.path == faq and f.line == line_of(faq, "no-such-doc") and "no-such-doc" in f.message


def test_too_few_phrasings(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "    - Is kratom bad for your liver?\n", "")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "faq-phrasings")
    assert f.path == faq and f.line == line_of(faq, "questions:") and "1 phrasing" in f.message


def test_answer_sentence_count(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "    Mitragyna speciosa belongs to the Rubiaceae family, the same plant family as the coffee plant.\n", "")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "faq-answer-length")
    assert f.path == faq and f.line == line_of(faq, "faq-what") + 4 and "1 sentence" in f.message


@pytest.mark.parametrize(
    "url, problem",
    [
        ("https://www.fda.gov/", "bare homepage"),
        ("https://www.fda.gov", "bare homepage"),
        ("htp://www.fda.gov/x", "must start with https://"),
        ("https://fda/news", "no valid host"),
        ("https://www.fda.gov/a page", "contains spaces"),
    ],
)
def test_bad_primary_url(small_corpus, url, problem):
    doc = small_corpus / "docs" / "liver-injury.md"
    replace(doc, "source_url: https://www.ncbi.nlm.nih.gov/books/NBK548231/", f"source_url: {url}")
    errors = findings(check_corpus(small_corpus, today=TODAY), "url")
    assert [(f.path, f.line) for f in errors] == [(doc, line_of(doc, "source_url:"))]
    assert problem in errors[0].message


def test_bad_additional_source_url_names_its_line(small_corpus):
    doc = small_corpus / "docs" / "state-laws.md"
    replace(doc, "url: https://www.wbay.com/2023/09/21/proposed-bill-would-make-herbal-supplement-kratom-legal-wi/", "url: https://www.wbay.com/")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "url")
    assert f.path == doc and f.line == line_of(doc, "url: https://www.wbay.com/") and "bare homepage" in f.message


def test_reviewed_date_in_future_is_an_error_and_old_is_a_warning(small_corpus):
    doc = small_corpus / "docs" / "what-is-kratom.md"
    replace(doc, "reviewed: 2026-11-25", "reviewed: 2027-01-01")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "reviewed-date")
    assert f.line == line_of(doc, "reviewed:") and "future" in f.message
    replace(doc, "reviewed: 2027-01-01", "reviewed: 2025-06-01")
    report = check_corpus(small_corpus, today=TODAY)
    assert not findings(report, "reviewed-date")
    [w] = findings(report, "reviewed-date", "warning")
    assert w.path == doc and w.line == line_of(doc, "reviewed:") and "12 months" in w.message
    assert report.ok


def test_document_length_limits(small_corpus):
    doc = small_corpus / "docs" / "what-is-kratom.md"
    text = doc.read_text(encoding="utf-8")
    head, body = text.split("\n---\n", 1)
    doc.write_text(head + "\n---\n# What kratom is\n\n## The plant\nKratom is a tropical tree native to Southeast Asia.\n", encoding="utf-8")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "length")
    assert f.path == doc and f.line == line_of(doc, "# What kratom is") and f"{MIN_WORDS}–{MAX_WORDS:,}" in f.message
    long_body = "\n\n".join("Kratom is a tropical tree native to Southeast Asia and Papua New Guinea." for _ in range(120))
    doc.write_text(head + "\n---\n# What kratom is\n\n## The plant\n" + long_body + "\n", encoding="utf-8")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "length")
    assert "1560 words" in f.message


def test_dosing_sentence_in_a_document_is_flagged_with_its_line(small_corpus):
    doc = small_corpus / "docs" / "liver-injury.md"
    replace(doc, "## Recovery and treatment\n", "## Recovery and treatment\nTo protect the liver, you should take no more than 2 grams of kratom a day.\n")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "dosing")
    assert f.path == doc and f.line == line_of(doc, "no more than 2 grams") and "2 grams" in f.message


def test_dosing_sentence_in_an_faq_answer_is_flagged(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "    A 2021 DILIN report", "    Take 1 teaspoon of powder with food to spare the liver.\n    A 2021 DILIN report")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "dosing")
    assert f.path == faq and f.line == line_of(faq, "Take 1 teaspoon")


def test_citation_markers_in_faq_answers_are_errors(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "native to Southeast Asia.\n", "native to Southeast Asia [1].\n")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "citation-marker")
    assert f.path == faq and f.line == line_of(faq, "Southeast Asia [1]")


def test_unknown_topic(small_corpus):
    doc = small_corpus / "docs" / "what-is-kratom.md"
    replace(doc, "topics: [", "topics: [gardening, ")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "topic")
    assert f.line == line_of(doc, "topics:") and "'gardening'" in f.message


def test_sources_file_missing_or_stale(small_corpus):
    sources = small_corpus / "SOURCES.md"
    sources.unlink()
    [f] = findings(check_corpus(small_corpus, today=TODAY), "sources-file")
    assert "missing" in f.message
    write_sources(small_corpus)
    doc = small_corpus / "docs" / "liver-injury.md"
    replace(doc, "date: 2022-04-01", "date: 2022-04-02")
    [f] = findings(check_corpus(small_corpus, today=TODAY), "sources-file")
    assert f.path == sources and f.line == line_of(sources, "ACG Case Reports Journal") and "corpus sources" in f.message


def test_checker_collects_every_error_instead_of_stopping_at_the_first(small_corpus):
    replace(small_corpus / "docs" / "what-is-kratom.md", "topics: [", "topics: [gardening, ")
    replace(small_corpus / "faq" / "basics.yaml", "    - Is kratom bad for your liver?\n", "")
    (small_corpus / "docs" / "broken.md").write_text("no front matter\n", encoding="utf-8")
    report = check_corpus(small_corpus, today=TODAY)
    assert {"topic", "faq-phrasings", "schema"} <= {f.code for f in report.errors}


# -- warnings ------------------------------------------------------------------------------


def test_weak_and_vendor_domains_are_warned(small_corpus):
    doc = small_corpus / "docs" / "state-laws.md"
    replace(doc, "url: https://www.wbay.com/2023/09/21/proposed-bill-would-make-herbal-supplement-kratom-legal-wi/", "url: https://someone.wordpress.com/2023/09/21/kratom-law/")
    report = check_corpus(small_corpus, today=TODAY, check_sources_file=False)
    [w] = findings(report, "weak-source", "warning")
    assert w.path == doc and w.line == line_of(doc, "someone.wordpress.com") and "personal blog" in w.message
    assert report.ok


def test_vendor_domain_needs_an_advocacy_label():
    assert "seller or advocacy" in weak_domain("https://bestkratomshop.com/blog/legal", "Best Kratom Shop")
    assert weak_domain("https://bestkratomshop.com/blog/legal", "Kratom Shop (industry group argues ...)") is None
    assert weak_domain("https://www.fda.gov/news-events/public-health-focus/fda-and-kratom") is None
    assert "document-sharing" in weak_domain("https://www.scribd.com/document/1/x")


def test_duplicate_phrasings_across_entries_are_warned(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "    - what plant is kratom made from\n", "    - Can kratom damage the LIVER\n")
    [w] = findings(check_corpus(small_corpus, today=TODAY), "duplicate-phrasing", "warning")
    assert w.path == faq and w.line == line_of(faq, "Can kratom damage the LIVER") and "faq-liver" in w.message


def test_weakly_supported_faq_sentence_is_warned(small_corpus):
    faq = small_corpus / "faq" / "basics.yaml"
    replace(faq, "    Mitragyna speciosa belongs", "    Astronauts grow bonsai orchids aboard orbiting laboratories.\n    Mitragyna speciosa belongs")
    [w] = findings(check_corpus(small_corpus, today=TODAY), "weak-support", "warning")
    assert w.path == faq and w.line == line_of(faq, "Astronauts grow") and "faq-what" in w.message


def test_semantic_support_uses_the_given_embedder(small_corpus):
    from bot.embedding import FakeEmbedder

    calls = []
    fake = FakeEmbedder()

    def embed(texts):
        calls.append(len(texts))
        return fake.embed(texts)

    report = check_corpus(small_corpus, today=TODAY, embed=embed)
    assert report.support_method == "semantic" and calls


def test_pronoun_start_is_warned(small_corpus):
    doc = small_corpus / "docs" / "what-is-kratom.md"
    replace(doc, "## The plant\n", "## The plant\nIt grows in humid forests.\n\n")
    [w] = findings(check_corpus(small_corpus, today=TODAY, check_sources_file=False), "not-standalone", "warning")
    assert w.path == doc and w.line == line_of(doc, "It grows in humid forests.")


def test_inconsistent_titles_for_one_url_are_warned(small_corpus):
    doc = small_corpus / "docs" / "state-laws.md"
    replace(doc, "title: Proposed bill would make herbal supplement Kratom legal in WI", "title: Wisconsin kratom bill")
    other = small_corpus / "docs" / "what-is-kratom.md"
    replace(other, "additional_sources:\n", "additional_sources:\n  - org: WBAY\n    title: Proposed bill would make herbal supplement Kratom legal in WI\n    url: https://www.wbay.com/2023/09/21/proposed-bill-would-make-herbal-supplement-kratom-legal-wi/\n    date: 2023-09-21\n")
    [w] = findings(check_corpus(small_corpus, today=TODAY, check_sources_file=False), "inconsistent-source", "warning")
    assert "different title" in w.message


# -- small units ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Take 2 grams of kratom in the morning.",
        "You should not exceed 5 g a day.",
        "Beginners should start with one teaspoon.",
        "Don't take more than 3 capsules at once.",
        "The recommended dose is 4 grams.",
    ],
)
def test_dosing_instruction_positives(sentence):
    assert dosing_instruction(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "A 2019 case report described a man who had used 20 grams of kratom daily.",
        "Call Poison Help at 1-800-222-1222 for advice.",
        "Louisiana penalties can reach five years in prison and fines of up to $50,000.",
        "No safe dose of kratom can be recommended.",
        "Kratom raised exposure to midazolam by about 40 percent in the 2023 study.",
    ],
)
def test_dosing_instruction_negatives(sentence):
    assert not dosing_instruction(sentence)


def test_check_url_accepts_specific_pages_and_query_pages():
    assert check_url("https://www.fda.gov/news-events/public-health-focus/fda-and-kratom") is None
    assert check_url("https://irp.nida.nih.gov/?p=15732") is None
    assert "bare homepage" in check_url("https://www.cdc.gov/")


# -- command line --------------------------------------------------------------------------


def test_cli_check_exits_zero_on_clean_and_one_on_errors(small_corpus, capsys):
    assert main(["corpus", "check", "--dir", str(small_corpus)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    replace(small_corpus / "docs" / "liver-injury.md", "source_url: https://www.ncbi.nlm.nih.gov/books/NBK548231/", "source_url: https://www.fda.gov/")
    assert main(["corpus", "check", "--dir", str(small_corpus)]) == 1
    captured = capsys.readouterr()
    line = line_of(small_corpus / "docs" / "liver-injury.md", "source_url:")
    assert f"liver-injury.md:{line}: error: URL 'https://www.fda.gov/' is a bare homepage" in captured.err


def test_cli_check_json_and_strict(small_corpus, capsys):
    replace(small_corpus / "docs" / "what-is-kratom.md", "reviewed: 2026-11-25", "reviewed: 2020-01-01")
    assert main(["corpus", "check", "--dir", str(small_corpus), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["warnings"][0]["code"] == "reviewed-date"
    lines = (small_corpus / "docs" / "what-is-kratom.md").read_text().splitlines()
    reviewed_line = next(i for i, line in enumerate(lines, 1) if line.startswith("reviewed:"))
    assert data["warnings"][0]["path"].endswith("what-is-kratom.md") and data["warnings"][0]["line"] == reviewed_line
    assert main(["corpus", "check", "--dir", str(small_corpus), "--strict"]) == 1


def test_cli_sources_regenerates_the_file(small_corpus, capsys):
    (small_corpus / "SOURCES.md").write_text("stale\n", encoding="utf-8")
    assert main(["corpus", "sources", "--dir", str(small_corpus)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert check_corpus(small_corpus, today=TODAY).ok


def test_cli_uses_the_corpus_dir_setting(small_corpus, monkeypatch, capsys):
    monkeypatch.setenv("KRATOMBOT_CORPUS_DIR", str(small_corpus))
    assert main(["corpus", "check"]) == 0
    assert "3 documents, 2 FAQ entries" in capsys.readouterr().out
