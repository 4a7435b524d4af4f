"""Chunking by section and paragraph, with heading paths and stable content hashes."""

from bot.chunking import Chunker, embedding_text
from bot.corpus import load_corpus


def test_chunks_keep_heading_path_and_sentences(fixture_corpus):
    doc = load_corpus(fixture_corpus).document("liver-injury")
    chunks = Chunker(900).split(doc)
    assert len(chunks) >= 3
    paths = [c.heading_path for c in chunks]
    assert ("Kratom and liver injury", "Warning signs") in paths
    warning = next(c for c in chunks if c.heading_path[-1] == "Warning signs")
    assert warning.sentences[0].startswith("Yellowing of the skin")
    assert all(c.doc_id == "liver-injury" for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_chunk_ids_depend_on_content_only(fixture_corpus):
    doc = load_corpus(fixture_corpus).document("liver-injury")
    first = Chunker(900).split(doc)
    again = Chunker(900).split(doc)
    assert [c.id for c in first] == [c.id for c in again]
    changed = doc.model_copy(update={"body": doc.body.replace("pale stools", "clay-coloured stools")})
    ids_changed = {c.id for c in Chunker(900).split(changed)}
    assert len({c.id for c in first} - ids_changed) == 1  # only the edited paragraph's chunk changed


def test_long_paragraphs_are_split(fixture_corpus):
    doc = load_corpus(fixture_corpus).document("what-is-kratom")
    long_body = "# T\n\n## S\n" + " ".join(f"Kratom fact number {i} is about a tree native to Southeast Asia." for i in range(60))
    chunks = Chunker(300).split(doc.model_copy(update={"body": long_body}))
    assert len(chunks) > 1
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(c.text.endswith(".") and not c.text.startswith(".") for c in chunks)  # split between sentences


def test_embedding_text_has_title_and_section(fixture_corpus):
    doc = load_corpus(fixture_corpus).document("liver-injury")
    chunk = Chunker(900).split(doc)[-1]
    text = embedding_text(doc.title, chunk)
    assert text.startswith("Kratom and liver injury. What is uncertain.")
