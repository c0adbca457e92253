"""The device check's CPU smoke mode: the same sections and records as on the device, in seconds."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from lra import targets

ROOT = Path(__file__).resolve().parents[2]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_smoke_check_measures_predicts_trains_and_reports(tmp_path):
    out = tmp_path / "check"
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "device_check.py"), "--smoke",
                           "all,tune,plan", str(out), "--export", str(tmp_path / "back")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "LRA_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = lines(out / "summary.jsonl")
    assert [r["step"] for r in summary] == [
        "bench", "dryrun-listops", "targets", "data-listops", "train-listops", "report", "tune",
        "plan-listops"]
    steps = [r for r in summary if r["step"] != "targets"]
    assert all(r["exit_code"] == 0 and not r["over_limit"] for r in steps), summary
    # The targets need full dry runs: the smoke check has none, so every verdict stays open.
    (goals,) = [r for r in summary if r["step"] == "targets"]
    assert goals["six_runs"]["missing"] == list(targets.LRA_TASKS)
    assert {t: e["met"] for t, e in goals["epochs"].items()} == {"pathx": None, "listops": None}
    bench = lines(out / "bench.jsonl")
    assert bench[0]["bench"] == "env" and bench[0]["device"]["platform"] == "cpu"
    kinds = {(r["bench"], r.get("conv")) for r in bench[1:] if r["bench"] in ("layer", "model")}
    assert kinds == {("layer", "fft"), ("layer", "chunked"), ("model", "fft"),
                     ("model", "chunked")}
    assert [r["conv"] in ("fft", "chunked") for r in bench if r["bench"] == "step"] == [True]
    assert [r["limit"] for r in bench if r["bench"] == "limit"] == [
        "copy", "matmul", "matmul", "fft"]
    assert all(r["median_ms"] > 0 and r["flops"] > 0 and r["bytes_accessed"] > 0
               for r in bench[1:])
    assert all(r["peak_bytes"] > 0 for r in bench[1:] if r["bench"] != "limit")
    (dry,) = lines(out / "dryrun.jsonl")  # the dry run of `train --dry-run --json`
    assert (dry["task"], dry["variant"], dry["batch"], dry["length"], dry["devices"]) == (
        "listops", "smoke", 8, 2048, 1)
    assert dry["fits"] and dry["grad_accum_to_fit"] is None
    assert 0 < dry["peak_bytes"] < dry["memory_bytes"] and dry["params"] > 0
    assert dry["sizes"] == {"train": 96_000, "val": 2_000, "test": 2_000}  # the release's
    assert dry["steps_per_epoch"] == 12_000
    assert dry["epoch_s"] == pytest.approx(12_000 * dry["step_s"] + 250 * dry["eval_step_s"])
    assert dry["run_s"] == pytest.approx(dry["epoch_s"])  # smoke: 1 epoch
    assert dry["s4_epoch_time"] is None  # S4's figure is for the full config only
    assert dry["provenance"]["commit"]
    # The dry runs' table, printed by the check and by `lra bench --dryrun-table`.
    table = subprocess.run([sys.executable, "-m", "lra", "bench", "--dryrun-table",
                            str(out / "dryrun.jsonl")], cwd=ROOT, capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    (row,) = [line for line in table.stdout.splitlines() if line.startswith("| listops")]
    assert row.startswith("| listops (8) |") and "| fits |" in row and row.endswith("| - |")
    assert row in proc.stdout
    result = json.loads((out / "runs" / "listops" / "result.json").read_text())
    assert result["epochs_completed"] == 2 and result["data"]["kind"] == "generated"
    table = (out / "report" / "lra_table.md").read_text()
    assert "ours: smoke config with train.epochs=2, generated data, 2/2 epochs" in table
    # The tuning set after the ceilings: the ListOps step under each path and dtype (in smoke
    # mode two of the four sets, which differ in both), then under the platform's first XLA
    # flag, at the faster float32 path (the only one measured here).
    tune = lines(out / "tune.jsonl")
    assert [(r["conv"], r["dtype"], r["xla_flags"]) for r in tune if r["bench"] == "step"] == [
        ("fft", "float32", ""), ("chunked", "bfloat16", ""),
        ("fft", "float32", "--xla_cpu_use_xnnpack=false")]
    assert [r.get("limit") for r in tune if r["bench"] == "limit"] == [
        "copy", "matmul", "matmul", "fft"]
    table = subprocess.run([sys.executable, "-m", "lra", "bench", "--tune-table",
                            str(out / "tune.jsonl")], cwd=ROOT, capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    assert [line.split(" | ")[0] for line in table.stdout.splitlines()[4:]] == [
        "| fft float32", "| chunked bfloat16", "| fft float32, `--xla_cpu_use_xnnpack=false`",
        "| fastest"]
    # The plan for the lent machine's GPU, made by XLA's GPU compiler on this CPU (lra/plan.py).
    (planned,) = lines(out / "plan.jsonl")
    assert (planned["device"], planned["task"], planned["batch"]) == ("NVIDIA H200", "listops", 8)
    assert [s["fits"] for s in planned["steps"]] == [True] and planned["evals"][0]["fits"]
    # Beside the dry run (on this CPU here, on the H200 itself there): memory, bytes, and the
    # share of the datasheet's bandwidth the measured step reached.
    step = planned["steps"][0]
    assert (step["conv"], step["remat"]) == (dry["conv"], dry["remat"])
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith("| listops (h200) |")]
    assert f"({step['peak_bytes'] / dry['peak_bytes']:.2f}x)" in row
    assert f"({step['traffic_s'] / dry['step_s']:.0%}) |" in row
    # What a lent machine sends back: six files, the records and logs in one archive.
    back = tmp_path / "back"
    assert sorted(p.name for p in back.iterdir()) == [
        "bench.jsonl", "dryrun.jsonl", "lra_table.md", "records.tar.gz", "summary.jsonl",
        "tune.jsonl"]
    with tarfile.open(back / "records.tar.gz") as tar:
        names = tar.getnames()
    assert "runs/listops/result.json" in names and "train-listops.log" in names
    assert "plan.jsonl" in names and "plan-listops.log" in names
    assert not [n for n in names if "checkpoints" in n or n.startswith("data/")]


def test_a_step_is_stopped_by_sigterm_after_its_time_then_killed_at_its_limit():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from device_check import Check
    finally:
        sys.path.pop(0)
    # A process that saves on SIGTERM (as the trainer does) exits in its own time...
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(143)); " \
           "time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    assert Check._wait(proc, limit=20, stop_after=1) == 143
    # ... one that ignores it is killed at the limit and reported as over it.
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    assert Check._wait(proc, limit=3, stop_after=1) == 124
