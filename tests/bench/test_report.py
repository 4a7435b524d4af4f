"""bench/report.py: RESULTS.md tables and the plot from result files."""

from __future__ import annotations

import json

from .conftest import load_bench


def _s(median, p95=None, n=10):
    return {"n": n, "median_ms": median, "p95_ms": p95 if p95 is not None else median * 1.5, "min_ms": median / 2}


def _results(folder, *, users_32_p95=1500.0, incremental_ms=3000.0):
    common = load_bench("_common")
    common.write_result("guard_latency", {"guard_per_turn": _s(2.0), "query_embedding": _s(15.0)}, folder)
    common.write_result("reply_latency", {
        "questions": 3, "repeats": 2, "reply": _s(30.0), "floor": _s(15.0), "baseline_langchain": _s(16.0),
        "stages": {"embed": {"covers": "query embedding", "share_of_total": 0.5, **_s(15.0)}},
        "reply_by_answer_source": {"faq": _s(25.0)}, "ratio_reply_to_floor": 2.0,
        "ratio_reply_to_floor_per_question": {"median": 2.0, "p95": 2.5, "n": 6}, "ratio_baseline_to_floor": 1.07,
        "ratio_reply_to_baseline": 1.88, "met": True, "load_average_start": [1.0, 1.0, 1.0],
    }, folder)
    common.write_result("index_build", {
        "documents": 42, "chunks": 423, "embedded_texts_per_full_build": 2300,
        "full_build": {"runs": [{"embed_seconds": 50.0, "write_seconds": 3.0}], "seconds": {"n": 1, "median_s": 53.0},
                       "median_chunks_per_s": 8.0, "median_texts_per_s": 43.4},
        "incremental": {"runs": [{"embedded_texts": 2, "load_corpus_ms": 200.0, "build_ms": 2800.0, "embed_ms": 100.0}],
                        "total": _s(incremental_ms, n=1)},
        "no_change_check": _s(250.0), "met": incremental_ms <= 5000,
    }, folder)
    common.write_result("cold_start", {"scenarios": {
        "library_index_built": {"runs": [{"total_s": 8.0, "imports_s": 0.5, "load_chatbot_s": 7.0}],
                                "total_s": {"n": 1, "median": 8.0, "p95": 8.0}, "first_reply_ms": _s(400.0)},
    }}, folder)
    levels = []
    for chunks, p95 in ((1000, 3.0), (10000, 5.0), (100000, 20.0)):
        levels.append({"build": {"chunks": chunks, "documents": chunks // 30, "sentences": chunks * 3, "build_s": chunks / 200,
                                 "records_per_s": 1200.0, "disk_mib": chunks / 60, "peak_rss_mib": 200.0},
                       "query": {"rss_end_mib": 700.0, "index_rss_mib": 100.0, "topk": _s(1.0), "retrieve": _s(p95 / 2, p95),
                                 "reply": _s(30.0)}})
    common.write_result("scale", {"embedding_method": "composed", "levels": levels, "met": True,
                                  "composition_check": {"median_cosine": 0.92, "p5_cosine": 0.83}}, folder)
    conc = []
    for users, p95 in ((1, 100.0), (8, 900.0), (32, users_32_p95), (64, 4000.0)):
        conc.append({"users": users, "messages_per_user": 20, "runs": [{}], "throughput_msg_s": 10.0,
                     "latency": _s(p95 / 2, p95, n=users * 20), "first_text": _s(p95 / 3), "errors": 0,
                     "server_cpu_cores": 0.9, "peak_rss_mib": 800.0})
    common.write_result("concurrency", {
        "app": "app", "client": "client", "torch_threads": "default", "startup_s": 12.0, "rss_idle_mib": 600.0,
        "rss_after_warmup_mib": 650.0, "rss_peak_mib": 800.0, "levels": conc,
        "targets": {"users_32": {"errors": 0, "p95_ms": users_32_p95, "met": users_32_p95 <= 2000},
                    "rss": {"peak_mib": 800.0, "met": True}},
    }, folder)


def test_renders_every_section_and_the_plot(tmp_path):
    report = load_bench("report")
    results = tmp_path / "results"
    _results(results, users_32_p95=2600.0)
    md, png = tmp_path / "RESULTS.md", tmp_path / "RESULTS.png"
    report.main(["--results", str(results), "--md", str(md), "--png", str(png)])
    text = md.read_text()
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    for heading in ("Machine and date", "Targets", "Warm reply", "Cold start", "Index build", "Scale", "Concurrency"):
        assert f"## {heading}" in text
    targets = text.split("## Targets")[1].split("##")[0]
    assert "2.0× (30.0 ms / 15.0 ms) | **met**" in targets
    assert "p95 2,600 ms" in targets and targets.count("**missed**") == 1  # only the 32-user target is missed
    assert "| 100,000 |" in text and "![" in text and "RESULTS.png" in text


def test_keeps_hand_written_notes_and_says_what_was_not_run(tmp_path):
    report = load_bench("report")
    md = tmp_path / "RESULTS.md"
    md.write_text(f"# Results\n\nnotes before\n\n{report.START}\nold tables\n{report.END}\n\nnotes after\n")
    report.main(["--results", str(tmp_path / "empty"), "--md", str(md), "--png", str(tmp_path / "p.png")])
    text = md.read_text()
    assert text.startswith("# Results\n\nnotes before") and text.rstrip().endswith("notes after")
    assert "old tables" not in text
    assert "No benchmark has been run yet" in text and "Not run (`bench/scale.py`)" in text
    assert not (tmp_path / "p.png").exists()


def test_before_after_pairs_are_tabulated(tmp_path):
    report = load_bench("report")
    common = load_bench("_common")
    hot = tmp_path / "results" / "hotspots"
    for label, ms in (("before-1", 4500.0), ("after-1", 2500.0)):
        (hot / f"index-{label}").mkdir(parents=True)
        common.write_result("index_build", {
            "incremental": {"total": _s(ms), "runs": [{"load_corpus_ms": ms / 10}]}, "no_change_check": _s(ms / 20),
        }, hot / f"index-{label}")
    (hot / "scale100k-before-1.json").write_text(json.dumps(
        {"retrieve": _s(10.0), "reply": _s(100.0), "reply_stages": {"compose": _s(40.0)}}))
    (hot / "scale100k-after-1.json").write_text(json.dumps(
        {"retrieve": _s(2.0), "reply": _s(40.0), "reply_stages": {"compose": _s(2.0)}}))
    section = report.hotspot_section(hot)
    assert "4,500 ms" in section and "2,500 ms" in section
    assert "compose 40.0 ms" in section and "compose 2.0 ms" in section
