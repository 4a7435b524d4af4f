"""Layer 3: a learned classifier over sentence embeddings plus rule features.

Logistic regression (scikit-learn) on the same all-MiniLM-L6-v2 vectors the index uses,
concatenated with the rule and context features. It is trained at index-build time
(or on first use) on the project's labelled dataset, ``bot/guard/data/guard_examples.jsonl``
(train split), calibrated on the dev split, and cached by dataset and model hash so
each process trains at most once. The test split is never used here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataFileError
from .base import LABELS
from .features import FEATURE_NAMES, TurnFeatures

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASET = DATA_DIR / "guard_examples.jsonl"
# Two further sets written blind (without seeing the guard) and used to find its gaps; training only.
EXTRA = DATA_DIR / "guard_extra.jsonl"
FORMAT_VERSION = 4


@dataclass(frozen=True)
class Example:
    """One labelled conversation from the guard dataset."""

    id: str
    turns: tuple[str, ...]
    label: str
    lang: str
    tags: tuple[str, ...]
    split: str


def load_examples(path: Path = DATASET) -> list[Example]:
    """Read the labelled dataset; errors name the line."""
    from ..replay import parse_jsonl

    out = []
    for number, obj in parse_jsonl(path):
        turns, label, split = obj.get("turns"), obj.get("label"), obj.get("split", "blind")
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
            raise DataFileError(path, "'turns' must be a non-empty list of strings", number)
        if label not in LABELS:
            raise DataFileError(path, f"unknown label {label!r}", number)
        if split not in ("train", "dev", "test", "blind"):
            raise DataFileError(path, f"split must be train, dev, test or blind, got {split!r}", number)
        out.append(Example(str(obj.get("id")), tuple(turns), label, obj.get("lang", "en"), tuple(obj.get("tags", ())), split))
    return out


def feature_matrix(vectors: np.ndarray, feats: Sequence[TurnFeatures]) -> np.ndarray:
    """Embedding columns followed by the (scaled) rule and context features."""
    handmade = np.array([f.vector() for f in feats], dtype=np.float32).reshape(len(feats), len(FEATURE_NAMES))
    return np.hstack([vectors.astype(np.float32), 1.5 * handmade])


@dataclass
class TrainedModel:
    """The fitted classifier and its calibrated thresholds."""

    model: object
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    dataset_hash: str
    embedder: str
    report: dict
    domain_centroid: np.ndarray | None = None  # mean embedding of in-scope training messages

    def domain_similarity(self, vector: np.ndarray) -> float:
        """Cosine similarity of a query embedding to the in-scope centroid."""
        if self.domain_centroid is None:
            return 1.0
        return float(np.dot(vector, self.domain_centroid))

    def predict(self, x: np.ndarray) -> dict[str, float]:
        """Probabilities per label for one feature row."""
        probs = self.model.predict_proba(x.reshape(1, -1))[0]
        return {label: float(p) for label, p in zip(self.labels, probs)}


def _calibrate(probs: np.ndarray, labels: list[str], undecided: list[bool], classes: tuple[str, ...], target: str,
               max_false_rate: float = 0.01, floor: float = 0.1, ceiling: float = 0.5) -> float:
    """Threshold for the examples the rules left undecided: catch every positive, within a false-alarm budget.

    The lowest positive score sets the threshold unless that would flag more than
    ``max_false_rate`` of the undecided negatives; then the lowest threshold that
    keeps within the budget is used (and the stragglers are left to rules).
    """
    idx = classes.index(target)
    pos = sorted(p[idx] for p, y, u in zip(probs, labels, undecided) if u and y == target)
    neg = np.array([p[idx] for p, y, u in zip(probs, labels, undecided) if u and y != target])
    if not pos:
        return float(ceiling)
    for candidate in pos:
        threshold = min(ceiling, max(floor, candidate * 0.9))
        if not len(neg) or float(np.mean(neg >= threshold)) <= max_false_rate:
            return round(float(threshold), 4)
    return ceiling


class GuardClassifier:
    """Trains (or loads from cache) and applies the learned layer."""

    def __init__(self, embedder, cache_dir: Path, dataset: Path = DATASET, detector=None, extra: Path | None = EXTRA):
        from .language import LanguageDetector

        self.embedder = embedder
        self.detector = detector or LanguageDetector()
        self.cache_dir = Path(cache_dir)
        self.dataset = Path(dataset)
        self.extra = Path(extra) if extra and Path(extra).exists() else None
        self._model: TrainedModel | None = None
        self._lock = threading.Lock()

    def dataset_hash(self) -> str:
        """Hash of the dataset, the feature set and the embedder: the cache key."""
        h = hashlib.sha256(self.dataset.read_bytes())
        if self.extra is not None:
            h.update(self.extra.read_bytes())
        h.update(json.dumps([FORMAT_VERSION, FEATURE_NAMES, self.embedder.name, self.embedder.dim]).encode())
        return h.hexdigest()[:16]

    def model(self) -> TrainedModel:
        """The trained model, from cache or trained now."""
        with self._lock:
            if self._model is None:
                self._model = self._load_or_train()
            return self._model

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / f"guard-{key}.pkl"

    def _load_or_train(self) -> TrainedModel:
        key = self.dataset_hash()
        path = self._cache_path(key)
        if path.exists():
            try:
                with open(path, "rb") as fh:
                    model = pickle.load(fh)  # our own cache file, written below
                if isinstance(model, TrainedModel) and model.dataset_hash == key:
                    return model
            except Exception as exc:  # a corrupt cache only costs a retrain
                log.warning("guard classifier cache %s unreadable (%s); retraining", path, exc)
        model = self.train()
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(model, fh)
            tmp.replace(path)
        except OSError as exc:
            log.warning("could not cache the guard classifier in %s: %s", self.cache_dir, exc)
        return model

    def embed_examples(self, examples: Sequence[Example]) -> tuple[np.ndarray, list[TurnFeatures]]:
        """Feature inputs for examples exactly as the live guard builds them."""
        from .input import context_features, query_text_for

        texts = [query_text_for(ex.turns) for ex in examples]
        vectors = self.embedder.embed(texts)
        feats = [context_features(ex.turns, self.detector) for ex in examples]
        return vectors, feats

    def train(self) -> TrainedModel:
        """Fit on the train split; calibrate thresholds on held-apart predictions.

        Held-apart means: the dev split scored by the model fitted on train, plus
        out-of-fold scores of the train split from 5-fold cross-validation. The test
        split is never read.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from .input import rule_decision

        examples = load_examples(self.dataset) + (load_examples(self.extra) if self.extra else [])
        train = [e for e in examples if e.split == "train"]
        dev = [e for e in examples if e.split == "dev"]
        vec_train, feat_train = self.embed_examples(train)
        vec_dev, feat_dev = self.embed_examples(dev)
        x_train = feature_matrix(vec_train, feat_train)
        x_dev = feature_matrix(vec_dev, feat_dev)
        y_train = np.array([e.label for e in train])
        y_dev = [e.label for e in dev]

        def fit(x, y):
            # Scaling lets the 384 small embedding values count as much as the rule flags.
            return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=4000, class_weight="balanced")).fit(x, y)

        clf = fit(x_train, y_train)
        classes = tuple(clf.classes_)
        oof = np.zeros((len(train), len(classes)))
        for fold_train, fold_test in StratifiedKFold(5, shuffle=True, random_state=7).split(x_train, y_train):
            fold = fit(x_train[fold_train], y_train[fold_train])
            cols = [list(fold.classes_).index(c) for c in classes]
            oof[fold_test] = fold.predict_proba(x_train[fold_test])[:, cols]
        probs = np.vstack([oof, clf.predict_proba(x_dev)])
        labels = list(y_train) + y_dev
        undecided = [rule_decision(f) is None for f in list(feat_train) + list(feat_dev)]
        thresholds = {
            "dosing_request": _calibrate(probs, labels, undecided, classes, "dosing_request"),
            "emergency": _calibrate(probs, labels, undecided, classes, "emergency"),
        }
        predicted = [classes[int(np.argmax(p))] for p in clf.predict_proba(x_dev)]
        report = {
            "train": len(train),
            "dev": len(dev),
            "dev_accuracy_argmax": round(float(np.mean([p == y for p, y in zip(predicted, y_dev)])), 4),
            "calibration_examples": int(sum(undecided)),
        }
        in_scope = np.array([e.label != "off_topic" for e in train])
        centroid = vec_train[in_scope].mean(axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        log.info("trained guard classifier: %s thresholds=%s", report, thresholds)
        return TrainedModel(clf, classes, thresholds, self.dataset_hash(), self.embedder.name, report, centroid.astype(np.float32))
