"""The claim-level grounding gate: every generated sentence must earn its place.

A sentence is kept only when

1. it gives no dose amount or schedule (strict, as for a dosing request: a generative
   model never gets the benefit of the doubt) and asserts no approval/safety/cure claim
   (the output guard's own patterns);
2. it carries at least one ``[n]`` and every ``n`` is one of the passages the model was given;
3. at least one cited passage supports it, by the evaluation suite's calibrated rule
   (``bot.evaluation.groundedness``: embedding similarity plus content-word overlap,
   every figure present in the passage, no contradiction cue), with the pinned
   calibration ``tests/eval/groundedness_calibration.json``; no new thresholds here.

``GatedAnswer`` applies the gate to sentences in the order the model writes them and
decides what may be shown. Nothing is shown until the kept share of judged sentences
reaches ``min_kept_ratio`` (with at least one kept); from then on each kept sentence is
released at once and never retracted, and generation stops as soon as the share falls
below the ratio again (the model has drifted off its sources). An answer that never
qualifies (or can no longer qualify within ``max_sentences``) falls back to the
extractive composer. ``reply`` and ``stream`` run the same
procedure, so what the evaluation suite scores is what a visitor sees.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..compose import Draft
from ..errors import ConfigError
from ..evaluation.groundedness import (
    Calibration,
    SupportMeasurer,
    calibrate,
    file_sha256,
    load_labels,
    load_pinned,
)
from ..evaluation.scoring import answer_sentences
from ..guard.output import claim_hits, dose_hits, is_dose_advice
from ..schema import SentenceTrace
from ..text import citation_markers, split_sentences, strip_markdown
from .passages import Passage

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]

# Why a sentence was dropped (trace and evaluation keys).
DROP_REASONS = (
    "dose",  # a dose amount or schedule
    "unsupported_claim",  # "approved by regulators", "harmless", "cures…"
    "no_citation",  # no [n] at all
    "invented_citation",  # cites a number that was not among the passages (e.g. [7] of 3)
    "figures",  # a number the cited passage does not contain
    "contradiction",  # says the opposite of its passage
    "not_supported",  # too little similarity with the cited passage
    "repeated",  # the same sentence again
    "unsplittable",  # would not read back as one cited sentence
)
_MARKERS = re.compile(r"\s*\[\d{1,3}\]")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_LETTER = re.compile(r"[A-Za-zÀ-ÿ]")


def plain_sentence(raw: str) -> str:
    """A generated sentence as it will be shown, without markers or Markdown, ending with punctuation."""
    text = _HEADING.sub("", raw)
    text = _BULLET.sub("", text)
    text = strip_markdown(_MARKERS.sub("", text))
    text = " ".join(text.replace("**", "").replace("__", "").split()).strip()
    if text and text[-1] not in ".!?":
        text = text.rstrip(",;:–—-").rstrip() + "."
    return text


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one generated sentence."""

    raw: str  # as the model wrote it
    plain: str  # as it would be shown (no markers)
    cited: tuple[int, ...]  # passage numbers the model wrote
    kept: bool
    reason: str  # "supported" or one of DROP_REASONS ("" for text that is not a sentence)
    why: str = ""  # a short human explanation
    supporting: tuple[int, ...] = ()  # cited passages that support it
    score: float | None = None
    chunk_id: str | None = None
    counted: bool = True  # False for fragments with no words (they do not count against the model)

    def to_trace(self) -> dict:
        """What staff see in the trace for this sentence."""
        return {
            "sentence": self.raw,
            "kept": self.kept,
            "reason": self.reason,
            "why": self.why,
            "cited": list(self.cited),
            "supporting": list(self.supporting),
            "score": None if self.score is None else round(self.score, 4),
        }


class GroundingGate:
    """Judges one generated sentence against the numbered passages the model was shown."""

    def __init__(self, passages: Sequence[Passage], calibration: Calibration, measurer: SupportMeasurer):
        self.passages = {p.n: p for p in passages}
        self.calibration = calibration
        self.measurer = measurer

    def judge(self, raw: str) -> Verdict:
        """Keep or drop one sentence, with the reason."""
        plain = plain_sentence(raw)
        cited = tuple(dict.fromkeys(citation_markers(raw)))
        if not _LETTER.search(plain):
            return Verdict(raw, plain, cited, False, "", "no words", counted=False)
        if is_dose_advice(plain, strict=True):
            return Verdict(raw, plain, cited, False, "dose", f"dose amount or schedule {dose_hits(plain)[0]!r}")
        claims = claim_hits(plain)
        if claims:
            return Verdict(raw, plain, cited, False, "unsupported_claim", f"asserts {claims[0]!r}")
        if not cited:
            return Verdict(raw, plain, cited, False, "no_citation", "no [n] citation")
        invented = [n for n in cited if n not in self.passages]
        if invented:
            top = max(self.passages) if self.passages else 0
            return Verdict(
                raw, plain, cited, False, "invented_citation",
                f"cites [{invented[0]}], but only passages 1-{top} were given",
            )
        supports = self.measurer.measure([(plain, self.passages[n].text) for n in cited])
        rule = self.calibration
        ok = [(n, s) for n, s in zip(cited, supports) if rule.supported(s)]
        if ok:
            best_n, best = max(ok, key=lambda item: rule.score(item[1]))
            return Verdict(
                raw, plain, cited, True, "supported", rule.why(best), tuple(n for n, _ in ok),
                rule.score(best), _chunk_of(self.passages[best_n], best.best_window or plain),
            )
        best = max(supports, key=rule.score)
        if not best.numbers_ok:
            reason = "figures"
        elif rule.use_contradiction and best.contradiction:
            reason = "contradiction"
        else:
            reason = "not_supported"
        return Verdict(raw, plain, cited, False, reason, rule.why(best), (), rule.score(best))


def _chunk_of(passage: Passage, window: str) -> str:
    """The chunk of a passage that holds the best-matching window (its first sentence)."""
    first = split_sentences(window)[:1]
    probe = " ".join(first[0].split()) if first else ""
    for chunk in passage.chunks:
        if probe and probe in " ".join(chunk.text.split()):
            return chunk.chunk_id
    return passage.chunks[0].chunk_id


class GatedAnswer:
    """Sentences of one generated answer, judged in order; what may be shown, and the final draft."""

    def __init__(self, gate: GroundingGate, *, min_kept_ratio: float, max_sentences: int):
        self.gate = gate
        self.min_kept_ratio = min_kept_ratio
        self.max_sentences = max_sentences
        self.verdicts: list[Verdict] = []
        self.kept: list[Verdict] = []
        self.committed = False  # true once text may be shown
        self.stopped = ""  # why the gate asked to stop reading: "drift" | "max_sentences" | "cannot_qualify"
        self._numbers: dict[int, int] = {}  # passage number in the prompt -> citation number in the reply
        self._seen: set[str] = set()

    @property
    def judged(self) -> int:
        """Sentences that count for the kept share."""
        return sum(v.counted for v in self.verdicts)

    @property
    def dropped(self) -> list[Verdict]:
        """Counted sentences the gate removed."""
        return [v for v in self.verdicts if v.counted and not v.kept]

    @property
    def ratio(self) -> float:
        """Kept share of judged sentences (0 when none was judged)."""
        return len(self.kept) / self.judged if self.judged else 0.0

    def add(self, raw: str) -> bool:
        """Judge the next sentence; True when the text to show has grown."""
        if self.stopped:
            return False
        verdict = self.gate.judge(raw)
        if verdict.kept:
            key = " ".join(re.findall(r"[a-z0-9]+", verdict.plain.lower()))
            if key in self._seen:
                verdict = replace(verdict, kept=False, reason="repeated", why="the same sentence was already kept")
            else:
                marked = self._mark(verdict, self._numbers_with(verdict))
                pieces = split_sentences(marked)
                if pieces != [marked] or len(answer_sentences(marked)) != 1:
                    verdict = replace(verdict, kept=False, reason="unsplittable", why="does not read back as one sentence")
                else:
                    self._seen.add(key)
        self.verdicts.append(verdict)
        if not verdict.counted:
            return False
        grew = False
        if verdict.kept:
            self.kept.append(verdict)
            self._numbers = self._numbers_with(verdict)
            grew = self.committed
        if not self.committed and self.kept and self.ratio >= self.min_kept_ratio:
            self.committed = grew = True
        if self.committed and self.ratio < self.min_kept_ratio:
            self.stopped = "drift"
        elif len(self.kept) >= self.max_sentences:
            self.stopped = "max_sentences"
        elif not self.committed and self._cannot_qualify():
            self.stopped = "cannot_qualify"
        return grew

    def _cannot_qualify(self) -> bool:
        """Even if every further sentence passed, the kept share could not reach the ratio within the sentence cap."""
        room = self.max_sentences - len(self.kept)
        return self.min_kept_ratio > 0 and self.max_sentences < self.min_kept_ratio * (self.judged + room)

    def _numbers_with(self, verdict: Verdict) -> dict[int, int]:
        numbers = dict(self._numbers)
        for n in verdict.supporting:
            numbers.setdefault(n, len(numbers) + 1)
        return numbers

    @staticmethod
    def _mark(verdict: Verdict, numbers: dict[int, int]) -> str:
        marks = " ".join(f"[{numbers[n]}]" for n in sorted(set(verdict.supporting), key=lambda n: numbers[n]))
        return f"{verdict.plain[:-1]} {marks}{verdict.plain[-1]}"

    def text(self) -> str:
        """The kept sentences with their citation numbers, as one paragraph (empty until committed)."""
        if not self.committed:
            return ""
        return " ".join(self._mark(v, self._numbers) for v in self.kept)

    def draft(self) -> Draft:
        """The kept answer as a Draft (source "llm")."""
        passages = self.gate.passages
        order = sorted(self._numbers.items(), key=lambda item: item[1])
        citations = tuple(passages[n].citation(m) for n, m in order)
        traces = tuple(
            SentenceTrace(
                sentence=v.plain,
                chunk_id=v.chunk_id,
                citation=min(self._numbers[n] for n in v.supporting),
                support=None if v.score is None else round(v.score, 4),
            )
            for v in self.kept
        )
        topics = frozenset(t for n, _ in order for t in passages[n].topics)
        return Draft(self.text(), citations, traces, "llm", {"generator": "llm"}, topics)


class SentenceSplitter:
    """Cuts streamed text into sentences, releasing each one only when nothing can still change it.

    Markers are kept on the sentence they belong to, with the evaluation scorer's rules:
    a ``[n]`` after a full stop ("… reduced. [2] Most …") or alone on the next line belongs
    to the sentence before it. A marker that opens a line ("[2] Kratom is … It is …"), the
    other common citation style, cites every unmarked sentence of that line. A sentence is
    complete once the text after it has begun with a word, or the line or stream has ended.
    """

    def __init__(self) -> None:
        self._text = ""
        self._line = ""  # the line being received
        self._done = 0  # pieces of that line already handed out
        self._pending: str | None = None  # the last sentence of the previous line, held for a marker-only line

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the sentences that are now complete."""
        self._text += text
        self._line += text
        out: list[str] = []
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            out += self._take(line, final=True)
            self._done = 0
        return out + self._take(self._line, final=False)

    def finish(self) -> list[str]:
        """The sentences left when the stream has ended."""
        out = self._take(self._line, final=True) + self._flush()
        self._line, self._done = "", 0
        return out

    @property
    def text(self) -> str:
        """Everything received so far."""
        return self._text

    def _flush(self) -> list[str]:
        pending, self._pending = self._pending, None
        return [pending] if pending else []

    def _take(self, line: str, final: bool) -> list[str]:
        stripped = line.strip()
        if not stripped:
            return self._flush() if final else []
        if _ONLY_MARKERS.fullmatch(stripped) or (not final and _OPEN_MARKER.fullmatch(stripped)):
            if not final:
                return []  # a marker-only line, or the start of one: wait for the rest
            if self._pending is not None:
                self._pending = f"{self._pending} {stripped}"
            return self._flush()
        out = self._flush()  # a new line with words: the previous line's last sentence is complete
        lead = _LEAD.match(line)
        markers = lead.group(1).split() if lead else []
        pieces = answer_sentences(line[lead.end():] if lead else line)
        if final:
            ready = pieces[self._done :]
            self._done = len(pieces)
            if ready:
                self._pending = _with(ready.pop(), markers)
        else:
            safe = len(pieces) - 1
            if pieces and pieces[-1].lstrip().startswith("["):
                safe -= 1  # the piece may be a marker that still belongs to the sentence before
            ready = pieces[self._done : max(safe, self._done)]
            self._done = max(safe, self._done)
        return out + [_with(piece, markers) for piece in ready]


_ONLY_MARKERS = re.compile(r"(?:\[\d{1,3}\]\s*)+")
_OPEN_MARKER = re.compile(r"(?:\[\d{1,3}\]\s*)*\[?\d{0,3}")
_LEAD = re.compile(r"^\s*((?:\[\d{1,3}\]\s*)+)(?=\S)")


def _with(piece: str, markers: list[str]) -> str:
    """A sentence with the line's opening markers, unless it has markers of its own."""
    if not markers or citation_markers(piece):
        return piece
    return f"{piece} {' '.join(markers)}"


class CalibrationSource:
    """The groundedness rule the gate uses, loaded once, lazily.

    The pinned calibration is used when it was made from the labels file and with this
    embedder (as ``kratom-bot eval`` does); otherwise the rule is calibrated afresh on the
    labels, deterministically. Without the labels file, the pin is trusted if its embedder
    matches.
    """

    def __init__(self, calibration_path: Path, labels_path: Path, embed: EmbedFn, embedder_name: str):
        self.calibration_path = Path(calibration_path)
        self.labels_path = Path(labels_path)
        self._embed = embed
        self._embedder_name = embedder_name
        self._rule: Calibration | None = None
        self._lock = threading.Lock()

    def get(self) -> Calibration:
        """The rule (loaded or calibrated on first use)."""
        with self._lock:
            if self._rule is None:
                self._rule = self._load()
            return self._rule

    def _load(self) -> Calibration:
        if self.labels_path.exists():
            pinned = load_pinned(self.calibration_path, self.labels_path, self._embedder_name)
            if pinned is not None:
                log.info("grounding gate: pinned calibration %s", self.calibration_path)
                return pinned
            log.warning(
                "grounding gate: %s does not match %s and embedder %r; calibrating on the labels now",
                self.calibration_path, self.labels_path, self._embedder_name,
            )
            return calibrate(
                load_labels(self.labels_path), SupportMeasurer(self._embed),
                labels_sha256=file_sha256(self.labels_path), embedder=self._embedder_name,
            )
        if self.calibration_path.exists():
            try:
                pinned = Calibration(**json.loads(self.calibration_path.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ConfigError(f"{self.calibration_path}: not a groundedness calibration ({exc})") from None
            if pinned.embedder == self._embedder_name:
                return pinned
            raise ConfigError(
                f"the grounding gate's calibration {str(self.calibration_path)!r} was made for embedder "
                f"{pinned.embedder!r}, not {self._embedder_name!r}, and the labels file {str(self.labels_path)!r} "
                "to recalibrate from is missing (set KRATOMBOT_LLM_GATE_LABELS)"
            )
        raise ConfigError(
            f"the grounding gate needs a calibration: neither {str(self.calibration_path)!r} nor "
            f"{str(self.labels_path)!r} exists (set KRATOMBOT_LLM_GATE_CALIBRATION / KRATOMBOT_LLM_GATE_LABELS)"
        )
