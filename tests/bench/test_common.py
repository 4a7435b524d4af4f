"""bench/_common.py: statistics, result files, environments and memory sampling."""

from __future__ import annotations

import json
import os
import socket

from .conftest import load_bench


def test_summary_reports_median_p95_min_and_count():
    common = load_bench("_common")
    s = common.summary([float(x) for x in range(1, 101)])
    assert s == {"n": 100, "median_ms": 50.5, "p95_ms": 95.0, "min_ms": 1.0}
    assert common.summary([]) == {"n": 0}


def test_percentile_is_nearest_rank():
    common = load_bench("_common")
    assert common.percentile([5, 1, 3], 0) == 1
    assert common.percentile([5, 1, 3], 100) == 5
    assert common.percentile([5, 1, 3], 50) == 3


def test_write_result_adds_date_machine_and_load(tmp_path):
    common = load_bench("_common")
    path = common.write_result("demo", {"value": 3}, tmp_path)
    data = json.loads(path.read_text())
    assert path.name == "demo.json"
    assert data["benchmark"] == "demo" and data["value"] == 3
    assert data["machine"]["cores"] == os.cpu_count()
    assert len(data["date"]) == 10 and "load_average_end" in data
    assert common.read_result("demo", tmp_path) == data
    assert common.read_result("missing", tmp_path) is None


def test_child_env_drops_stray_settings_but_keeps_the_shared_guard(monkeypatch):
    common = load_bench("_common")
    monkeypatch.setenv("KRATOMBOT_TOP_K", "9")
    monkeypatch.setenv("KRATOMBOT_GUARD_CACHE", "/somewhere")
    env = common.child_env(KRATOMBOT_DATA_DIR="/state")
    assert "KRATOMBOT_TOP_K" not in env
    assert env["KRATOMBOT_GUARD_CACHE"] == "/somewhere"
    assert env["KRATOMBOT_DATA_DIR"] == "/state"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert str(common.ROOT) in env["PYTHONPATH"].split(os.pathsep)


def test_free_port_can_be_bound():
    common = load_bench("_common")
    port = common.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_memory_of_this_process_is_seen():
    import time

    common = load_bench("_common")
    # Without children: servers other tests left running would make the sum move on its own.
    with common.RssSampler(os.getpid(), interval=0.01, children=False) as sampler:
        time.sleep(0.05)
        before = sampler.last
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
        time.sleep(0.1)
    assert sampler.max_seen - before >= 48 * 2**20
    assert common.peak_rss_self() >= sampler.max_seen * 0.9
    assert common.rss_bytes(2**22 + 12345) == 0  # no such process
    del block


def test_dir_size_and_active_build_dir(tmp_path):
    common = load_bench("_common")
    (tmp_path / "index" / "builds" / "v1").mkdir(parents=True)
    (tmp_path / "index" / "builds" / "v1" / "a.bin").write_bytes(b"x" * 1000)
    (tmp_path / "index" / "ACTIVE.json").write_text(json.dumps({"version": "v1"}))
    assert common.active_build_dir(tmp_path) == tmp_path / "index" / "builds" / "v1"
    assert common.dir_size(tmp_path / "index" / "builds") == 1000
