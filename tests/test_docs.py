"""The README's promises that a script can check: its links resolve and CI runs its test command."""

from __future__ import annotations

import re

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "SECURITY.md", ROOT / "bench" / "RESULTS.md"]


def test_relative_links_in_the_docs_resolve():
    broken, checked = [], 0
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http(s) and mailto links are not checked offline
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
            checked += 1
    assert checked >= 10, "the link pattern no longer finds the docs' links"
    assert not broken, broken


def test_ci_runs_the_readme_test_command_and_the_readme_lists_every_bench_script():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./scripts/test" in readme and "./scripts/app" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec scripts/test\s*$", ci, re.M), ci
    scripts = {p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")}
    scripts -= {"synth_corpus.py", "tune_faq.py", "retrieval_quality.py"}  # helpers and tuning tools, in docs/bench.md
    missing = sorted(s for s in scripts if f"bench/{s}" not in readme)
    assert not missing, f"bench scripts not documented in the README: {missing}"
