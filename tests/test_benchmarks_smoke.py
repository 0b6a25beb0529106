"""Smoke runs of every benchmark script (``--smoke``) plus checks of the benchmark plumbing.

No timing assertions: the scripts' figures are checked for shape and for facts that follow from
the data (table ranges, monotone best-so-far rewards, ratios consistent with the medians).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_script(name: str, *args: str, out: Path, shared: Path) -> dict:
    """Run ``benchmarks/<name>.py --smoke`` as a user would; return its JSON result."""
    cmd = [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), "--smoke", "--out", str(out), *args]
    proc = subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SUPERNAS_SHARED": str(shared)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / f"{name}_smoke.json").read_text())
    assert doc["benchmark"] == f"{name}_smoke" and doc["smoke"] is True
    assert f"benchmarks/{name}.py --smoke" in doc["command"]
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["torch"]
    return doc


def test_cell_string_matches_the_space_and_the_tables(shared_dir: Path) -> None:
    from benchmarks.nb201_tables import cell_string, load_tables, nni_search_space, params_of
    from supernas.spaces.nb201 import from_nb201_string, to_nb201_string

    table = load_tables(shared_dir)
    all_skip = {f"e{i}": "skip_connect" for i in range(6)}
    assert table.test_of(all_skip) == pytest.approx(54.30, abs=0.01)  # NB201 paper's collapse row
    assert table.best_test() == pytest.approx(94.37, abs=0.01)
    for cell in list(table.test200)[:200]:
        params = params_of(cell)
        assert cell_string(params) == cell == to_nb201_string(params)
        assert from_nb201_string(cell) == params
    space = nni_search_space()
    assert list(space) == [f"e{i}" for i in range(6)]
    assert all(v["_type"] == "choice" and len(v["_value"]) == 5 for v in space.values())


def test_nb201_tabular_smoke(tmp_path: Path, shared_dir: Path) -> None:
    from benchmarks.nb201_tables import load_tables
    from benchmarks.tuners import SEARCHERS

    doc = run_script("nb201_tabular", "--workers", "1", out=tmp_path, shared=shared_dir)
    table = load_tables(shared_dir)
    assert set(doc["results"]) == set(SEARCHERS)
    assert len(doc["runs"]) == 2 * len(SEARCHERS)
    for run in doc["runs"]:
        small, large = run["budgets"]["10"], run["budgets"]["20"]
        assert large["reward"] >= small["reward"]  # best-so-far never decreases
        assert large["test200"] in table.test200.values()
    for name, res in doc["results"].items():
        assert res["seeds"] == 2, name
        assert 10.0 <= res["budgets"]["20"]["test200"]["mean"] <= 94.38


def test_tuners_are_reproducible_per_seed(shared_dir: Path) -> None:
    from benchmarks.nb201_tabular import run_one

    for name in ("nni-evolution", "supernas-reinforce"):
        first = run_one(name, 3, [15], shared_dir)
        again = run_one(name, 3, [15], shared_dir)
        assert first["budgets"] == again["budgets"], name


def test_service_cost_smoke(tmp_path: Path, shared_dir: Path) -> None:
    doc = run_script("service_cost", "--searchers", "nni-tpe", "supernas-reinforce",
                     out=tmp_path, shared=shared_dir)
    assert [r["searcher"] for r in doc["results"]] == ["nni-tpe", "supernas-reinforce"]
    for r in doc["results"]:
        assert r["trials"] == 200 and r["peak_rss_mib"] >= r["rss_before_tuner_mib"] > 0
        assert r["total_s"] * 1e3 >= r["mean_ms"] > 0


def test_zeroshot_kendall_smoke(tmp_path: Path, shared_dir: Path) -> None:
    from supernas.zeroshot import PROXIES

    doc = run_script("zeroshot_kendall", out=tmp_path, shared=shared_dir)
    assert set(doc["results"]) == set(PROXIES.names())
    assert len(doc["cells_scored"]) == 12 and len({c["cell"] for c in doc["cells_scored"]}) == 12
    for r in doc["results"].values():
        assert -1.0 <= r["kendall_tau"] <= 1.0


def test_speed_smoke(tmp_path: Path) -> None:
    doc = run_script("speed", "--configs", "supernas-darts-1st", "supernas-enas", "child-alone",
                     out=tmp_path, shared=REPO)
    assert set(doc["results"]) == {"nchw", "channels-last"}
    for layout, res in doc["results"].items():
        for name in ("supernas-darts-1st", "supernas-enas", "child-alone"):
            assert "error" not in res[name], res[name].get("error")
            assert res[name]["median_ms"] > 0 and res[name]["peak_rss_mib"] > 0
        expected = res["supernas-enas"]["median_ms"] / res["child-alone"]["median_ms"]
        assert doc["ratios"][layout]["enas_vs_child"] == pytest.approx(expected)
        assert doc["ratios"][layout]["darts_1st_vs_nni"] is None  # NNI not run here
        # paired: the child run trained exactly the architectures the ENAS run sampled
        assert res["child-alone"]["info"]["paired"] is True
        assert len(res["supernas-enas"]["info"]["archs"]) == res["child-alone"]["info"]["children"]
    from benchmarks.report import main as report_main

    (tmp_path / "speed_smoke.json").rename(tmp_path / "speed.json")
    text = report_main(["--results", str(tmp_path), "--notes", str(tmp_path),
                        "--output", str(tmp_path / "B.md")]).read_text()
    assert "| supernas-enas | channels-last |" in text and "archs 2 recorded" in text
    assert "Ratios from this run (nchw, process CPU time)" in text


@pytest.mark.slow
def test_speed_smoke_nni_darts(tmp_path: Path) -> None:
    doc = run_script("speed", "--configs", "nni-darts", "--layouts", "channels-last",
                     out=tmp_path, shared=REPO)
    res = doc["results"]["channels-last"]["nni-darts"]
    assert "error" not in res, res.get("error")
    assert res["info"]["arch"] > 0


def test_oneshot_nb201_smoke(tmp_path: Path, shared_dir: Path) -> None:
    from benchmarks.nb201_tables import load_tables

    doc = run_script("oneshot_nb201", "--algos", "darts", "enas", "--threads", "1",
                     out=tmp_path, shared=shared_dir)
    table = load_tables(shared_dir)
    assert [r["algo"] for r in doc["runs"]] == ["darts", "enas"]
    for run in doc["runs"]:
        assert "error" not in run, run.get("error")
        assert run["test200"] == table.test200[run["cell"]]
        assert run["skip_connections"] == run["cell"].count("skip_connect")
        assert run["steps"] == 2 and run["cpu_minutes"] > 0
    from benchmarks.report import main as report_main

    (tmp_path / "oneshot_nb201_smoke.json").rename(tmp_path / "oneshot_nb201_a.json")
    text = report_main(["--results", str(tmp_path), "--notes", str(tmp_path),
                        "--output", str(tmp_path / "B.md")]).read_text()
    for run in doc["runs"]:  # pooled row per algorithm, then the run with its escaped cell
        assert f"| {run['algo']} | 0 | {run['test200']:.2f} ± 0.00 |" in text
        assert run["cell"].replace("|", "\\|") in text


@pytest.mark.slow
def test_spos_prior_alone_smoke(tmp_path: Path, shared_dir: Path) -> None:
    doc = run_script("spos_prior_alone", out=tmp_path, shared=shared_dir)
    (row,) = doc["rows"]
    assert row["admitted"] >= 20 and row["admitted_best_test200"] >= row["prior_best_test200"]
    assert row["admitted_best_test200"] >= row["admitted_mean_test200"]


def test_oneshot_nb201_smoke_nni(tmp_path: Path, shared_dir: Path) -> None:
    doc = run_script("oneshot_nb201", "--algos", "nni-darts", "--threads", "1",
                     out=tmp_path, shared=shared_dir)
    run = doc["runs"][0]
    assert "error" not in run, run.get("error")
    assert 0.2 <= run["max_op_prob"] <= 1.0 and not math.isnan(run["test200"])


def test_report_renders_every_section(tmp_path: Path, shared_dir: Path) -> None:
    from benchmarks.report import main as report_main

    run_script("nb201_tabular", "--workers", "1", "--searchers", "nni-random", "supernas-reinforce",
               out=tmp_path, shared=shared_dir)
    (tmp_path / "nb201_tabular_smoke.json").rename(tmp_path / "nb201_tabular.json")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "nb201_tabular.md").write_text("A hand-written note.")
    out = report_main(["--results", str(tmp_path), "--notes", str(notes),
                       "--output", str(tmp_path / "B.md")])
    text = out.read_text()
    assert "| supernas-reinforce |" in text and "93.92 ± 0.30" in text
    assert "A hand-written note." in text and "Command: `" in text
    from benchmarks.report_sections import SECTIONS

    # every other section (all but the tabular one given results) says how to produce them
    assert text.count("_No results yet") == len(SECTIONS) - 1


def test_katib_latency_smoke(tmp_path: Path) -> None:
    """A real service process over gRPC; the report renders its rows with provenance."""
    from benchmarks.report import main as report_main

    doc = run_script("katib_latency", out=tmp_path, shared=REPO)
    assert [(r["algorithm"], r["trials"]) for r in doc["rows"]] == [("supernas-enas", 5), ("darts", 5)]
    for r in doc["rows"]:
        assert 0 < r["p50_ms"] <= r["p99_ms"] and r["rss_mib"] > 0 and r["calls"] == 3
    (tmp_path / "katib_latency_smoke.json").rename(tmp_path / "katib_latency.json")
    text = report_main(["--results", str(tmp_path), "--notes", str(tmp_path),
                        "--output", str(tmp_path / "B.md")]).read_text()
    assert "| supernas-enas | 5 |" in text and "katib_latency.py --smoke" in text


def test_maxpool_smoke(tmp_path: Path) -> None:
    doc = run_script("maxpool", out=tmp_path, shared=REPO)
    assert [(r["shape"], r["stride"]) for r in doc["rows"]] == [([16, 8, 32, 32], 1), ([16, 8, 32, 32], 2)]
    for r in doc["rows"]:
        assert r["torch_ms"] > 0 and r["ratio"] == pytest.approx(r["supernas_ms"] / r["torch_ms"])
