"""How far a benchmark sits from its device's limits: XLA's operation and byte counts of each
compiled program, beside the copy bandwidth and matrix-product rate measured on the same device.

Each timed program's count comes from XLA's cost analysis: the floating-point operations and the
bytes its fused operations read and write, each loop's body as many times as it runs
(lra/hlo_cost.py; records made before it counted each body once). That byte count is what the
program would move if nothing stayed in cache between fusions: near the memory traffic of a GPU's
program, where intermediates are larger than the cache, and above a CPU's. The ceilings are
measured, not taken from a datasheet, so that they hold for the device, its clocks and its JAX: the
copy `x + 1` of a float32 array much larger than any cache (bytes read plus written per second), an
(n, n) by (n, n) matrix product in float32 and bfloat16 (2n³ operations per second), and the FFT
convolution's transform at its longest: float32 rows of 16,384 values, zero-padded to FFT_N =
32,768 points (Path-X's layer, models/s4d.py), as many rows as fill the copy's array. The FFT's
rate is in XLA's own count of its operations (8 log2 n per element of each transform's input: 8 n
log2 n for a real transform of n points, about 3x the usual 2.5 n log2 n). A program's FFTs are
counted the same way, from its compiled HLO (`fft_flops`, lra/hlo_cost.py `ffts`), so its share of
the FFT rate (its FFTs' operations per second of its time, against the ceiling) says what part of
its time its FFTs would take at the ceiling. The shares of the bandwidth and of the matrix rate
count all its bytes and all its operations. The limit a program sits closest to, by its share of
each, is the one that binds: memory, the matrix rate or the FFT rate.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp

from lra import hlo_cost
from lra.timing import compile_and_time

GB = 1e9
FFT_N = 2 * 16_384  # the longest FFT the tasks' layers take: Path-X, L = 16,384, padded to 2L


def cost(compiled) -> dict[str, float | None]:
    """{'flops', 'bytes_accessed'} of a compiled program, each loop's body as many times as it
    runs (lra/hlo_cost.py), or XLA's own counts (each body once) where JAX cannot analyse its
    module; None where there are neither; and 'fft_flops', its FFTs' part."""
    counts = hlo_cost.counts(compiled)
    if counts["flops"] is None:
        try:
            analysis = compiled.cost_analysis()
        except Exception:  # noqa: BLE001 - a backend without the analysis: no counts
            analysis = None
        if isinstance(analysis, list | tuple):  # older JAX: one dict per program
            analysis = analysis[0] if analysis else None
        analysis = analysis or {}
        counts = {**counts, "flops": analysis.get("flops"),
                  "bytes_accessed": analysis.get("bytes accessed")}
    return {k: counts[k] for k in ("flops", "bytes_accessed", "fft_flops")}


def rates(counts: dict[str, float | None], seconds: float) -> dict[str, float | None]:
    """Operations (all, and the FFTs') and bytes per second over a run of `seconds`."""
    per_s = {"flops_per_s": "flops", "bytes_per_s": "bytes_accessed",
             "fft_flops_per_s": "fft_flops"}
    return {rate: counts[key] / seconds if counts.get(key) else None
            for rate, key in per_s.items()}


def _median_s(fn, *args, runs: int) -> tuple[float, Any]:
    """(median seconds of `runs` runs after one warm-up, the compiled program)."""
    compiled, _, times = compile_and_time(fn, *args, runs=runs)
    return statistics.median(times), compiled


def limits(copy_bytes: int, matmul_n: int, runs: int = 5) -> Iterator[dict]:
    """The device's ceilings as bench rows: the copy's bytes/s, each dtype's matrix flops/s,
    the FFT's flops/s (module docstring)."""
    x = jnp.zeros((copy_bytes // 4,), jnp.float32)
    seconds, compiled = _median_s(lambda a: a + 1, x, runs=runs)
    counts = cost(compiled)
    yield {"bench": "limit", "limit": "copy", "bytes": copy_bytes, "median_ms": 1e3 * seconds,
           **counts, "bytes_per_s": 2 * copy_bytes / seconds}
    del x
    for dtype in ("float32", "bfloat16"):
        a = jax.random.normal(jax.random.key(0), (matmul_n, matmul_n)).astype(dtype)
        seconds, compiled = _median_s(jnp.matmul, a, a, runs=runs)
        yield {"bench": "limit", "limit": "matmul", "dtype": dtype, "n": matmul_n,
               "median_ms": 1e3 * seconds, **cost(compiled),
               "flops_per_s": 2 * matmul_n**3 / seconds}
    rows = max(1, copy_bytes // (4 * FFT_N // 2))
    u = jax.random.normal(jax.random.key(0), (rows, FFT_N // 2))
    seconds, compiled = _median_s(lambda v: jnp.fft.rfft(v, n=FFT_N), u, runs=runs)
    counts = cost(compiled)
    yield {"bench": "limit", "limit": "fft", "n": FFT_N, "rows": rows, "dtype": "float32",
           "median_ms": 1e3 * seconds, **counts, **rates(counts, seconds)}


def ceilings(rows: list[dict]) -> dict[str, float]:
    """{'copy': bytes/s, 'float32': flops/s, 'bfloat16': flops/s, 'fft': flops/s} from a
    record's limit rows (a record made before the FFT's ceiling has no 'fft')."""
    out = {}
    for r in (r for r in rows if r.get("bench") == "limit"):
        if r["limit"] == "copy":
            out["copy"] = r["bytes_per_s"]
        elif r["limit"] == "fft":
            out["fft"] = r.get("fft_flops_per_s") or r["flops_per_s"]
        else:
            out[r["dtype"]] = r["flops_per_s"]
    return out


BOUNDS = {"of_bandwidth": "memory", "of_matmul": "matrix", "of_fft": "FFT"}


def shares(row: dict, limit: dict[str, float]) -> dict[str, float | None]:
    """A timed row's share of the measured bandwidth, of its dtype's matrix rate and of the FFT
    rate, its operations per byte beside the ridge point (matrix rate / bandwidth) of that
    dtype, and the limit it sits closest to ('bound', where the bandwidth's share and a rate's
    are known)."""
    dtype = row.get("dtype", "float32")
    bw, mm, fft = limit.get("copy"), limit.get(dtype), limit.get("fft")
    flops, moved = row.get("flops_per_s"), row.get("bytes_per_s")
    ffts = row.get("fft_flops_per_s")
    out = {"of_bandwidth": moved / bw if moved and bw else None,
           "of_matmul": flops / mm if flops and mm else None,
           "of_fft": ffts / fft if ffts and fft else None,
           "intensity": flops / moved if flops and moved else None,
           "ridge": mm / bw if mm and bw else None}
    known = {k: out[k] for k in BOUNDS if out[k] is not None}
    if out["of_bandwidth"] is not None and len(known) > 1:
        out["bound"] = BOUNDS[max(known, key=known.get)]
    return out


def _what(r: dict) -> str:
    if r["bench"] == "layer":
        return f"layer L={r['L']:,} {r['conv']} {r['dtype']}"
    if r["bench"] == "model":
        return f"{r['layers']}-layer model L={r['L']:,} {r['conv']} {r['dtype']}"
    if r["bench"] == "step":
        return (f"{r['task']} {r['config']} step, batch {r['batch']}, "
                + (r["set"] if r.get("set") else f"{r.get('conv', '')} {r.get('dtype', '')}"))
    return r["bench"]


def _pct(x: float | None) -> str:
    return f"{100 * x:.1f}%" if x is not None else "-"


def table(rows: list[dict]) -> list[str]:
    """A bench record as a markdown table: each timed row's time, rates and shares of the
    device's measured limits (module docstring)."""
    limit = ceilings(rows)
    env = next((r for r in rows if r.get("bench") == "env"), {})
    kind = env.get("device", {}).get("kind", "?")
    fft = (f", FFT {limit['fft'] / 1e12:,.2f} TFLOP/s (XLA's count, n = {FFT_N:,})"
           if "fft" in limit else "")
    lines = [f"Device: {kind}; measured ceilings: copy "
             f"{limit.get('copy', 0) / GB:,.0f} GB/s, matrix product float32 "
             f"{limit.get('float32', 0) / 1e12:,.2f} TFLOP/s, bfloat16 "
             f"{limit.get('bfloat16', 0) / 1e12:,.2f} TFLOP/s{fft}. XLA's byte counts assume "
             "nothing stays in cache between fusions: a share of the bandwidth above 100% means "
             "the data stayed in cache.", "",
             "| benchmark | ms | GFLOP/s | GB/s | of bandwidth | of matrix rate | of FFT rate | "
             "FLOP/byte (ridge) | bound |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("bench") in ("env", "limit") or "median_ms" not in r:
            continue
        s = shares(r, limit)
        intensity = (f"{s['intensity']:.1f} ({s['ridge']:.0f})" if s["intensity"] is not None
                     and s["ridge"] is not None else "-")
        gflops = f"{r['flops_per_s'] / 1e9:,.1f}" if r.get("flops_per_s") else "-"
        gbytes = f"{r['bytes_per_s'] / GB:,.1f}" if r.get("bytes_per_s") else "-"
        lines.append(f"| {_what(r)} | {r['median_ms']:,.1f} | {gflops} | {gbytes} | "
                     f"{_pct(s['of_bandwidth'])} | {_pct(s['of_matmul'])} | "
                     f"{_pct(s['of_fft'])} | {intensity} | "
                     f"{s.get('bound', '-')} |")
    return lines
