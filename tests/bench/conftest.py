"""Fixtures for the benchmark smoke tests: load bench scripts by path, share one prepared index."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def load_bench(name: str):
    """Import ``bench/<name>.py`` as a module (the scripts are not a package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench_corpus(tmp_path_factory) -> Path:
    """A session copy of the three-document fixture corpus (benchmarks never write to it, but be safe)."""
    dest = tmp_path_factory.mktemp("bench-corpus") / "corpus"
    shutil.copytree(FIXTURE_CORPUS, dest)
    return dest


@pytest.fixture(scope="session")
def bench_cache(tmp_path_factory) -> Path:
    """Where the benchmark scripts keep their prepared index during the test session."""
    return tmp_path_factory.mktemp("bench-cache")
