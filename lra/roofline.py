"""How far a benchmark sits from its device's limits: XLA's operation and byte counts of each
compiled program, beside the copy bandwidth and matrix-product rate measured on the same device.

Each timed program's count comes from XLA's cost analysis (`compiled.cost_analysis()`): the
floating-point operations and the bytes its fused operations read and write, a loop's body
counted once. That byte count is what the program would move if nothing stayed in cache between
fusions: near the memory traffic of a GPU's program, where intermediates are larger than the
cache, and above a CPU's. The ceilings are measured, not taken from a datasheet, so that they
hold for the device, its clocks and its JAX: the copy `x + 1` of a float32 array much larger
than any cache (bytes read plus written per second), and an (n, n) by (n, n) matrix product in
float32 and bfloat16 (2n³ operations per second). A program is memory-bound where its share of
the bandwidth is larger than its share of the matrix rate.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp

from lra.timing import compile_and_time

GB = 1e9


def cost(compiled) -> dict[str, float | None]:
    """{'flops', 'bytes_accessed'} of a compiled program, from XLA (None where it gives none)."""
    try:
        analysis = compiled.cost_analysis()
    except Exception:  # noqa: BLE001 - a backend without the analysis: no counts, no failure
        analysis = None
    if isinstance(analysis, list | tuple):  # older JAX: one dict per program
        analysis = analysis[0] if analysis else None
    analysis = analysis or {}
    return {"flops": analysis.get("flops"), "bytes_accessed": analysis.get("bytes accessed")}


def rates(counts: dict[str, float | None], seconds: float) -> dict[str, float | None]:
    """Operations and bytes per second over a run of `seconds`."""
    return {"flops_per_s": counts["flops"] / seconds if counts["flops"] else None,
            "bytes_per_s": counts["bytes_accessed"] / seconds if counts["bytes_accessed"]
            else None}


def _median_s(fn, *args, runs: int) -> tuple[float, Any]:
    """(median seconds of `runs` runs after one warm-up, the compiled program)."""
    compiled, _, times = compile_and_time(fn, *args, runs=runs)
    return statistics.median(times), compiled


def limits(copy_bytes: int, matmul_n: int, runs: int = 5) -> Iterator[dict]:
    """The device's ceilings as bench rows: the copy's bytes/s, each dtype's matrix flops/s."""
    x = jnp.zeros((copy_bytes // 4,), jnp.float32)
    seconds, compiled = _median_s(lambda a: a + 1, x, runs=runs)
    counts = cost(compiled)
    yield {"bench": "limit", "limit": "copy", "bytes": copy_bytes, "median_ms": 1e3 * seconds,
           **counts, "bytes_per_s": 2 * copy_bytes / seconds}
    for dtype in ("float32", "bfloat16"):
        a = jax.random.normal(jax.random.key(0), (matmul_n, matmul_n)).astype(dtype)
        seconds, compiled = _median_s(jnp.matmul, a, a, runs=runs)
        yield {"bench": "limit", "limit": "matmul", "dtype": dtype, "n": matmul_n,
               "median_ms": 1e3 * seconds, **cost(compiled),
               "flops_per_s": 2 * matmul_n**3 / seconds}


def ceilings(rows: list[dict]) -> dict[str, float]:
    """{'copy': bytes/s, 'float32': flops/s, 'bfloat16': flops/s} from a record's limit rows."""
    out = {}
    for r in rows:
        if r.get("bench") == "limit":
            key = "copy" if r["limit"] == "copy" else r["dtype"]
            out[key] = r["bytes_per_s"] if key == "copy" else r["flops_per_s"]
    return out


def shares(row: dict, limit: dict[str, float]) -> dict[str, float | None]:
    """A timed row's share of the measured bandwidth and of its dtype's matrix rate, and its
    operations per byte beside the ridge point (matrix rate / bandwidth) of that dtype."""
    dtype = row.get("dtype", "float32")
    bw, mm = limit.get("copy"), limit.get(dtype)
    flops, moved = row.get("flops_per_s"), row.get("bytes_per_s")
    out = {"of_bandwidth": moved / bw if moved and bw else None,
           "of_matmul": flops / mm if flops and mm else None,
           "intensity": flops / moved if flops and moved else None,
           "ridge": mm / bw if mm and bw else None}
    if out["of_bandwidth"] is not None and out["of_matmul"] is not None:
        out["bound"] = "memory" if out["of_bandwidth"] >= out["of_matmul"] else "compute"
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
    lines = [f"Device: {kind}; measured ceilings: copy "
             f"{limit.get('copy', 0) / GB:,.0f} GB/s, matrix product float32 "
             f"{limit.get('float32', 0) / 1e12:,.2f} TFLOP/s, bfloat16 "
             f"{limit.get('bfloat16', 0) / 1e12:,.2f} TFLOP/s. XLA's byte counts assume "
             "nothing stays in cache between fusions: a share of the bandwidth above 100% means "
             "the data stayed in cache.", "",
             "| benchmark | ms | GFLOP/s | GB/s | of bandwidth | of matrix rate | FLOP/byte "
             "(ridge) | bound |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("bench") in ("env", "limit") or "median_ms" not in r:
            continue
        s = shares(r, limit)
        intensity = (f"{s['intensity']:.1f} ({s['ridge']:.0f})" if s["intensity"] is not None
                     and s["ridge"] is not None else "-")
        gflops = f"{r['flops_per_s'] / 1e9:,.1f}" if r.get("flops_per_s") else "-"
        gbytes = f"{r['bytes_per_s'] / GB:,.1f}" if r.get("bytes_per_s") else "-"
        lines.append(f"| {_what(r)} | {r['median_ms']:,.1f} | {gflops} | {gbytes} | "
                     f"{_pct(s['of_bandwidth'])} | {_pct(s['of_matmul'])} | {intensity} | "
                     f"{s.get('bound', '-')} |")
    return lines
