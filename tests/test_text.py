"""Sentence splitting and word utilities."""

from bot.text import citation_markers, content_words, split_sentences, strip_citations, strip_markdown


def test_split_sentences_keeps_abbreviations_and_decimals():
    text = (
        "The U.S. Food and Drug Administration (FDA) warned consumers. Levels rose 1.5 times, e.g. in 2018. "
        "J. Smith reported it in Schedule I. Mitragynine is an alkaloid!"
    )
    assert split_sentences(text) == [
        "The U.S. Food and Drug Administration (FDA) warned consumers.",
        "Levels rose 1.5 times, e.g. in 2018.",
        "J. Smith reported it in Schedule I.",
        "Mitragynine is an alkaloid!",
    ]


def test_split_sentences_with_citation_markers():
    assert split_sentences("One fact [1]. Another fact [2].") == ["One fact [1].", "Another fact [2]."]


def test_citation_helpers():
    assert citation_markers("A [1]. B [12] and [3].") == [1, 12, 3]
    assert strip_citations("A fact [2].") == "A fact."


def test_content_words_drop_stopwords_and_fold_accents():
    assert content_words("Is kratom legal in Ohio?") == {"legal", "ohio"}
    assert "cafe" in content_words("Café")


def test_strip_markdown():
    assert strip_markdown("**Bold** and [a link](https://x.org) and `code`") == "Bold and a link and code"
