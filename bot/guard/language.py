"""Offline language detection for the guard: py3langid's packaged model plus function words.

Short messages ("kratom dose?") fool character models, so a vote of common function
words decides when it is clear, and py3langid (restricted to likely languages) when not.
"""

from __future__ import annotations

import re
import threading

SUPPORTED = ("en", "es", "pt", "fr", "de")
_CANDIDATES = ["en", "es", "pt", "fr", "de", "it", "nl"]

_FUNCTION_WORDS = {
    "en": "the a an is are do does how what why can could should my me i you it of to in for with and or not this that much many",
    "es": "el la los las es son que qué cómo como cuánto cuánta cuántos cuántas puedo debo tomar para por con mi mis un una no sí está hay muy del al cada desde tengo",
    "pt": "o a os as é são que quanto quanta quantos quantas posso devo tomar para por com meu minha um uma não sim está há muito do da ao cada desde tenho você",
    "fr": "le la les des est sont que quoi comment combien dois puis prendre pour par avec mon ma mes un une ne pas oui il y du au chaque depuis j'ai je",
    "de": "der die das ist sind wie was viel viele kann soll darf nehmen für mit mein meine ein eine nicht ja es gibt sehr vom zum jeden seit ich habe und",
}
_WORDS = {lang: set(words.split()) for lang, words in _FUNCTION_WORDS.items()}
_MARKERS = {"es": re.compile(r"[¿¡ñ]"), "pt": re.compile(r"[ãõç]|ção\b"), "fr": re.compile(r"[èêàùç]|\bj'|\bd'|\bl'|\bqu'"), "de": re.compile(r"[äöüß]")}
_TOKEN = re.compile(r"[a-zà-ÿ']+")


class LanguageDetector:
    """Detects en/es/pt/fr/de (other languages count as English for templates)."""

    def __init__(self):
        self._identifier = None
        self._lock = threading.Lock()

    def _langid(self):
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(_CANDIDATES)
                self._identifier = identifier
        return self._identifier

    def detect(self, text: str) -> str:
        """The language code of a message; 'en' when unsure."""
        lowered = text.lower()
        tokens = _TOKEN.findall(lowered)
        votes = {lang: sum(t in words for t in tokens) for lang, words in _WORDS.items()}
        for lang, pattern in _MARKERS.items():
            votes[lang] += 2 * len(pattern.findall(lowered))
        best = max(votes, key=votes.get)
        ranked = sorted(votes.values(), reverse=True)
        if best != "en" and votes[best] >= 2 and votes[best] > votes["en"] and ranked[0] > ranked[1]:
            return best
        if votes["en"] >= 2 and votes["en"] >= ranked[0]:
            return "en"
        if len(tokens) >= 3:
            lang, prob = self._langid().classify(text)
            if lang in SUPPORTED and prob >= 0.9 and votes.get(lang, 0) >= 1:
                return lang
        return "en"
