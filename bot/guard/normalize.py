"""Layer 1: normalise user text so that spelling tricks don't hide intent.

Handles Unicode look-alikes (NFKC), invisible characters, zalgo marks, case and
accents, leetspeak ("kr4tom", "h0w"), spaced or dotted letters ("k r a t o m",
"k.r.a.t.o.m") and common misspellings or street names of kratom and 7-OH. The
output is for matching only; the user's text is never shown altered.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

_INVISIBLE = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"})
_TOKEN = re.compile(r"[a-z0-9@$!|+]+")
_NUMBER_UNIT = re.compile(r"^\d+(?:[.,]\d+)?(?:x|g|gr|gs|mg|mcg|ml|kg|lb|lbs|h|hr|hrs|am|pm|st|nd|rd|th|yo|s|k)?$")
# Runs of single letters separated by spaces, dots, dashes, underscores or stars.
_SPACED = re.compile(r"(?<![a-z])(?:[a-z][\s.\-_*]+){3,}[a-z](?![a-z])")

# Spellings, street names and strain names that mean kratom; mapped to the word "kratom".
_KRATOM_ALIASES = [
    r"kr[a@4]+t+[o0]+m+s?", r"kr[a@4]+t+[uü]+m+", r"kr[a@4]+t[eo]n", r"kr[a@4]+t[ei]m", r"kr[a@4]+th[o0]m",
    r"kratim", r"krtm", r"krat", r"kratoms?", r"ketum", r"kakuam", r"biak(?:[- ]biak)?", r"thang", r"thom",
    r"mitragyna(?: speciosa)?", r"m\. ?speciosa", r"speciosa", r"maeng ?da", r"mitra(?: leaf)?",
    r"the k plant", r"k[- ]plant", r"k-tom", r"(?:red|green|white|yellow|gold) (?:vein|borneo|malay|bali|thai|maeng)",
    r"(?:red|green|white) (?:kratom|strain)", r"(?:bali|borneo|malay|indo|thai) (?:kratom|powder|leaf)",
]
_KRATOM_RE = re.compile(r"\b(?:" + "|".join(_KRATOM_ALIASES) + r")\b")
_SEVEN_OH_RE = re.compile(
    r"(?<![\w.])(?:7\s*[-‐–]?\s*(?:oh|o\s*h|0\s*h|0h|hydroxy\w*|hmg)|seven[- ]?oh|7-?hydroxymitragynine|"
    r"hydroxymitragynine|pseudoindoxyl|mitragynine pseudoindoxyl)(?![a-z])"
)


# Chat-speak that hides words the rules look for ("how much 2 take", "4 beginners", "u", "rn").
_CHAT_SPEAK = [
    (re.compile(r"\b2 (take|use|start|dose|have|do|try|drink|get|feel|stay|go)\b"), r"to \1"),
    (re.compile(r"\b4 (a|an|the|me|my|beginners?|newbies?|first|pain|sleep|energy|anxiety)\b"), r"for \1"),
    (re.compile(r"\bu\b"), "you"),
    (re.compile(r"\bur\b"), "your"),
    (re.compile(r"\br u\b"), "are you"),
    (re.compile(r"\brn\b"), "right now"),
    (re.compile(r"\bb4\b"), "before"),
    (re.compile(r"\b(?:pls|plz|plez)\b"), "please"),
    (re.compile(r"\bhes\b"), "he's"),
    (re.compile(r"\bshes\b"), "she's"),
    (re.compile(r"\bim\b"), "i'm"),
    (re.compile(r"\bidk\b"), "i don't know"),
    (re.compile(r"\bamt\b"), "amount"),
    (re.compile(r"\b(?:frend|freind|frnd)\b"), "friend"),
    (re.compile(r"\b(?:hlep|halp|hepl)\b"), "help"),
    (re.compile(r"\bhow much'?s\b"), "how much is"),
]


@dataclass(frozen=True)
class Normalized:
    """User text prepared for matching."""

    original: str
    text: str  # lowercased, accents kept, spelling tricks undone, aliases mapped
    folded: str  # as text, with accents removed
    unquoted: str  # as folded, with quoted multi-word spans replaced by "[quote]"
    mentions_kratom: bool
    mentions_7oh: bool


_ACCENTS = {0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306, 0x0307, 0x0308, 0x030A, 0x030B, 0x030C, 0x0327, 0x0328}


def _strip_marks(text: str) -> str:
    """Drop zalgo: combining marks other than ordinary accents, and any beyond one per letter."""
    out = []
    marks = 0
    for ch in unicodedata.normalize("NFD", text):
        # Enclosing marks (U+0489 "҉") and some non-spacing marks have combining class 0: test the category too.
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
            marks += 1
            if marks > 1 or ord(ch) not in _ACCENTS:
                continue
        else:
            marks = 0
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _unleet(token: str) -> str:
    if _NUMBER_UNIT.match(token) or not re.search(r"[a-z]", token) or not re.search(r"[0-9@$!|+]", token):
        return token
    if re.fullmatch(r"\d+[a-z]{0,2}|7oh|[0-9]+(?:st|nd|rd|th)", token):
        return token
    letters = sum(c.isalpha() for c in token)
    return token.translate(_LEET) if letters >= 2 else token


# Danger words whose misspellings must not hide an emergency ("not brathing", "unconcious").
_CRITICAL = (
    "breathing", "breathe", "breath", "unconscious", "unresponsive", "seizure", "seizing", "swallowed", "overdose",
    "overdosed", "overdosing", "convulsing", "collapsed", "choking", "poisoned", "suicide", "suicidal",
)
_WORD = re.compile(r"[a-z]{5,}")


def _fix_critical(text: str) -> str:
    def repl(m: re.Match) -> str:
        word = m.group(0)
        if word in _CRITICAL:
            return word
        close = difflib.get_close_matches(word, _CRITICAL, n=1, cutoff=0.86)
        return close[0] if close and word[0] == close[0][0] else word

    return _WORD.sub(repl, text)


def normalize(text: str) -> Normalized:
    """Normalise a user message for the guard's rules and features."""
    full = _normalize(text, drop_quoted=False)
    unquoted = _normalize(text, drop_quoted=True)
    return Normalized(
        original=text,
        text=full,
        folded=_fold(full),
        unquoted=_fold(unquoted),
        mentions_kratom="kratom" in _fold(full) or "mitragynine" in _fold(full),
        mentions_7oh="7-oh" in full,
    )


# A quoted span of two or more words: reported speech, a label, a headline.
_QUOTED = re.compile(r"(?<!\w)['\"“‘«]([^'\"”’»\n]{1,120}?\s[^'\"”’»\n]{1,120}?)['\"”’»](?!\w)")


def _normalize(text: str, drop_quoted: bool) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = _strip_marks(text).lower()
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = _QUOTED.sub(" [quote] ", text) if drop_quoted else text
    text = re.sub(r"(?<!\w)['\"`]+|['\"`]+(?!\w)", " ", text)  # quotes around words, not apostrophes inside them
    text = _SPACED.sub(lambda m: re.sub(r"[\s.\-_*]+", "", m.group(0)), text)
    text = _SEVEN_OH_RE.sub(" 7-oh ", text)
    text = _TOKEN.sub(lambda m: _unleet(m.group(0)), text)
    text = re.sub(r"([a-z])\1{2,}", r"\1\1", text)  # "kraaatom" -> "kraatom"
    text = re.sub(r"\bkraatom\b", "kratom", text)
    text = _KRATOM_RE.sub(" kratom ", text)
    text = _fix_critical(text)
    text = re.sub(r"\bdoze(s)? (for|of)\b", r"dose\1 \2", text)  # "doze for kratom" is a misspelt dose request
    for pattern, repl in _CHAT_SPEAK:
        text = pattern.sub(repl, text)
    return " ".join(text.split())
