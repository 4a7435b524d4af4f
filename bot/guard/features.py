"""Layer 4 inputs: rule matches of the latest turn plus conversation context, as named features."""

from __future__ import annotations

from dataclasses import dataclass

from .rules import RuleHits

FEATURE_NAMES = (
    "emergency_rule",
    "suicidal_rule",
    "dosing_strong",
    "dosing_weak",
    "dose_numbers",
    "benign_rule",
    "framing",
    "injection_rule",
    "withdrawal_rule",
    "help_seeking",
    "medical_rule",
    "other_drug",
    "amount_request",
    "insist",
    "personal",
    "kratom_here",
    "kratom_before",
    "followup",
    "prev_dosing",
    "prev_framing",
    "prev_emergency",
    "prev_other_drug",
    "non_english",
    "is_question",
    "short",
)


@dataclass(frozen=True)
class TurnFeatures:
    """Everything the decision needs about one user turn in its conversation."""

    text: str
    hits: RuleHits
    language: str
    followup: bool
    kratom_before: bool
    prev_dosing: bool
    prev_framing: bool
    prev_emergency: bool
    prev_emergency_topic: bool
    prev_other_drug: bool
    is_question: bool
    words: int

    def vector(self) -> list[float]:
        """The features as numbers, in FEATURE_NAMES order."""
        h = self.hits
        return [
            float(bool(h.emergency)),
            float(bool(h.suicidal)),
            float(bool(h.dosing_strong)),
            min(len(h.dosing_weak), 3) / 3,
            float(bool(h.dose_numbers)),
            min(len(h.benign), 3) / 3,
            float(bool(h.framing)),
            float(bool(h.injection)),
            float(bool(h.withdrawal)),
            float(bool(h.help_seeking)),
            float(bool(h.medical)),
            float(bool(h.other_drug)),
            float(bool(h.amount_request)),
            float(bool(h.insist)),
            float(h.personal),
            float(h.kratom),
            float(self.kratom_before),
            float(self.followup),
            float(self.prev_dosing),
            float(self.prev_framing),
            float(self.prev_emergency),
            float(self.prev_other_drug),
            float(self.language != "en"),
            float(self.is_question),
            float(self.words <= 6),
        ]

    def as_dict(self) -> dict[str, float]:
        """Named features, for the staff trace."""
        return dict(zip(FEATURE_NAMES, self.vector()))
