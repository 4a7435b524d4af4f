"""The output guard: runs on every reply, whichever generator wrote it.

* Dose scan: a sentence giving a kratom/7-OH amount or schedule as advice is removed.
  Figures clearly attributed to a reported finding may stay, except in reply to a
  dosing request.
* Claim scan: unsupported safety or approval claims ("approved by regulators",
  "harmless", "cures arthritis") are removed unless the sentence negates them.
* Citation check: every [n] must resolve to a source retrieved for this reply; orphan
  markers and unused sources are removed and the rest renumbered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..compose import Draft
from ..schema import Citation, GuardDecision, RetrievedChunk, SentenceTrace
from ..text import fold, split_sentences

_NUM = r"(?:\d*[½¼¾⅓⅔]|\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|fifty|hundred|half|a half|a quarter|a couple of|a few|few|several|a|an|un|une|una|uno|um|uma|ein|eine|einen|einem|demi|media|meia|halbe?n?)"
_RANGE = rf"{_NUM}(?:\s*(?:-|–|—|to|or|/|⁄)\s*{_NUM})?"
_UNIT = (
    r"(?:g|grs?|gms?|grams?|grammes?|gramos?|gramas?|gramm|mgs?|milligrams?|miligramos?|miligramas?|milligrammes?|mcg|µg|μg|ug|"
    r"ml|millilit(?:er|re)s?|tsps?|teaspoons?|teaspoonfuls?|tbsps?|tablespoons?|tablespoonfuls?|spoons?|spoonfuls?|"
    r"scoops?|capsules?|caps|pills?|tablets?|tabs|shots?|drops?|gumm(?:y|ies)|cups?|cucharadas?|cucharaditas?|colheres?|"
    r"cuilleres?|cuillères?|löffel|teelöffel|kapseln?|cápsulas?|comprimidos?|comprimés?|tabletten?)"
)
DOSE_PATTERNS = [
    re.compile(rf"(?<![\w-]){_RANGE}(?:\s*|-)(?:(?:heaping|heaped|level|rounded|full|flat|big|small|large|whole|generous)\s+)?{_UNIT}(?![\w])", re.I),
    re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:mg|g|mcg|µg|μg)\s*(?:/|per)\s*(?:kg|kilo(?:gram)?s?|lbs?|pounds?)\b", re.I),
    re.compile(r"\bper\s+(?:kg|kilogram|pound)\s+of\s+body", re.I),
    re.compile(r"\bevery\s+(?:\d+(?:\s*(?:-|–|to)\s*\d+)?|one|two|three|four|five|six|eight|few|couple of)\s*(?:h|hrs?|hours?|days?)\b", re.I),
    re.compile(
        r"\b(?:once|twice|thrice|(?:\d+|one|two|three|four|five|six)\s*(?:x|times))\s*(?:a|per|each|every)?\s*"
        r"(?:day|daily|week|weekly|morning|evening|night)\b",
        re.I,
    ),
    re.compile(r"\b(?:twice|once|three times)\s+daily\b", re.I),
    re.compile(r"\b(?:reduce|cut|lower|decrease|drop|taper)\w*\b.{0,40}\bby\s+\d+\s*(?:%|percent|g\b|grams?|mg)", re.I),
    re.compile(r"\b\d+\s*(?:%|percent)\s+(?:each|every|per)\s+(?:day|week|few days)\b", re.I),
]
_ATTRIBUTION = re.compile(
    r"\b(case reports?|case series|stud(?:y|ies)|survey|surveys|trial|trials|patients?|participants|respondents|"
    r"reported|described|researchers|investigators|analysis|analyses|found|according to|published|autopsy|"
    r"toxicology|poison cent(?:er|re)s?)\b",
    re.I,
)
_ADVICE = re.compile(
    r"\b(you|your|yourself|should|recommend\w*|start(?:ing)?\s+(?:with|at|low)|try|beginners?|starter|safe\s+(?:dose|amount)|"
    r"no more than|at most|do not exceed|don't exceed|ideal|optimal|best dose|take|redose|dose yourself|aim for)\b",
    re.I,
)

_NEGATION = re.compile(
    r"\b(not|no|never|neither|nor|none|false|myths?|claims?|claimed|unproven|unsupported|misleading|incorrect|"
    r"untrue|wrong|despite|without|lacks?|cannot be|isn't|aren't|hasn't|haven't|doesn't|don't|didn't|won't)\b|n't\b",
    re.I,
)
CLAIM_PATTERNS = [
    re.compile(r"\b(fda|regulators?|government|dea|health authorities|health canada|the ema|authorities)\b.{0,60}\b(approved?|approves|endorse[sd]?|certified|cleared)\b", re.I),
    re.compile(r"\b(approved|endorsed|cleared)\b.{0,30}\b(by|from)\b.{0,20}\b(fda|regulators?|government|dea|authorities)\b", re.I),
    re.compile(r"\b(kratom|7-?oh|mitragynine|this plant|the plant|kratom products?|the leaf)\b.{0,40}\b(is|are|'s)\b.{0,25}\b(completely |totally |perfectly |entirely |100% )?(safe|harmless|non-?addictive|risk[- ]free|side[- ]effect[- ]free)\b", re.I),
    re.compile(r"\b(cures?|treats?|heals?|reverses?|fixes)\b.{0,40}\b(arthritis|inflammation|hyperpigmentation|dark spots|melasma|cancer|addiction|opioid use disorder|depression|anxiety|diabetes)\b", re.I),
    re.compile(r"\b(can'?t|cannot|can not|impossible to|no way to)\s+overdose\b", re.I),
    re.compile(r"\bno (known )?side effects\b", re.I),
    re.compile(r"\b(nobody|no one|no-one) (has )?(ever )?died\b", re.I),
]
# For these two, the pattern itself contains a negation word, so only explicit debunking keeps them.
_DEBUNK = re.compile(r"\b(myths?|claims?|claimed|false|untrue|incorrect|wrong|misleading|unsupported|not true|is not accurate)\b", re.I)
_SELF_NEGATED = {4, 5, 6}

_MARKER = re.compile(r"\s?\[(\d{1,3})\]")


def dose_hits(sentence: str) -> list[str]:
    """Dose quantities or schedules found in a sentence."""
    # NFKC first: full-width digits and units ("５ｇ") and fractions ("½") must not hide an amount.
    text = unicodedata.normalize("NFKC", sentence).replace("\u00a0", " ")
    # Phone numbers and dates must not look like amounts.
    text = re.sub(r"\b1-800-\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b", " ", text)
    consuming = bool(_CONSUME.search(text) or _ADVICE.search(text))  # "a gram is plenty for a beginner"
    return [m.group(0) for p in DOSE_PATTERNS for m in p.finditer(text) if _is_amount(m.group(0), consuming)]


_CONSUME = re.compile(
    r"\b(take|takes|taking|took|use|uses|used|using|eat|eats|swallow\w*|mix\w*|drink\w*|dos(?:e|es|ed|ing)|start\w*|"
    r"redos\w*|consum\w*|chew\w*|brew\w*|toss and wash|tom[ao]r?|tomo|prend\w*|nehm\w*|engul\w*|aval\w*|trop|"
    r"suffit|reicht|zu viel|first time|premi[eè]re fois|primera vez|primeira vez|erste[sn]? mal)\b",
    re.I,
)
_VAGUE = re.compile(r"^(a|an|a few|few|several|a couple of|un|une|una|uno|um|uma|ein|eine|einen|einem)\s", re.I)


def _is_amount(found: str, consuming: bool) -> bool:
    low = found.lower().strip()
    # "a g" / "an mg" never occur in prose: an article needs a spelled-out unit after it.
    if re.fullmatch(r"(a|an|few|several)\s*(g|gr|gms?|mg|ml|caps|tabs|ug)", low):
        return False
    # "sold as a shot" is description; "take a teaspoon" is an amount.
    if re.match(r"(a couple of|a half|a quarter)\b", low):  # as exact as a number ("a couple of grams")
        return True
    if _VAGUE.match(low):
        return consuming
    return True


_PARTS = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")


def is_dose_advice(sentence: str, strict: bool) -> bool:
    """Whether a sentence gives a dose amount or schedule that reads as guidance.

    In strict mode (reply to a dosing request) any amount counts. Otherwise a figure
    that is clearly a reported finding, with no advice wording, may stay.
    """
    if not dose_hits(sentence):
        return False
    # "Use it every 2 h. Case reports ..." reaches us as one sentence ("h." looks like an abbreviation):
    # judge each part, so attribution in one part cannot cover advice in another.
    parts = _PARTS.split(sentence)
    if len(parts) > 1:
        return any(is_dose_advice(part, strict) for part in parts)
    if strict:
        return True
    return not (_ATTRIBUTION.search(sentence) and not _ADVICE.search(sentence))


def claim_hits(sentence: str) -> list[str]:
    """Unsupported approval/safety/cure claims asserted (not negated) by a sentence."""
    hits = []
    folded = fold(sentence)
    for i, pattern in enumerate(CLAIM_PATTERNS):
        m = pattern.search(folded)
        if not m:
            continue
        if i in _SELF_NEGATED:
            if _DEBUNK.search(folded):
                continue
        elif _NEGATION.search(folded):
            continue
        hits.append(m.group(0))
    return hits


@dataclass
class CheckResult:
    """The checked draft and what the guard changed."""

    draft: Draft
    refused: bool = False
    report: dict = field(default_factory=dict)


class OutputGuard:
    """Checks every reply before it is shown."""

    def __init__(self, refusal_text: str | None = None, no_answer_text: str | None = None):
        self.refusal_text = refusal_text or "I can't give dosing guidance for kratom or 7-OH products."
        self.no_answer_text = no_answer_text or "I couldn't find a reliable answer to that in my sources."

    def check(self, draft: Draft, decision: GuardDecision, retrieved: list[RetrievedChunk]) -> CheckResult:
        """Remove dose advice, unsupported claims and broken citations; renumber the rest."""
        strict = decision.label == "dosing_request"
        valid_chunks = {r.chunk_id for r in retrieved}
        by_n: dict[int, Citation] = {
            c.n: c for c in draft.citations if c.chunk_ids and set(c.chunk_ids) <= valid_chunks
        }
        if not valid_chunks:
            by_n = {}
        removed: list[dict] = []
        orphans: list[int] = []
        renumber: dict[int, int] = {}
        kept_citations: list[Citation] = []
        kept_sentences = 0
        lines_out = []
        trace_by_sentence = {s.sentence: s for s in draft.sentences}
        kept_traces: list[SentenceTrace] = []
        def fix(m: re.Match) -> str:
            n = int(m.group(1))
            if n not in by_n:
                orphans.append(n)
                return ""
            if n not in renumber:
                renumber[n] = len(renumber) + 1
                kept_citations.append(by_n[n].model_copy(update={"n": renumber[n]}))
            return f" [{renumber[n]}]"

        for line in draft.text.split("\n"):
            prefix_match = re.match(r"^(\s*(?:[-*•]|\d+[.)])\s+)", line)
            prefix = prefix_match.group(1) if prefix_match else ""
            out = []
            dropped_last = False
            for sentence in split_sentences(line[len(prefix):]):
                plain = _MARKER.sub("", sentence).strip()
                if not plain:  # a marker written after the full stop belongs to the sentence before it
                    if out and not dropped_last:
                        out[-1] = out[-1] + _MARKER.sub(lambda m: fix(m), " " + sentence).rstrip()
                    continue
                dropped_last = True
                if is_dose_advice(plain, strict):
                    removed.append({"sentence": plain, "why": "dose", "found": dose_hits(plain)})
                    continue
                claims = claim_hits(plain)
                if claims:
                    removed.append({"sentence": plain, "why": "unsupported_claim", "found": claims})
                    continue

                fixed = _MARKER.sub(fix, sentence)
                out.append(fixed)
                dropped_last = False
                if _MARKER.search(sentence) or plain in trace_by_sentence:
                    kept_sentences += 1
                t = trace_by_sentence.get(plain)
                if t is not None:
                    kept_traces.append(t.model_copy(update={"citation": renumber.get(t.citation) if t.citation else None}))
            if out or not line.strip():
                lines_out.append(prefix + " ".join(out) if out else "")
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines_out)).strip()
        unused = [c.n for c in draft.citations if c.n not in renumber]
        refused = False
        if removed and not text:
            refused = any(r["why"] == "dose" for r in removed)
            text = self.refusal_text if refused else self.no_answer_text
        elif removed and any(r["why"] == "dose" for r in removed) and kept_sentences == 0 and draft.source in ("documents", "faq", "llm"):
            refused = True
            text = f"{self.refusal_text}\n\n{text}".strip()
        checked = Draft(text, tuple(kept_citations), tuple(kept_traces), draft.source, draft.detail, draft.topics)
        report = {"removed": removed, "orphan_markers": sorted(set(orphans)), "unused_sources": unused}
        return CheckResult(checked, refused, report)
