"""Offline language detection for the five supported languages."""

import pytest

from bot.guard.language import LanguageDetector


@pytest.mark.parametrize(
    "text, lang",
    [
        ("How much kratom should I take?", "en"),
        ("is kratom legal in Ohio", "en"),
        ("kratom dose?", "en"),
        ("¿Cuántos gramos de kratom debo tomar para el dolor?", "es"),
        ("Mi hijo se tragó unas cápsulas de kratom", "es"),
        ("Quanto kratom eu devo tomar por dia?", "pt"),
        ("Kratom é legal no Brasil?", "pt"),
        ("Combien de gélules de kratom faut-il prendre ?", "fr"),
        ("Mon fils ne respire plus", "fr"),
        ("Wie oft am Tag darf ich Kratom nehmen?", "de"),
        ("Mein Mann atmet nicht mehr", "de"),
    ],
)
def test_detects(text, lang):
    assert LanguageDetector().detect(text) == lang


def test_empty_and_symbols_default_to_english():
    detector = LanguageDetector()
    assert detector.detect("") == "en"
    assert detector.detect("??? 123 !!!") == "en"
