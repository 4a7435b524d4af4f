"""Guard interfaces and the labels/actions they use."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np

from ..schema import GuardDecision, Message

LABELS = ("benign", "dosing_request", "emergency", "medical_decision", "withdrawal_help", "off_topic", "injection")

ACTIONS = {
    "benign": "answer",
    "dosing_request": "refuse",
    "emergency": "escalate",
    "medical_decision": "answer_with_clinician",
    "withdrawal_help": "support",
    "off_topic": "redirect",
    "injection": "ignore_injection",
}

EmbedFn = Callable[[str], np.ndarray]


class InputGuard(Protocol):
    """Judges the latest user turn in the context of the conversation."""

    def decide(self, messages: Sequence[Message], embed: EmbedFn, query_text: str) -> GuardDecision:
        """Return the policy decision for the last user turn."""
        ...


class PassThroughGuard:
    """Lets everything through (for experiments that must bypass the guard, e.g. the naive bench baseline)."""

    def decide(self, messages: Sequence[Message], embed: EmbedFn, query_text: str) -> GuardDecision:
        """Always 'benign/answer'."""
        return GuardDecision(label="benign", action="answer", score=0.0, reason="guard disabled", layer="none")
