"""`python -m lra bench --plan-table FILE`: the plans `train --plan-for GPU --json` wrote (one
JSON object per line, lra/plan.py), as one markdown table: a row per task and GPU, the training
step's planned peak per device under each convolution path without and with remat, the
evaluation step's, each convolution path's epoch without remat at the GPU's memory bandwidth
(XLA's byte counts of its steps, lra/plan.py), and what does not fit the GPU's limit with the
fix found for it. No JAX here: it reads a record.
"""

from __future__ import annotations

from lra.configs.common import show
from lra.errors import ConfigError
from lra.targets import LRA_TASKS, SIX_RUNS_TARGET_S
from lra.units import duration, short_duration, size


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
        dtype = f", {r['dtype']}" if r.get("dtype", "float32") != "float32" else ""
        lines.append(
            f"| {r['task']} ({r['batch']}, {r['length']:,}{dtype}) | {devices}{r['target']} "
            f"({size(r['memory_bytes'])}) | {_steps(r, 'fft')} | {_steps(r, 'chunked')} | "
            f"{evals.get('fft', '-')} / {evals.get('chunked', '-')} | "
            f"{_epoch(r, 'fft')} / {_epoch(r, 'chunked')} | {_verdict(r)}{retried} |")
    return lines + _six_runs(plans)


def _six_runs(plans: list[dict]) -> list[str]:
    """Per GPU (and dtype) with a full plan of each LRA task: the six runs of one seed at its
    bandwidth, each task on its path that fits with the fewest bytes, beside the target."""
    groups: dict[tuple, dict[str, dict]] = {}
    for r in plans:
        if r["variant"] == "full":
            key = (r["target"], r["devices"], r.get("dtype", "float32"))
            groups.setdefault(key, {})[r["task"]] = r
    lines = []
    for (gpu, n, dtype), by_task in groups.items():
        epochs = [min((s["epoch_traffic_s"] for s in by_task[t]["steps"]
                       if s["fits"] and s.get("epoch_traffic_s")), default=None)
                  if t in by_task else None for t in LRA_TASKS]
        if None in epochs:
            continue
        run_s = sum(e * by_task[t]["epochs"] for e, t in zip(epochs, LRA_TASKS, strict=True))
        lines.append(f"- {n} x {gpu}, {dtype}: the six full runs of one seed move their bytes "
                     f"in {duration(run_s)} at {by_task['pathx']['bandwidth'] / 1e12:.2f} TB/s "
                     f"(each task on its path that fits with the fewest bytes), against "
                     f"{duration(SIX_RUNS_TARGET_S)}.")
    return ["", *lines] if lines else []


def against(plans: list[dict], dry_runs: list[dict], where: str) -> list[str]:
    """Each plan beside the dry run of the same task and config on the planned GPU itself
    (`train --dry-run --json` there), under the path the dry run took: its memory planned
    without the GPU against the device's own plan, its bytes against the device's program's,
    and its step and epoch at the datasheet's bandwidth against the measured ones (their ratio:
    the share of that bandwidth the step reached). A task without both is left out; a file
    without dry runs is a one-line error naming it."""
    dry_runs = [d for d in dry_runs if "steps_per_epoch" in d and "peak_bytes" in d]
    if not dry_runs:
        raise ConfigError(f"{where}: no dry runs; pass lines `lra train ... --dry-run --json` "
                          "wrote on the planned GPU")
    lines = ["| Task (GPU) | path | memory: plan / device | bytes: plan / device | "
             "step: at bandwidth / measured (share) | epoch: at bandwidth / measured |",
             "|---" * 6 + "|"]
    for d in dry_runs:
        p = next((p for p in plans if (p["task"], p["variant"]) == (d["task"], d["variant"])),
                 None)
        s = p and next((s for s in p["steps"] if (s["conv"], s["remat"]) ==
                        (d["conv"], d["remat"])), None)
        if not s or d.get("timed_grad_accum", d["grad_accum"]) != p["grad_accum"]:
            continue
        step, ideal = d.get("step_s"), s.get("traffic_s")
        lines.append(
            f"| {d['task']} ({p['target']}) | {s['conv']}, remat={show(s['remat'])} | "
            f"{_gib(s['peak_bytes'])} / {_gib(d['peak_bytes'])} GiB "
            f"({s['peak_bytes'] / d['peak_bytes']:.2f}x) | {_gb(s.get('bytes_accessed'))} / "
            f"{_gb(d.get('bytes_accessed'))} | "
            + (f"{1e3 * ideal:,.1f} / {1e3 * step:,.1f} ms ({ideal / step:.0%}) | "
               if step and ideal else "- | ")
            + (f"{short_duration(s['epoch_traffic_s'])} / {short_duration(d['epoch_s'])} |"
               if s.get("epoch_traffic_s") and d.get("epoch_s") else "- |"))
    return lines


def _gb(n: float | None) -> str:
    return f"{n / 1e9:,.1f} GB" if n else "-"
