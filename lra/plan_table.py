"""`python -m lra bench --plan-table FILE`: the plans `train --plan-for GPU --json` wrote (one
JSON object per line, lra/plan.py), as one markdown table: a row per task and GPU, the training
step's planned peak per device under each convolution path without and with remat, the
evaluation step's, each convolution path's epoch without remat at the GPU's memory bandwidth
(XLA's byte counts of its steps, lra/plan.py), and what does not fit the GPU's limit with the
fix found for it. No JAX here: it reads a record.
"""

from __future__ import annotations

from lra.errors import ConfigError
from lra.units import short_duration, size


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f}"


def _steps(r: dict, conv: str) -> str:
    """'3.69 / 0.90': the step's plan without / with remat under `conv` ('-' if not planned)."""
    by = {s["remat"]: s for s in r["steps"] if s["conv"] == conv}
    return " / ".join(_gib(by[k]["peak_bytes"]) if k in by else "-" for k in (False, True)) \
        if by else "-"


def _epoch(r: dict, conv: str) -> str:
    """The epoch without remat under `conv` at the GPU's bandwidth ('-' where not planned)."""
    s = next((s for s in r["steps"] if s["conv"] == conv and not s["remat"]), {})
    seconds = s.get("epoch_traffic_s")
    return "-" if seconds is None else short_duration(seconds)


def _verdict(r: dict) -> str:
    """'all fit', or each plan over the limit with its fix; '(replanned with cuBLAS)' where
    XLA's defaults did not compile without the device."""
    over = [f"{s['conv']} {'with' if s['remat'] else 'without'} remat: " +
            (f"grad_accum={s['grad_accum_to_fit']}" if s["grad_accum_to_fit"] else "no fix")
            for s in r["steps"] if not s["fits"]]
    over += [f"eval {e['conv']}: " + (f"eval_batch_size={e['eval_batch_to_fit']}"
                                       if e["eval_batch_to_fit"] else "no fix")
             for e in r["evals"] if not e["fits"]]
    return "; ".join(over) if over else "all fit"


def table(rows: list[dict], where: str) -> list[str]:
    """The plans as markdown lines (module docstring); a record without plans is a one-line
    error naming it."""
    plans = [r for r in rows if "steps" in r and "target" in r]
    if not plans:
        raise ConfigError(f"{where}: no plans; pass lines `lra train ... --plan-for GPU --json` "
                          "wrote")
    commits = sorted({r["provenance"]["commit"][:7] + (" (dirty)" if r["provenance"]["dirty"]
                                                       else "") for r in plans})
    lines = [f"Planned by XLA's GPU compiler without the GPU (`lra train --plan-for`), commit "
             f"{', '.join(commits)}; GiB per device, the training step without / with remat; "
             "the limit is JAX's allocator's on that GPU (or train.memory_limit).", "",
             "| Task (batch, length) | GPU (limit) | FFT | chunked | eval step: FFT / chunked "
             "| epoch at bandwidth: FFT / chunked | over the limit |", "|---" * 7 + "|"]
    for r in plans:
        evals = {e["conv"]: _gib(e["peak_bytes"]) for e in r["evals"]}
        retried = " (replanned with cuBLAS)" if r.get("retried") else ""
        devices = f"{r['devices']} x " if r["devices"] > 1 else ""
        lines.append(
            f"| {r['task']} ({r['batch']}, {r['length']:,}) | {devices}{r['target']} "
            f"({size(r['memory_bytes'])}) | {_steps(r, 'fft')} | {_steps(r, 'chunked')} | "
            f"{evals.get('fft', '-')} / {evals.get('chunked', '-')} | "
            f"{_epoch(r, 'fft')} / {_epoch(r, 'chunked')} | {_verdict(r)}{retried} |")
    return lines
