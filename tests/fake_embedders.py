"""Variants of the fake embedder that index and store tests share."""

from __future__ import annotations

from bot.embedding import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting how many texts it embedded."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def embed(self, texts):
        self.calls += len(texts)
        return super().embed(texts)


class ExplodingEmbedder(FakeEmbedder):
    """Fails every call, like a model crashing mid-build."""

    def embed(self, texts):
        raise RuntimeError("simulated crash while embedding")
