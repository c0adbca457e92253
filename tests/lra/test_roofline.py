"""The figures beside the device's limits: XLA's counts, the measured ceilings, the shares."""

import json

import jax
import jax.numpy as jnp
import pytest

from lra import roofline
from lra.cli import main


def test_the_ceilings_are_measured_and_xla_counts_what_they_move():
    copy, f32, bf16, fft = roofline.limits(copy_bytes=8 * 2**20, matmul_n=128, runs=1)
    # The copy x + 1 reads and writes the array once: XLA's byte count is ours.
    assert copy["bytes_accessed"] == 2 * 8 * 2**20 and copy["bytes_per_s"] > 0
    n = 128
    assert f32["dtype"] == "float32" and f32["flops"] == 2 * n**3  # n³ multiply-adds
    # A CPU multiplies bfloat16 in float32: XLA adds the conversions of both inputs and the
    # output (3n²); the rate counts the product's 2n³ alone.
    assert bf16["dtype"] == "bfloat16" and 2 * n**3 <= bf16["flops"] <= 2 * n**3 + 3 * n**2
    for row in (f32, bf16):
        assert row["flops_per_s"] == pytest.approx(2 * n**3 / (row["median_ms"] / 1e3))
    # The FFT: rows of 16,384 values filling the copy's 8 MiB, each padded to 32,768 points;
    # XLA counts 8 n log2 n per real transform, and the rate is in that count.
    N = roofline.FFT_N
    assert (fft["n"], fft["rows"]) == (N, 8 * 2**20 // (4 * N // 2))
    assert fft["flops"] == fft["fft_flops"] == fft["rows"] * 8 * N * 15  # log2(32,768) = 15
    assert fft["flops_per_s"] == pytest.approx(fft["flops"] / (fft["median_ms"] / 1e3))
    assert roofline.ceilings([copy, f32, bf16, fft]) == {
        "copy": copy["bytes_per_s"], "float32": f32["flops_per_s"],
        "bfloat16": bf16["flops_per_s"], "fft": fft["flops_per_s"]}


def test_a_programs_ffts_are_counted_as_xla_counts_them():
    """The gradient of a convolution by FFT: its forward and backward transforms read from the
    optimised HLO, 8 log2 n per element of each transform's input."""
    def conv(u, k):  # (4, 32) by (32,): padded to n = 64
        return jnp.fft.irfft(jnp.fft.rfft(u, n=64) * jnp.fft.rfft(k, n=64), n=64)[:, :32]

    compiled = jax.jit(jax.grad(lambda u, k: jnp.sum(conv(u, k) ** 2), argnums=(0, 1))).lower(
        jnp.ones((4, 32)), jnp.ones(32)).compile()
    counts = roofline.cost(compiled)
    # Forward: rfft of k (64 real values) and of u (4 x 64), irfft of the product (4 x 33
    # complex); backward: rfft of the cotangent (4 x 64), irfft for u's gradient (4 x 33) and
    # for k's (33). log2(64) = 6.
    assert counts["fft_flops"] == 8 * 6 * (64 + 256 + 132 + 256 + 132 + 33)
    assert counts["fft_flops"] < counts["flops"]  # and the products, the padding, the sum
    assert roofline.cost(jax.jit(lambda u: u * 2).lower(jnp.ones(8)).compile())["fft_flops"] == 0


def test_shares_say_how_far_from_each_limit_and_which_binds():
    limit = {"copy": 100e9, "float32": 10e12, "bfloat16": 40e12}
    row = {"bench": "layer", "L": 1024, "conv": "fft", "dtype": "float32", "median_ms": 2.0,
           "flops_per_s": 1e12, "bytes_per_s": 50e9}
    s = roofline.shares(row, limit)
    assert s.pop("bound") == "memory"
    assert s == pytest.approx({"of_bandwidth": 0.5, "of_matmul": 0.1, "of_fft": None,
                               "intensity": 20.0, "ridge": 100.0})
    heavy = roofline.shares({**row, "dtype": "bfloat16", "flops_per_s": 30e12}, limit)
    assert heavy["of_matmul"] == pytest.approx(0.75) and heavy["bound"] == "matrix"
    # Against the FFT's rate too: the FFT path's layer, near it, is FFT-bound.
    fft = roofline.shares({**row, "fft_flops_per_s": 1.8e12}, {**limit, "fft": 2e12})
    assert fft["of_fft"] == pytest.approx(0.9) and fft["bound"] == "FFT"
    assert roofline.shares(row, {})["of_bandwidth"] is None  # a record without ceilings


def test_roofline_prints_a_bench_record_as_a_table(tmp_path, capsys):
    rows = [{"bench": "env", "device": {"kind": "cpu"}},
            {"bench": "limit", "limit": "copy", "bytes_per_s": 100e9},
            {"bench": "limit", "limit": "matmul", "dtype": "float32", "flops_per_s": 10e12},
            {"bench": "limit", "limit": "fft", "dtype": "float32", "flops_per_s": 4e12},
            {"bench": "step", "task": "listops", "config": "full", "batch": 50, "conv": "fft",
             "dtype": "float32", "set": "", "median_ms": 40.0, "flops_per_s": 2e12,
             "fft_flops_per_s": 2e12, "bytes_per_s": 25e9}]
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["bench", "--roofline", str(path)]) == 0
    out = capsys.readouterr().out
    assert "copy 100 GB/s, matrix product float32 10.00 TFLOP/s" in out
    assert "FFT 4.00 TFLOP/s (XLA's count, n = 32,768)" in out
    assert "| listops full step, batch 50, fft float32 | 40.0 | 2,000.0 | 25.0 | 25.0% | " \
           "20.0% | 50.0% | 80.0 (100) | FFT |" in out
    path.write_text(path.read_text() + "not json\n")
    assert main(["bench", "--roofline", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}, line 6: not a JSON line; pass a file `lra bench --out`" in err
    assert main(["bench", "--roofline", str(tmp_path / "none.jsonl")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
