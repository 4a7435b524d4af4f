"""The generator interface and the default extractive generator."""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from ..compose import Draft, ExtractiveComposer
from ..schema import RetrievedChunk
from ..store import Build

# Called with the growing answer text each time a checked sentence may be shown.
Release = Callable[[str], None]

# The input-guard actions for which a generator writes the answer. Refusals, emergencies,
# withdrawal support and replies to injection attempts are always composed extractively:
# they never depend on a generative model, and a user's injected instructions never reach one.
GENERATOR_ACTIONS = ("answer", "answer_with_clinician")


class Generator(Protocol):
    """Writes the cited answer from the retrieved chunks."""

    streams: bool  # True when ``generate`` calls ``release`` while it works

    def generate(
        self,
        build: Build,
        query_vec: np.ndarray,
        query_text: str,
        retrieved: list[RetrievedChunk],
        trace: dict,
        *,
        release: Release | None = None,
    ) -> Draft:
        """A Draft with ``[n]`` markers and citations; may add its own entry to ``trace``."""
        ...


class ExtractiveGenerator:
    """The default: quote the best-supported sentences of the retrieved chunks (``ExtractiveComposer``)."""

    streams = False
    name = "extractive"

    def __init__(self, composer: ExtractiveComposer):
        self.composer = composer

    def generate(self, build, query_vec, query_text, retrieved, trace, *, release: Release | None = None) -> Draft:
        """Exactly ``ExtractiveComposer.compose``; adds nothing to the trace."""
        return self.composer.compose(build, query_vec, query_text, retrieved)
