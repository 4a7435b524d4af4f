"""Every benchmark script runs end to end at a tiny size, so that the scripts keep working.

These check what the scripts measure and write, never how fast anything is.
"""

from __future__ import annotations

import json

import pytest

from .conftest import load_bench

pytestmark = pytest.mark.integration


def _read(folder, name):
    return json.loads((folder / f"{name}.json").read_text())


def test_reply_latency(bench_corpus, bench_cache, tmp_path):
    script = load_bench("reply_latency")
    assert script.main(["--corpus", str(bench_corpus), "--cache", str(bench_cache), "--repeats", "2",
                        "--questions", "3", "--out", str(tmp_path)]) == 0
    r = _read(tmp_path, "reply_latency")
    assert r["reply"]["n"] == r["floor"]["n"] == r["baseline_langchain"]["n"] == 6
    assert {"embed", "guard", "output_guard", "other"} <= set(r["stages"])
    assert r["stages"]["embed"]["n"] == 6  # every reply paid for its own query embedding
    assert r["ratio_reply_to_floor"] > 0 and isinstance(r["met"], bool)
    assert r["machine"]["cores"] >= 1


def test_index_build(bench_corpus, bench_cache, tmp_path):
    script = load_bench("index_build")
    assert script.main(["--corpus", str(bench_corpus), "--cache", str(bench_cache), "--full-repeats", "1",
                        "--edits", "2", "--out", str(tmp_path)]) == 0
    r = _read(tmp_path, "index_build")
    full = r["full_build"]["runs"][0]
    assert full["chunks"] == r["chunks"] > 0 and full["embedded_texts"] > full["chunks"]
    runs = r["incremental"]["runs"]
    assert len(runs) == 2 and len({x["document"] for x in runs}) == 2
    for run in runs:  # one edited paragraph: a few texts embedded again, the rest reused
        assert run["new_chunks"] >= 1 and run["reused_chunks"] >= 1
        assert 0 < run["embedded_texts"] < full["embedded_texts"]
    assert r["no_change_check"]["n"] == 3
    assert (bench_corpus / "docs").is_dir() and "incremental rebuild" not in (bench_corpus / "docs" / "liver-injury.md").read_text()


def test_scale(bench_corpus, bench_cache, tmp_path):
    script = load_bench("scale")
    assert script.main(["--source", str(bench_corpus), "--cache", str(bench_cache), "--sizes", "40", "20",
                        "--repeats", "1", "--questions", "2", "--work", str(tmp_path / "work"), "--out", str(tmp_path)]) == 0
    r = _read(tmp_path, "scale")
    levels = r["levels"]
    assert [lv["target_chunks"] for lv in levels] == [20, 40]
    for lv in levels:
        b, q = lv["build"], lv["query"]
        assert b["chunks"] >= lv["target_chunks"] and b["sentences"] > b["chunks"]
        assert b["embedded_by_model"] == 0  # the build process used the real vectors only
        assert b["disk_mib"] > 0 and b["peak_rss_mib"] > 0
        assert q["topk"]["n"] == q["retrieve"]["n"] == q["reply"]["n"] == 2
        assert q["rss_index_open_mib"] >= q["rss_start_mib"]
    assert levels[1]["build"]["chunks"] > levels[0]["build"]["chunks"]
    assert r["composition_check"]["chunks"] > 0 and r["composition_check"]["median_cosine"] > 0.5
    assert r["met"] is None  # 100k was not measured
    assert not (tmp_path / "work" / "state-20").exists()  # removed without --keep


def test_cold_start(bench_corpus, bench_cache, tmp_path):
    script = load_bench("cold_start")
    assert script.main(["--corpus", str(bench_corpus), "--cache", str(bench_cache), "--repeats", "1", "--build-repeats", "1",
                        "--scenarios", "library_index_built", "library_index_build", "--out", str(tmp_path)]) == 0
    r = _read(tmp_path, "cold_start")["scenarios"]
    built, build = r["library_index_built"]["runs"][0], r["library_index_build"]["runs"][0]
    assert built["index_built_on_start"] is False and build["index_built_on_start"] is True
    for run in (built, build):
        assert run["total_s"] >= run["load_chatbot_s"] > 0 and run["first_reply_ms"] > 0
        assert run["answer_source"]


def test_concurrency(bench_corpus, bench_cache, tmp_path):
    script = load_bench("concurrency")
    assert script.main(["--corpus", str(bench_corpus), "--cache", str(bench_cache), "--users", "1", "3",
                        "--messages", "2", "--runs", "1", "--questions", "4", "--out", str(tmp_path)]) == 0
    r = _read(tmp_path, "concurrency")
    assert [lv["users"] for lv in r["levels"]] == [1, 3]
    for lv in r["levels"]:
        assert lv["latency"]["n"] == lv["users"] * 2
        assert lv["errors"] == 0, lv["errors_by_kind"]
        assert lv["throughput_msg_s"] > 0 and lv["peak_rss_mib"] > 100
    assert r["rss_peak_mib"] >= r["rss_idle_mib"] > 100
    assert r["targets"]["users_32"]["met"] is None and isinstance(r["targets"]["rss"]["met"], bool)


def test_guard_latency_with_the_fake_embedder(tmp_path):
    script = load_bench("guard_latency")
    assert script.main(["--fake", "--repeats", "1", "--out", str(tmp_path)]) == 0
    r = _read(tmp_path, "guard_latency")
    assert r["guard_per_turn"]["n"] == r["query_embedding"]["n"] > 0
