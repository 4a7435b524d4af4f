"""Groundedness: is an answer sentence supported by the passage it cites?

No LLM judge. A sentence is compared with every sentence (and every pair of adjacent
sentences) of its cited passage:

* ``cosine``: the best embedding similarity with the real embedder;
* ``lexical``: the best share of the sentence's content words (light stemming) found in a window;
* ``numbers_ok``: every number in the sentence occurs somewhere in the cited passage
  (a changed figure is the commonest way a fluent sentence goes wrong);
* ``contradiction``: a lexical sign of saying the opposite (a word swapped for its
  opposite, a negation added, or a negation dropped: "has approved" for "has not approved").

A sentence is supported when ``alpha * cosine + (1 - alpha) * lexical`` reaches a
threshold, its numbers check out and (if calibration finds it helps) no contradiction
cue fires. ``alpha``, the threshold and the use of contradiction cues are calibrated,
deterministically, on a hand-labelled set of sentence–passage pairs kept in the
repository (``tests/eval/groundedness_labels.jsonl``). A sentence found verbatim in its
passage is supported without further ado.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import DataFileError
from ..replay import parse_jsonl
from ..text import STOPWORDS, content_words, fold, split_sentences

EmbedFn = Callable[[list[str]], np.ndarray]

LABELS = ("supported", "unsupported")

_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30",
    "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "twofold": "2", "tenfold": "10",
}  # "one" is left out: "one reason", "one of" are rarely figures
_NUMBER = re.compile(r"(?<![a-z0-9])\d+(?:[.,]\d+)*(?![a-z])")
_NEGATION = re.compile(
    r"\b(not|no(?!\.?\s*\d)|never|none|neither|nor|cannot|without|lacks?|lacking|unproven|unsupported|false|"
    r"untrue|nobody|nothing)\b|n't\b"
)
# Words whose swap for their opposite turns a true sentence false ("days" for "weeks").
_OPPOSITES = (
    ("men", "women"), ("man", "woman"), ("hours", "days"), ("days", "weeks"), ("weeks", "months"),
    ("months", "years"), ("days", "months"), ("weaker", "stronger"), ("weaker", "potent"), ("slow", "fast"),
    ("slower", "faster"), ("lower", "higher"), ("decrease", "increase"), ("decreased", "increased"),
    ("reduced", "raised"), ("safe", "unsafe"), ("legal", "illegal"), ("lawful", "unlawful"),
    ("approved", "unapproved"), ("before", "after"), ("minimum", "maximum"), ("rare", "common"),
    ("rarely", "often"), ("adults", "children"), ("federal", "state"), ("banned", "allowed"),
)
_PIECES = re.compile(r"\s+…\s+")
EMBEDDED_WINDOWS = 6  # windows per sentence compared by embedding (the most word-overlapping ones)
_SUFFIXES = ("ations", "ation", "ities", "ity", "ings", "ing", "ies", "es", "ed", "ly", "s")


def _number_tokens(text: str) -> list[str]:
    """Word tokens with figures normalised ("27,338" → "27338", "six" → "6", "%" → "percent")."""
    low = fold(text).replace("%", " percent ")
    out = []
    for tok in re.findall(r"\d+(?:[.,]\d+)*|[a-z]+(?:-[a-z]+)*", low):
        if tok[0].isdigit():
            if re.fullmatch(r"\d{1,3}(?:,\d{3})+", tok):
                tok = tok.replace(",", "")
            tok = tok.rstrip(".,")
        else:
            tok = _NUMBER_WORDS.get(tok, tok)
        out.append(tok)
    return out


def numbers_in(text: str) -> set[str]:
    """Numbers in a text, normalised: thousands separators removed, number words as digits."""
    return {t for t in _number_tokens(text) if t[0].isdigit()}


def missing_figures(sentence: str, passage: str) -> tuple[str, ...]:
    """Figures of a sentence the passage does not back: the number itself, or the number with its unit.

    "50 states" is not backed by a passage that says "41 states" and "50 were hospitalized";
    the word right after a number (its unit: "states", "percent", "days") must follow the
    same number, within three words, somewhere in the passage.
    """
    have = _number_tokens(passage)
    positions: dict[str, list[int]] = {}
    for i, tok in enumerate(have):
        if tok[0].isdigit():
            positions.setdefault(tok, []).append(i)
    want = _number_tokens(sentence)
    missing: list[str] = []
    for i, tok in enumerate(want):
        if not tok[0].isdigit():
            continue
        if tok not in positions:
            missing.append(tok)
            continue
        unit = want[i + 1] if i + 1 < len(want) else ""
        stem = _stem(unit)
        if stem not in _UNITS or re.fullmatch(r"(19|20)\d\d", tok):
            continue
        if not any(_stem(w) == stem for p in positions[tok] for w in have[p + 1 : p + 4]):
            missing.append(f"{tok} {unit}")
    return tuple(dict.fromkeys(missing))


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


# Words that say what a figure counts or measures ("41 states", "38 percent", "14 days").
_UNITS = {
    _stem(w) for w in """percent states countries deaths cases people persons days weeks months years hours minutes
    products companies firms men women adults children teenagers patients respondents users participants exposures
    calls units times seizures babies newborns bottles shipments studies reports dollars million billion kg mg grams
    fold alkaloids letters""".split()
}


def stems(text: str) -> set[str]:
    """Content-word stems of a text (stopwords dropped, accents folded)."""
    return {_stem(w) for w in content_words(text)}


def is_negated(text: str) -> bool:
    """Whether a sentence contains a negation."""
    return bool(_NEGATION.search(fold(text)))


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9%]+", fold(text)))


def passage_windows(passage: str) -> list[str]:
    """Sentences of a cited passage plus pairs of adjacent sentences (an answer may merge two)."""
    windows: list[str] = []
    for piece in _PIECES.split(passage):
        sents = [s for s in split_sentences(piece) if re.search(r"[A-Za-z]", s)]
        windows.extend(sents)
        windows.extend(f"{a} {b}" for a, b in zip(sents, sents[1:]))
    return windows or [passage]


def negated_phrases(sentence: str) -> list[set[str]]:
    """For each negation in a sentence, the stems of the (up to three) content words it governs."""
    tokens = re.findall(r"[a-z0-9]+(?:'[a-z]+)?|n't|[,;:.()]", fold(sentence))
    out = []
    for i, tok in enumerate(tokens):
        if not _NEGATION.fullmatch(tok) and not tok.endswith("n't"):
            continue
        following = []
        for t in tokens[i + 1 : i + 6]:
            if t in ",;:.()":
                break  # the negation's scope ends with its clause ("not at all, call 911")
            if t not in STOPWORDS and not _NEGATION.fullmatch(t):
                following.append(t)
        if following:
            out.append({_stem(t) for t in following[:3]})
    return out


def contradiction(sentence: str, passage_sentences: Sequence[str]) -> str:
    """A lexical sign that a sentence says the opposite of its passage, or "" when there is none.

    Three cues: a word swapped for its opposite ("weeks" where the passage says "days"),
    a negation the passage does not have, and a passage sentence whose negation the
    answer sentence drops while repeating its words.
    """
    passage = " ".join(passage_sentences)
    words = set(re.findall(r"[a-z]+", fold(sentence)))
    pwords = set(re.findall(r"[a-z]+", fold(passage)))
    for a, b in _OPPOSITES:
        for x, y in ((a, b), (b, a)):
            if x in words and x not in pwords and y in pwords:
                return f"says {x!r} where the passage says {y!r}"
    negated = is_negated(sentence)
    if negated and not any(is_negated(p) for p in passage_sentences):
        return "adds a negation the passage does not have"
    if not negated:
        want = stems(sentence)
        for p in passage_sentences:
            for target in negated_phrases(p):
                shared = len(want & stems(p)) / len(want) if want else 0.0
                if shared >= 0.6 and len(target & want) >= min(2, len(target)):
                    return f"drops the negation of {p!r}"
    return ""


@dataclass(frozen=True)
class Support:
    """Everything measured about one sentence and its cited passage."""

    sentence: str
    verbatim: bool
    numbers_ok: bool
    missing_numbers: tuple[str, ...] = ()
    cosine: float = 1.0  # best window
    lexical: float = 1.0  # best window
    contradiction: str = ""
    best_window: str = ""


@dataclass(frozen=True)
class Calibration:
    """Calibrated decision rule for "this sentence is supported by its passage"."""

    alpha: float
    threshold: float
    use_contradiction: bool
    accuracy: float
    balanced_accuracy: float
    cv_accuracy: float
    false_supported: int  # unsupported pairs the rule would accept
    false_unsupported: int  # supported pairs the rule would reject
    n: int
    labels_sha256: str = ""
    embedder: str = ""

    def score(self, support: Support) -> float:
        """The combined similarity score (1.0 for a verbatim quote)."""
        if support.verbatim:
            return 1.0
        return self.alpha * support.cosine + (1 - self.alpha) * support.lexical

    def supported(self, support: Support) -> bool:
        """Verbatim, or: numbers check out, no contradiction cue (if used) and a high enough score."""
        if support.verbatim:
            return True
        if not support.numbers_ok or (self.use_contradiction and support.contradiction):
            return False
        return self.score(support) >= self.threshold

    def why(self, support: Support) -> str:
        """A short reason for the decision (for reports)."""
        if support.verbatim:
            return "quoted verbatim from the cited passage"
        if not support.numbers_ok:
            return f"figure(s) {', '.join(repr(m) for m in support.missing_numbers)} not in the cited passage"
        if self.use_contradiction and support.contradiction:
            return f"contradicts the cited passage: {support.contradiction}"
        op = "≥" if self.score(support) >= self.threshold else "<"
        return f"support {self.score(support):.3f} {op} {self.threshold:.3f}"

    def to_json_dict(self) -> dict:
        """A JSON-ready dict."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def describe(self) -> str:
        """One line for reports."""
        return (
            f"supported when quoted verbatim, or when every number occurs in the passage"
            f"{', no contradiction cue is found' if self.use_contradiction else ''} and "
            f"{self.alpha:.2f}·cosine + {1 - self.alpha:.2f}·lexical ≥ {self.threshold:.3f} "
            f"(accuracy {self.accuracy:.1%}, cross-validated {self.cv_accuracy:.1%}, on {self.n} labelled pairs)"
        )


@dataclass(frozen=True)
class LabelledPair:
    """One hand-labelled sentence–passage pair."""

    id: str
    sentence: str
    passage: str
    supported: bool
    note: str = ""
    line: int = 0


def load_labels(path: Path | str) -> list[LabelledPair]:
    """Read the hand-labelled calibration set; errors name the line."""
    path = Path(path)
    pairs: list[LabelledPair] = []
    seen: dict[str, int] = {}
    for line, obj in parse_jsonl(path):
        pid = obj.get("id")
        if not isinstance(pid, str) or not pid:
            raise DataFileError(path, f"'id' must be a non-empty string, got {pid!r}", line)
        if pid in seen:
            raise DataFileError(path, f"duplicate id {pid!r} (first used on line {seen[pid]})", line)
        seen[pid] = line
        for key in ("sentence", "passage"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise DataFileError(path, f"pair {pid!r}: {key!r} must be non-empty text", line)
        if obj.get("label") not in LABELS:
            raise DataFileError(path, f"pair {pid!r}: 'label' must be one of {', '.join(LABELS)}, got {obj.get('label')!r}", line)
        unknown = set(obj) - {"id", "sentence", "passage", "label", "note"}
        if unknown:
            raise DataFileError(path, f"pair {pid!r}: unknown key(s) {', '.join(sorted(map(repr, unknown)))}", line)
        pairs.append(LabelledPair(pid, obj["sentence"], obj["passage"], obj["label"] == "supported", obj.get("note", ""), line))
    if not pairs:
        raise DataFileError(path, "no labelled pairs found (the file is empty)")
    kinds = {p.supported for p in pairs}
    if kinds != {True, False}:
        raise DataFileError(path, "the calibration set needs both supported and unsupported pairs")
    return pairs


def file_sha256(path: Path | str) -> str:
    """Hex digest of a file (recorded so a report says which labels calibrated it)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class SupportMeasurer:
    """Computes Support features, embedding each distinct text once."""

    def __init__(self, embed: EmbedFn):
        self._embed = embed
        self._vectors: dict[str, np.ndarray] = {}

    def _ensure(self, texts: Sequence[str]) -> None:
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            vectors = np.asarray(self._embed(missing), dtype=np.float32)
            for text, vec in zip(missing, vectors):
                norm = float(np.linalg.norm(vec))
                self._vectors[text] = vec / norm if norm else vec

    def measure(self, items: Sequence[tuple[str, str]]) -> list[Support]:
        """Features of each (sentence, passage) pair, in order; one embedding batch for all of them.

        Only the windows that share the most words with the sentence are embedded (the
        supporting window always shares many), which keeps a whole run to a few seconds.
        """
        prepared = []
        needed: list[str] = []
        for sentence, passage in items:
            verbatim = bool(_norm(sentence)) and _norm(sentence) in _norm(passage)
            if verbatim:
                prepared.append((sentence, passage, True, [], []))
                continue
            windows = passage_windows(passage)
            want = stems(sentence)
            lexicals = [len(want & stems(w)) / len(want) if want else 1.0 for w in windows]
            ranked = sorted(range(len(windows)), key=lambda i: (-lexicals[i], i))[:EMBEDDED_WINDOWS]
            prepared.append((sentence, passage, False, [windows[i] for i in ranked], [lexicals[i] for i in ranked]))
            needed.append(sentence)
            needed.extend(windows[i] for i in ranked)
        self._ensure(needed)
        out: list[Support] = []
        for sentence, passage, verbatim, windows, lexicals in prepared:
            missing = missing_figures(sentence, passage)
            if verbatim:
                out.append(Support(sentence, True, not missing, missing))
                continue
            svec = self._vectors[sentence]
            cosines = [float(np.dot(svec, self._vectors[w])) for w in windows]
            best = int(np.argmax(cosines))
            singles = [s for p in _PIECES.split(passage) for s in split_sentences(p)]
            out.append(Support(
                sentence, False, not missing, missing,
                round(max(cosines), 6), round(max(lexicals), 6), contradiction(sentence, singles), windows[best],
            ))
        return out


# -- calibration --------------------------------------------------------------------------

_ALPHAS = tuple(round(a * 0.05, 2) for a in range(21))
FALSE_SUPPORTED_COST = 2


def _fit(supports: Sequence[Support], labels: Sequence[bool]) -> tuple[float, float, bool, tuple]:
    """Grid search for (alpha, threshold, use_contradiction); deterministic tie-breaking."""
    y = np.array(labels, dtype=bool)
    verbatim = np.array([s.verbatim for s in supports], dtype=bool)
    numbers_ok = np.array([s.numbers_ok for s in supports], dtype=bool) | verbatim
    cues = np.array([bool(s.contradiction) for s in supports], dtype=bool) & ~verbatim
    cos = np.array([s.cosine for s in supports])
    lex = np.array([s.lexical for s in supports])
    best = None
    for use_contradiction in (False, True):
        eligible = numbers_ok & ~(cues if use_contradiction else np.zeros_like(cues))
        for alpha in _ALPHAS:
            scores = np.where(verbatim, 1.0, alpha * cos + (1 - alpha) * lex)
            uniq = np.unique(scores)
            candidates = np.concatenate(([uniq[0] - 1e-6], (uniq[:-1] + uniq[1:]) / 2, [uniq[-1] + 1e-6]))
            for t in candidates:
                pred = eligible & (scores >= t)
                tp = int(np.sum(pred & y))
                tn = int(np.sum(~pred & ~y))
                fp = int(np.sum(pred & ~y))
                fn = int(np.sum(~pred & y))
                pos, neg = max(tp + fn, 1), max(tn + fp, 1)
                balanced = (tp / pos + tn / neg) / 2
                margin = float(np.min(np.abs(scores[eligible & ~verbatim] - t))) if (eligible & ~verbatim).any() else 0.0
                # Accepting an unsupported sentence is the worse error (it is what the metric exists
                # to catch), so it costs twice a rejected supported one. Ties: fewer accepted
                # unsupported, a threshold far from every labelled score, the simpler rule.
                cost = FALSE_SUPPORTED_COST * fp + fn
                key = (-cost, -fp, round(margin, 9), not use_contradiction, -abs(alpha - 0.5))
                if best is None or key > best[0]:
                    best = (key, float(alpha), float(t), use_contradiction, (tp, tn, fp, fn, balanced))
    _, alpha, t, use_contradiction, counts = best
    return alpha, t, use_contradiction, counts


def calibrate(
    pairs: Sequence[LabelledPair],
    measurer: SupportMeasurer,
    *,
    labels_sha256: str = "",
    embedder: str = "",
    folds: int = 5,
) -> Calibration:
    """Fit the decision rule on labelled pairs; also report k-fold cross-validated accuracy."""
    supports = measurer.measure([(p.sentence, p.passage) for p in pairs])
    labels = [p.supported for p in pairs]
    alpha, t, use_contradiction, (tp, tn, fp, fn, balanced) = _fit(supports, labels)
    # Cross-validation: folds by position, so the result is reproducible.
    correct = 0
    for k in range(folds):
        train = [i for i in range(len(pairs)) if i % folds != k]
        test = [i for i in range(len(pairs)) if i % folds == k]
        if not test or len({labels[i] for i in train}) < 2:
            continue
        a, th, cue, _ = _fit([supports[i] for i in train], [labels[i] for i in train])
        rule = Calibration(a, th, cue, 0, 0, 0, 0, 0, 0)
        correct += sum(rule.supported(supports[i]) == labels[i] for i in test)
    return Calibration(
        alpha=alpha,
        threshold=round(t, 6),
        use_contradiction=use_contradiction,
        accuracy=(tp + tn) / len(pairs),
        balanced_accuracy=balanced,
        cv_accuracy=correct / len(pairs),
        false_supported=fp,
        false_unsupported=fn,
        n=len(pairs),
        labels_sha256=labels_sha256,
        embedder=embedder,
    )


def load_pinned(path: Path | str, labels_path: Path | str, embedder: str) -> Calibration | None:
    """A committed calibration, if it was made from these labels with this embedder (else None)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pinned = Calibration(**data)
    except (json.JSONDecodeError, TypeError) as exc:
        raise DataFileError(path, f"not a groundedness calibration ({exc})") from None
    if pinned.labels_sha256 != file_sha256(labels_path) or pinned.embedder != embedder:
        return None
    return pinned


def calibrate_file(path: Path | str, embed: EmbedFn, embedder_name: str = "") -> tuple[Calibration, list[LabelledPair], list[Support]]:
    """Load a labels file and calibrate on it; returns the calibration, the pairs and their features."""
    pairs = load_labels(path)
    measurer = SupportMeasurer(embed)
    calibration = calibrate(pairs, measurer, labels_sha256=file_sha256(path), embedder=embedder_name)
    supports = measurer.measure([(p.sentence, p.passage) for p in pairs])
    return calibration, pairs, supports
