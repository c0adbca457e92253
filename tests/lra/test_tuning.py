"""The tune table: each set's step against the default a run takes, read off a record."""

import json

from lra.cli import main


def step(task, conv, dtype, ms, flags="", batch=50):
    return {"bench": "step", "task": task, "batch": batch, "conv": conv, "dtype": dtype,
            "xla_flags": flags, "median_ms": ms}


def test_each_set_is_set_against_the_faster_float32_path_under_xlas_flags(tmp_path, capsys):
    rows = [{"bench": "env", "device": {"kind": "NVIDIA H200"}, "commit": "0123456789abc",
             "dirty": False},
            {"bench": "limit", "limit": "copy", "median_ms": 1.0},
            step("listops", "fft", "float32", 40.0), step("listops", "chunked", "float32", 32.0),
            step("listops", "chunked", "bfloat16", 16.0),
            step("listops", "chunked", "float32", 36.0, "--xla_gpu_triton_gemm_any=true"),
            step("pathx", "fft", "float32", 100.0, batch=16),
            {"bench": "step", "task": "pathx", "set": "model.conv=chunked", "failed": "OOM"}]
    path = tmp_path / "tune.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["bench", "--tune-table", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Device: NVIDIA H200, commit 0123456; ms per step")
    # The default of ListOps is chunked float32 (auto's faster path), not the first row; bfloat16
    # is not a default however fast; Path-X has only its default.
    assert out[2:] == [
        "| set | listops (batch 50) | pathx (batch 16) |", "|---|---|---|",
        "| fft float32 | 40 (+25.0%) | 100 |",
        "| chunked float32 | 32 | - |",
        "| chunked bfloat16 | 16 (-50.0%) | - |",
        "| chunked float32, `--xla_gpu_triton_gemm_any=true` | 36 (+12.5%) | - |",
        "| fastest | chunked bfloat16 | fft float32 |",
        "- failed: pathx under model.conv=chunked: OOM"]


def test_a_record_without_steps_or_no_record_is_one_line(tmp_path, capsys):
    path = tmp_path / "bench.jsonl"
    path.write_text(json.dumps({"bench": "env"}) + "\n")
    assert main(["bench", "--tune-table", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: no step rows; pass a file `lra bench --tune --out` wrote")
    assert main(["bench", "--tune-table", str(tmp_path / "none.jsonl")]) == 2
    assert "--tune-table" in capsys.readouterr().err


def test_a_set_that_fails_is_a_row_saying_why_and_the_tuning_goes_on(monkeypatch):
    from lra import bench

    monkeypatch.setattr(bench, "TUNE_SETS", (
        ("model.conv=chunked", "train.xla_flags=--xla_not_in_this_xla=1"),
        ("model.conv=fft", "model.dtype=float32")))
    rows = list(bench.bench_tune(quick=True, device=False))
    assert rows[0]["failed"] == (
        "train.xla_flags='--xla_not_in_this_xla=1': No such compile option: "
        "'xla_not_in_this_xla' (XLA_FLAGS=--help python -c 'import jax; jax.numpy.zeros(1)' "
        "lists XLA's flags)")
    assert rows[0]["set"] == "model.conv=chunked train.xla_flags=--xla_not_in_this_xla=1"
    # The next set, then the platform's first flag under the faster float32 path measured.
    assert [(r["conv"], r["xla_flags"]) for r in rows[1:]] == [
        ("fft", ""), ("fft", bench.TUNE_FLAGS["cpu"][0])]
    assert all(r["median_ms"] > 0 for r in rows[1:])
