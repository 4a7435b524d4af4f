"""Safety warnings: a general notice on every answer plus topic warnings chosen by what it covers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..compose import Draft
from ..prompts import PromptLibrary
from ..schema import GuardDecision
from ..text import fold

# Topic warning → (corpus topics that trigger it, words in the answer that trigger it)
TOPIC_WARNINGS: dict[str, tuple[set[str], re.Pattern]] = {
    "liver": ({"liver"}, re.compile(r"\b(liver (?:injury|damage|toxicity|failure|disease|problems?)|hepat\w*|jaundice|cholesta\w*)\b")),
    "interactions": (
        {"interactions"},
        re.compile(r"\b(interact\w*|benzodiazepin\w*|alcohol|sedative\w*|sleeping pills?|opioids? and|cyp\w*|combin\w*)\b"),
    ),
    "pregnancy": ({"pregnancy"}, re.compile(r"\b(pregnan\w*|breastfe\w*|neonat\w*|newborn\w*|lactat\w*)\b")),
    "7-oh": ({"7-oh"}, re.compile(r"(7-?oh\b|7-hydroxy\w*|hydroxymitragynine)")),
    "dependence": (
        {"dependence", "withdrawal"},
        re.compile(r"\b(dependen\w*|withdraw\w*|addict\w*|use disorder|craving\w*)\b"),
    ),
    "contamination": ({"contamination"}, re.compile(r"\b(salmonella|contamina\w*|heavy metals?|adulter\w*|lead poisoning|nickel)\b")),
}


@dataclass(frozen=True)
class Warning:
    """A warning attached to a reply, with the reason it was chosen (for staff)."""

    id: str
    text: str
    why: str


class WarningSelector:
    """Chooses the warnings for a reply from templates in ``prompts/``."""

    def __init__(self, prompts: PromptLibrary):
        self.prompts = prompts

    def select(self, draft: Draft, decision: GuardDecision) -> list[Warning]:
        """General notice always; the emergency block for emergencies; topic warnings by content."""
        lang = decision.language
        chosen: list[Warning] = []
        if decision.action == "escalate":
            chosen.append(Warning("emergency", self.prompts.render("warning_emergency", lang), "the guard detected danger signs"))
        if draft.source in ("invalid_input",):
            return chosen
        if decision.action != "redirect":
            # Only the quoted content counts, not the guard's own template text.
            text = fold(" ".join(s.sentence for s in draft.sentences))
            for topic, (topics, pattern) in TOPIC_WARNINGS.items():
                by_topic = sorted(topics & set(draft.topics))
                match = pattern.search(text)
                if by_topic or match:
                    why = f"cited sources have topic {by_topic[0]!r}" if by_topic else f"the answer mentions {match.group(0)!r}"
                    chosen.append(Warning(topic, self.prompts.render(f"warning_{topic.replace('-', '')}", lang), why))
        chosen.append(Warning("general", self.prompts.render("warning_general", lang), "added to every answer"))
        return chosen
