"""Shared fixtures: no outbound network, all state in tmp_path, fake and real components."""

from __future__ import annotations

import ipaddress
import os
import socket
import shutil
from pathlib import Path

import pytest

import bot  # noqa: F401  (applies the offline environment before anything else)

# Property tests are reproducible by default: CI must not pass or fail by the luck of a seed.
# HYPOTHESIS_PROFILE=explore searches with fresh random inputs (do it after changing a guard
# or renderer; every failure it found so far is now pinned as an @example or a unit test).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("default", derandomize=True)
_hypothesis_settings.register_profile("explore", derandomize=False)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "corpus"
REAL_CORPUS = ROOT / "corpus"
PROMPTS = ROOT / "prompts"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """Raised when a test tries to reach anything but loopback."""


def _is_local(host) -> bool:
    if host in (None, "", "localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard_address(address):
    if isinstance(address, (str, bytes)):  # unix socket
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        raise NetworkBlocked(f"test tried to connect to {address!r}; tests may only use loopback")


@pytest.fixture(autouse=True)
def _block_network(monkeypatch):
    """Block every outbound connection and DNS lookup except loopback."""

    def connect(self, address):
        _guard_address(address)
        return _real_connect(self, address)

    def connect_ex(self, address):
        _guard_address(address)
        return _real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host if not isinstance(host, bytes) else host.decode()):
            raise NetworkBlocked(f"test tried to resolve {host!r}; tests may only use loopback")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session")
def guard_cache(tmp_path_factory):
    """One trained-guard cache per test session (entries are keyed by dataset and model hash)."""
    return tmp_path_factory.mktemp("guard-cache")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch, guard_cache):
    """Keep all state in tmp_path and ignore the developer's KRATOMBOT_* variables."""
    for key in list(os.environ):
        if key.startswith("KRATOMBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KRATOMBOT_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("KRATOMBOT_GUARD_CACHE", str(guard_cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fixture_corpus(tmp_path) -> Path:
    """A writable copy of the three-document test corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, dest)
    return dest


@pytest.fixture
def fake_settings(tmp_path, fixture_corpus):
    """Settings with the fake embedder and the fixture corpus."""
    from bot.settings import Settings

    return Settings(
        corpus_dir=fixture_corpus,
        data_dir=tmp_path / "state",
        prompts_dir=PROMPTS,
        embedding_model="fake",
        guard_cache=os.environ["KRATOMBOT_GUARD_CACHE"],
        min_relevance=0.05,
        min_sentence_score=0.0,
    )


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    from bot.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    return embedder


@pytest.fixture
def real_settings(tmp_path, fixture_corpus):
    """Settings for the real model and the fixture corpus, with state in tmp_path."""
    from bot.settings import Settings

    return Settings(
        corpus_dir=fixture_corpus, data_dir=tmp_path / "state", prompts_dir=PROMPTS, guard_cache=os.environ["KRATOMBOT_GUARD_CACHE"]
    )


@pytest.fixture(scope="session")
def real_corpus_settings(tmp_path_factory, guard_cache):
    """Settings for the real corpus with state in a session temp folder."""
    from bot.settings import Settings

    state = tmp_path_factory.mktemp("real-corpus-state")
    return Settings(corpus_dir=REAL_CORPUS, data_dir=state, prompts_dir=PROMPTS, guard_cache=guard_cache)


@pytest.fixture(scope="session")
def real_corpus_bot(real_corpus_settings, real_embedder):
    """A chatbot over the real corpus with the real model and the real guard (index built once per session)."""
    from bot.wiring import load_chatbot

    return load_chatbot(real_corpus_settings, embedder=real_embedder)


@pytest.fixture(scope="session")
def fake_guard(tmp_path_factory):
    """A warmed-up layered input guard on the fake embedder, and that embedder (decisions are pure: shared)."""
    from bot.embedding import FakeEmbedder
    from bot.guard.classifier import GuardClassifier
    from bot.guard.input import LayeredGuard
    from bot.guard.language import LanguageDetector

    embedder = FakeEmbedder()
    detector = LanguageDetector()
    guard = LayeredGuard(GuardClassifier(embedder, tmp_path_factory.mktemp("guard"), detector=detector), detector)
    guard.warm_up()
    return guard, embedder
