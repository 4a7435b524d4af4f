"""The input guard: judges each user turn in the context of the conversation.

Layers, each testable on its own:

1. ``normalize``  — Unicode, leetspeak, spacing and alias tricks undone.
2. ``rules``      — unambiguous patterns in five languages (emergencies, dosing, injection).
3. ``classifier`` — logistic regression over the shared query embedding plus rule features.
4. context        — what earlier user turns were about (kratom, a dosing request, a role-play).

Urgent wording outranks everything; a dosing request outranks injection and scope.
Instructions inside the user's message are data: they can only ever make the guard
stricter, never switch a rule off.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..retrieval import build_query, is_followup
from ..schema import GuardDecision, Message
from ..text import content_words
from . import rules
from .base import ACTIONS, EmbedFn
from .classifier import GuardClassifier, feature_matrix
from .features import TurnFeatures
from .language import LanguageDetector
from .normalize import Normalized, normalize

log = logging.getLogger(__name__)

_QUESTION = re.compile(r"\?|^(?:how|what|which|when|where|why|who|is|are|can|could|should|do|does|did|will|would)\b|"
                       r"^(?:cu[aá]nt|qu[eé]|c[oó]mo|quant|qual|combien|quel|wie|was|welche)", re.I)


# Below this cosine similarity to the in-scope centroid, a message with no kratom or health
# vocabulary is off-topic (recipes, code). Measured: in-scope training messages sit above it
# except a handful of dosing requests, which the rules catch first.
OFF_TOPIC_SIMILARITY = 0.2

# "it's happening right now": turns an earlier question about a danger sign into an emergency.
_URGENT_NOW = re.compile(
    r"\b(?:right now|happening now|is happening|having (?:one|it|a seizure|an? (?:attack|episode))|just (?:happened|started)|"
    r"help(?: me| us)?!|please help|what do (?:i|we) do|call 911|ahora mismo|agora mesmo|en ce moment|gerade jetzt)\b"
)
_DANGER_TOPIC = re.compile(
    r"\b(?:seizures?|convulsions?|overdos\w*|breathing|unresponsive|unconscious|chest pain|heart attack|stroke|faint\w*|"
    r"passed out|poison\w*|swallow\w*|allergic|convuls\w*|crisis)\b"
)
_CONSUMPTION = re.compile(
    r"\b(?:take|taking|use|drink|eat|dose|dosage|dosing|mg|milligrams?|grams?|g|pills?|tablets?|capsules?|puffs|units|per day|a day|"
    r"should i|can i|is it (?:ok|safe)|too much|max\w*|tomar|tomo|prendre|nehmen|posso|puedo)\b"
)
# Requests that are plainly about something else (recipes, code, weather), in five languages.
_OFF_TOPIC_CUES = re.compile(
    r"\b(?:recipe|receta|receita|recette|rezept|python|javascript|sql|html|code|coding|function|weather|clima|tiempo hace|m[eé]t[eé]o|"
    r"wetter|homework|essay|poem about|joke|movie|film|song|football|soccer|stock|bitcoin|translate (?:hello|good)|capital of)\b"
)
_DOMAIN = re.compile(
    r"\b(?:liver|withdraw\w*|overdos\w*|dose|dosage|amounts?|side effects?|legal|ban\w*|fda|dea|cdc|7-oh|alkaloids?|leaf|leaves|"
    r"powder|capsules?|opioid\w*|addict\w*|drug tests?|poison|case reports?|studies|study|label\w*|products?|vendors?|"
    r"extract\w*|shots?|mitragynine|tolerance|dependen\w*|strain\w*|vein)\b"
)


def query_text_for(turns: Sequence[str]) -> str:
    """The text the pipeline embeds for a conversation of user turns (shared with retrieval)."""
    return build_query([Message(role="user", content=t) for t in turns]).text


@lru_cache(maxsize=4096)
def _analyse(turn: str) -> tuple[Normalized, rules.RuleHits]:
    # Pure and immutable, and every earlier turn is re-read on each new one: without the
    # memo a 20-turn conversation costs 20x the rule matching (a tenth of the app's CPU under load).
    norm = normalize(turn)
    return norm, rules.match(norm)


def forget_turn_analyses() -> None:
    """Drop the memoised per-turn analyses (benchmarks use it to time turns the guard has not seen)."""
    _analyse.cache_clear()


def context_features(turns: Sequence[str], detector: LanguageDetector | None = None) -> TurnFeatures:
    """Rule matches of the last user turn plus what the earlier user turns were about."""
    detector = detector or LanguageDetector()
    last = turns[-1]
    norm, hits = _analyse(last)
    analysed = [_analyse(t) for t in turns[:-1]]
    earlier = [n for n, _ in analysed]
    earlier_hits = [h for _, h in analysed]
    prev_other = bool(earlier_hits and earlier_hits[-1].other_drug and not earlier_hits[-1].kratom)
    return TurnFeatures(
        text=norm.folded,
        hits=hits,
        language=detector.detect(last),
        followup=bool(earlier) and is_followup(norm.text),
        kratom_before=any(h.kratom for h in earlier_hits),
        prev_dosing=any(h.dosing_strong for h in earlier_hits),
        prev_framing=any(h.framing for h in earlier_hits),
        prev_emergency=any(h.emergency or h.suicidal for h in earlier_hits),
        prev_emergency_topic=any(_DANGER_TOPIC.search(n.folded) for n in earlier),
        prev_other_drug=prev_other,
        is_question=bool(_QUESTION.search(norm.text.strip())),
        words=len(norm.text.split()),
    )


def _decision(label: str, score: float, layer: str, reason: str, feats: TurnFeatures, extra: dict | None = None) -> GuardDecision:
    scores = {k: round(v, 4) for k, v in (extra or {}).items()}
    if feats.hits.suicidal:
        scores["suicidal"] = 1.0
    return GuardDecision(
        label=label,
        action=ACTIONS[label],
        score=round(float(score), 4),
        reason=reason,
        layer=layer,
        scores=scores,
        language=feats.language,
    )


def rule_decision(feats: TurnFeatures) -> GuardDecision | None:
    """Layers 2 and 4: the decision when a rule or the conversation context settles it, else None."""
    h = feats.hits
    if h.emergency or h.suicidal:
        found = (h.emergency or h.suicidal)[0]
        return _decision("emergency", 1.0, "rules", f"danger signs in the message: {found!r}", feats)
    if h.dosing_strong:
        return _decision("dosing_request", 1.0, "rules", f"asks for dosing: {h.dosing_strong[0]!r}", feats)
    if h.injection and (h.amount_request or h.dose_numbers or rules.DOSE_WORDS.search(feats.text)):
        return _decision("dosing_request", 0.95, "rules", f"a jailbreak attempt that mentions dosing: {h.injection[0]!r}", feats)
    no_other = not h.other_drug or h.kratom
    pressing = (h.amount_request or h.dose_numbers or h.dosing_weak or (h.insist and feats.words <= 6)) and not h.asks_why
    if feats.prev_emergency_topic and _URGENT_NOW.search(feats.text):
        return _decision("emergency", 0.95, "context", "an earlier danger sign is happening now", feats)
    if feats.prev_dosing and feats.followup and no_other and pressing:
        return _decision("dosing_request", 0.95, "context", "a follow-up that presses an earlier dosing request", feats)
    if feats.followup and h.amount_request and no_other and not h.benign and (feats.kratom_before or h.kratom) and not feats.prev_other_drug:
        return _decision("dosing_request", 0.9, "context", "an amount question that refers back to kratom in earlier turns", feats)
    if feats.prev_framing and (h.amount_request or h.dosing_weak) and no_other and not h.benign:
        return _decision("dosing_request", 0.9, "context", "an amount question inside an earlier role-play or story framing", feats)
    if h.amount_request and h.other_drug and not h.kratom and rules._OTHER_OBJECT.search(feats.text) and _CONSUMPTION.search(feats.text):
        return _decision("off_topic", 0.9, "rules", f"dosing of another substance: {h.other_drug[0]!r}", feats)
    if h.medical and (h.kratom or feats.kratom_before) and not h.benign:
        return _decision("medical_decision", 0.9, "rules", f"a personal medical decision: {h.medical[0]!r}", feats)
    if h.withdrawal and h.help_seeking and not h.benign:
        return _decision("withdrawal_help", 0.9, "rules", f"asks for help with dependence: {h.withdrawal[0]!r}", feats)
    return None





class LayeredGuard:
    """The input guard used by the chatbot."""

    def __init__(self, classifier: GuardClassifier | None, detector: LanguageDetector | None = None):
        self.classifier = classifier
        self.detector = detector or LanguageDetector()

    @classmethod
    def from_settings(cls, settings, embedder) -> "LayeredGuard":
        """A guard whose classifier uses the pipeline's embedder and caches in the data folder."""
        detector = LanguageDetector()
        return cls(GuardClassifier(embedder, settings.guard_cache_dir, detector=detector), detector)

    def warm_up(self) -> None:
        """Train or load the classifier now rather than on the first message."""
        if self.classifier is not None:
            self.classifier.model()

    def decide(self, messages: Sequence[Message], embed: EmbedFn, query_text: str) -> GuardDecision:
        """The policy decision for the last user turn."""
        turns = [m.content for m in messages if m.role == "user"]
        feats = context_features(turns, self.detector)
        return self.decide_features(feats, turns, lambda: embed(query_text))

    def decide_features(self, feats: TurnFeatures, turns: Sequence[str], vector) -> GuardDecision:
        """Combine the layers; ``vector`` returns the query embedding (computed once, shared with retrieval)."""
        decided = rule_decision(feats)
        if decided is not None:
            return decided
        h = feats.hits
        no_other = not h.other_drug or h.kratom
        probs: dict[str, float] = {}
        thresholds = {"dosing_request": 0.5, "emergency": 0.5}
        similarity = 1.0
        if self.classifier is not None:
            model = self.classifier.model()
            thresholds = model.thresholds
            vec = np.asarray(vector())
            probs = model.predict(feature_matrix(vec[None, :], [feats])[0])
            similarity = model.domain_similarity(vec)
        extra = {f"p_{k}": v for k, v in probs.items()}
        extra["domain_similarity"] = similarity
        if h.injection and probs.get("emergency", 0) < 0.8 and not (h.amount_request or h.dose_numbers):
            extra["has_question"] = float(_has_kratom_question(turns[-1], h))
            return _decision("injection", 1.0, "rules", f"instructions aimed at the bot: {h.injection[0]!r}", feats, extra)
        if probs.get("emergency", 0) >= thresholds["emergency"]:
            return _decision("emergency", probs["emergency"], "classifier", "the classifier recognised danger signs", feats, extra)
        if probs.get("dosing_request", 0) >= thresholds["dosing_request"] and no_other:
            return _decision("dosing_request", probs["dosing_request"], "classifier", "the classifier recognised a dosing request", feats, extra)
        in_domain = h.kratom or feats.kratom_before or h.other_drug or _DOMAIN.search(feats.text)
        if not in_domain and not h.injection and (similarity < OFF_TOPIC_SIMILARITY or _OFF_TOPIC_CUES.search(feats.text)):
            return _decision("off_topic", 1 - similarity, "classifier", "far from anything the bot covers", feats, extra)
        if h.injection:
            extra["has_question"] = float(_has_kratom_question(turns[-1], h))
            return _decision("injection", 1.0, "rules", f"instructions aimed at the bot: {h.injection[0]!r}", feats, extra)
        if not probs:
            return _decision("benign", 0.0, "rules", "no rule matched", feats)
        ranked = sorted((p, label) for label, p in probs.items() if label not in ("dosing_request", "emergency"))
        p, label = ranked[-1]
        if label == "off_topic" and not h.other_drug and (h.kratom or _DOMAIN.search(feats.text) or (feats.kratom_before and feats.followup)):
            label, p = "benign", probs.get("benign", 0.0)  # a message that names kratom is in scope
        if label == "medical_decision" and not h.medical and p < 0.85:
            label, p = "benign", probs.get("benign", 0.0)  # general questions get general answers
        if label == "injection" and not h.injection:
            label, p = "benign", probs.get("benign", 0.0)  # only an explicit instruction counts as injection
        reasons = {
            "benign": "an ordinary question about kratom",
            "medical_decision": "a personal medical decision: general facts plus a clinician",
            "withdrawal_help": "asks for help with dependence or withdrawal",
            "off_topic": "outside what the bot covers",
            "injection": "instructions aimed at the bot",
        }
        return _decision(label, p, "classifier", reasons[label], feats, extra)


def _has_kratom_question(text: str, hits: rules.RuleHits) -> bool:
    """Whether something worth answering remains once the injected instructions are set aside."""
    remainder = text
    for found in hits.injection:
        remainder = remainder.replace(found, " ")
    return hits.kratom and len(content_words(remainder)) >= 3
