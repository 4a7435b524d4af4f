"""Corpus loading: valid documents load; every malformed file fails naming the file and problem."""

import pytest

from bot.corpus import corpus_fingerprint, load_corpus, parse_document
from bot.errors import CorpusError

GOOD = """---
id: sample-doc
title: Sample
source_org: FDA
source_url: https://www.fda.gov/news-events/public-health-focus/fda-and-kratom
published: 2024-01-02
reviewed: 2026-11-25
evidence: regulatory
topics: [basics]
---
# Sample

## Section
Kratom is a tree native to Southeast Asia.
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_loads_fixture_corpus(fixture_corpus):
    corpus = load_corpus(fixture_corpus)
    ids = {d.id for d in corpus.documents}
    assert ids == {"liver-injury", "us-federal-status", "what-is-kratom"}
    liver = corpus.document("liver-injury")
    assert liver.evidence == "systematic_review"
    assert liver.additional_sources[0].url.startswith("https://doi.org/")
    assert corpus.faq[0].source_ids == ("liver-injury",)


def test_parse_good_document(tmp_path):
    doc = parse_document(write(tmp_path, "sample-doc.md", GOOD))
    assert doc.title == "Sample"
    assert doc.topics == ("basics",)
    assert "Southeast Asia" in doc.body
    assert doc.body_line == 11


@pytest.mark.parametrize(
    "text, problem",
    [
        ("# no front matter\n", "missing YAML front matter"),
        ("---\nid: sample-doc\n# never closed\n", "not closed"),
        (GOOD.replace("title: Sample", "title: [unclosed"), "not valid YAML"),
        (GOOD.replace("evidence: regulatory", "evidence: blog"), "evidence 'blog' is not one of"),
        (GOOD.replace("published: 2024-01-02", "published: last year"), "'published' must be a date"),
        (GOOD.replace("source_org: FDA\n", ""), "missing required field(s): source_org"),
        (GOOD.replace("topics: [basics]", "topics: [basics]\ncolour: blue"), "unknown field(s): colour"),
        (GOOD.replace("id: sample-doc", "id: Other_Doc"), "must be lowercase"),
        (GOOD.split("# Sample")[0], "no body text"),
    ],
)
def test_malformed_document_names_file_and_problem(tmp_path, text, problem):
    path = write(tmp_path, "sample-doc.md", text)
    with pytest.raises(CorpusError) as err:
        parse_document(path)
    assert str(path) in str(err.value)
    assert problem in str(err.value)


def test_yaml_error_reports_line(tmp_path):
    path = write(tmp_path, "sample-doc.md", GOOD.replace("title: Sample", "title: [unclosed"))
    with pytest.raises(CorpusError) as err:
        parse_document(path)
    assert err.value.line is not None and err.value.line >= 2


def test_id_must_match_file_name(tmp_path):
    with pytest.raises(CorpusError, match="does not match the file name"):
        parse_document(write(tmp_path, "other-name.md", GOOD))


def test_non_utf8_file(tmp_path):
    path = write(tmp_path, "sample-doc.md", GOOD.replace("Southeast", "Süd").encode("latin-1"))
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        parse_document(path)


def test_duplicate_id_across_files(fixture_corpus):
    # Ids equal file names, so a copied document keeps its old id and is caught by name.
    text = (fixture_corpus / "docs" / "liver-injury.md").read_text()
    (fixture_corpus / "docs" / "zz-copy.md").write_text(text)
    with pytest.raises(CorpusError) as err:
        load_corpus(fixture_corpus)
    assert "zz-copy.md" in str(err.value) and "'liver-injury'" in str(err.value)


def test_missing_corpus_folder(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_corpus(tmp_path / "nowhere")


def test_faq_with_unknown_source(fixture_corpus):
    (fixture_corpus / "faq" / "extra.yaml").write_text(
        "- id: faq-x\n  questions: ['Is it legal?']\n  answer: Maybe.\n  source_ids: [no-such-doc]\n"
    )
    with pytest.raises(CorpusError, match="unknown document id\\(s\\): no-such-doc"):
        load_corpus(fixture_corpus)


def test_duplicate_faq_id(fixture_corpus):
    (fixture_corpus / "faq" / "extra.yaml").write_text(
        "- id: faq-liver\n  questions: ['Liver?']\n  answer: Yes.\n  source_ids: [liver-injury]\n"
    )
    with pytest.raises(CorpusError, match="duplicate FAQ id 'faq-liver'"):
        load_corpus(fixture_corpus)


def test_fingerprint_changes_with_content(fixture_corpus):
    before = corpus_fingerprint(load_corpus(fixture_corpus))
    path = fixture_corpus / "docs" / "what-is-kratom.md"
    path.write_text(path.read_text() + "\nA new sentence about kratom.\n")
    assert corpus_fingerprint(load_corpus(fixture_corpus)) != before


def test_unknown_published_date_needs_accessed(tmp_path):
    doc = parse_document(write(tmp_path, "sample-doc.md", GOOD.replace("published: 2024-01-02", "published: unknown\naccessed: 2026-11-25")))
    assert doc.published is None and str(doc.accessed) == "2026-11-25"
    with pytest.raises(CorpusError, match="'accessed' must give the date"):
        parse_document(write(tmp_path, "sample-doc.md", GOOD.replace("published: 2024-01-02", "published: unknown")))
