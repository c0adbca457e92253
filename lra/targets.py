"""The project's speed targets on one H100 or H200, checked against `train --dry-run` figures,
and the dry runs' table (`python -m lra bench --dryrun-table FILE`).

A Path-X epoch in at most 5 minutes (S4 reports 56 min on an A100), a ListOps epoch in at most
1 minute (S4: 15 min on a T4), and the six LRA tasks' `full` runs of one seed in at most 12
hours together (S4's times: lra/report/paper.py EPOCH_TIME). Each figure is the dry run's
estimate (`epoch_s`, `run_s`: the measured step times times the release's split sizes), so a
verdict here predicts a run; it does not time one. Imports no JAX: the device check reads it.
"""

from __future__ import annotations

import re
from typing import Any

from lra.configs.common import show
from lra.errors import ConfigError
from lra.units import duration, size

LRA_TASKS = ("listops", "text", "retrieval", "image", "pathfinder", "pathx")
EPOCH_TARGET_S = {"pathx": 5 * 60, "listops": 60}
SIX_RUNS_TARGET_S = 12 * 3600


def check(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The targets against dry-run rows (`--dry-run --json`): each target's estimate, its
    bound and whether it is met (None where a task's full dry run is missing or did not time
    its step)."""
    full = {r["task"]: r for r in rows if r.get("variant") == "full"}
    epochs = {}
    for task, target in EPOCH_TARGET_S.items():
        epoch_s = full.get(task, {}).get("epoch_s")
        epochs[task] = {"epoch_s": epoch_s, "target_s": target,
                        "met": None if epoch_s is None else epoch_s <= target}
    missing = [t for t in LRA_TASKS if full.get(t, {}).get("run_s") is None]
    run_s = None if missing else sum(full[t]["run_s"] for t in LRA_TASKS)
    devices = sorted({f"{r['devices']} x {r['device']}" for r in full.values()})
    return {"devices": devices, "epochs": epochs,
            "six_runs": {"run_s": run_s, "target_s": SIX_RUNS_TARGET_S, "missing": missing,
                         "met": None if run_s is None else run_s <= SIX_RUNS_TARGET_S}}


def table(rows: list[dict[str, Any]], where: str) -> list[str]:
    """Dry-run rows (`train --dry-run --json`, one per line of `where`) as a markdown table, one
    row per dry run: planned memory per device, model.remat's value and why, the verdict, the
    step and the epoch beside S4's epoch and the target; then the six runs' sum. A file without
    dry-run rows is a one-line error naming it."""
    rows = [r for r in rows if "steps_per_epoch" in r and "memory_bytes" in r]
    if not rows:
        raise ConfigError(f"{where}: no dry-run rows; pass the output of "
                          "`python -m lra train ... --dry-run --json`")
    first = rows[0]
    prov = first.get("provenance", {})
    limits = sorted({r["memory_bytes"] for r in rows})  # a CPU's varies between runs
    memory = " to ".join(dict.fromkeys(size(n) for n in (limits[0], limits[-1])))
    lines = [f"Device: {first['devices']} x {first['device']} ({first['platform']}), commit "
             f"{prov.get('commit', '?')[:7]}{' (dirty)' if prov.get('dirty') else ''}, jax "
             f"{prov.get('versions', {}).get('jax', '?')}; memory planned per device, of "
             f"{memory} ({first['memory_from']}).", "",
             "| Task (batch) | planned memory | model.remat | verdict | step | moved per step "
             "| epoch (train + eval) | S4's epoch | target |", "|---" * 9 + "|"]
    for r in rows:
        epoch = r["epoch_s"]
        s4 = r.get("s4_epoch_time")
        against = f" ({_times(epoch / _s4_seconds(s4))})" if s4 and epoch else ""
        lines.append(f"| {r['task']} ({r['batch']}) | {size(r['peak_bytes'])} | {_remat(r)} | "
                     f"{_verdict(r)} | {_step(r)} | {_moved(r)} | "
                     f"{duration(epoch) if epoch else '-'} | "
                     f"{s4 or '-'}{against} | {_target(r)} |")
    six = check(rows)["six_runs"]
    lines += ["", "Six full runs of one seed: " + (
        f"{duration(six['run_s'])}, against {duration(six['target_s'])}: "
        f"{'met' if six['met'] else 'not met'}." if six["run_s"] is not None else
        f"no estimate (no timed full dry run of {', '.join(six['missing'])}).")]
    return lines


def _s4_seconds(text: str) -> float:
    """'56 min (A100)' -> 3360.0 (lra/report/paper.py EPOCH_TIME's form)."""
    return 60 * float(re.match(r"([\d.]+) min", text).group(1))


def _times(ratio: float) -> str:
    """Our epoch against S4's: '13x longer', '1.5x shorter'."""
    x = ratio if ratio >= 1 else 1 / ratio
    number = f"{x:.0f}" if x >= 10 else f"{x:.1f}"
    return f"{number}x {'longer' if ratio >= 1 else 'shorter'}"


def _remat(r: dict) -> str:
    choice = r.get("remat_choice")
    value = show(r["remat"])
    if not choice or "peak_bytes" not in choice:
        return f"{value} ({choice['by'] if choice else 'set'})"
    if "step_ms" in choice:
        ms = choice["step_ms"]
        if None in ms.values():  # a step that failed while timed counts as not fitting
            return f"{value} (auto, the other step failed)"
        return f"{value} (auto, timed: remat {100 * (ms['true'] / ms['false'] - 1):+.0f}%)"
    fits = [k for k, v in choice["peak_bytes"].items() if v is not None and
            v <= choice["limit_bytes"]]
    return f"{value} (auto, {'only it fits' if len(fits) == 1 else 'neither fits'})"


def _verdict(r: dict) -> str:
    if r["fits"]:
        return "fits"
    k = r.get("grad_accum_to_fit")
    return f"does not fit{f' (train.grad_accum={k} does)' if k else ''}"


def _step(r: dict) -> str:
    if r["step_s"] is None:
        return "-"
    s = r["step_s"]
    text = f"{s:.1f} s" if s >= 1 else f"{1e3 * s:.0f} ms"
    k = r.get("timed_grad_accum", r["grad_accum"])
    return text + (f" at train.grad_accum={k}" if k != r["grad_accum"] else "")


def _moved(r: dict) -> str:
    """'30.5 GB at 3,050 GB/s': the timed step's bytes (XLA's count) and their rate; '-' for a
    record made before the dry run counted them."""
    if not r.get("bytes_per_s"):
        return "-"
    return f"{r['bytes_accessed'] / 1e9:,.1f} GB at {r['bytes_per_s'] / 1e9:,.0f} GB/s"


def _target(r: dict) -> str:
    bound = EPOCH_TARGET_S.get(r["task"]) if r.get("variant") == "full" else None
    if bound is None:
        return "-"
    met = r["epoch_s"] is not None and r["epoch_s"] <= bound
    verdict = "open" if r["epoch_s"] is None else "met" if met else "not met"
    return f"<= {bound // 60} min: {verdict}"
