"""The project's speed targets on one H100 or H200, checked against `train --dry-run` figures.

A Path-X epoch in at most 5 minutes (S4 reports 56 min on an A100), a ListOps epoch in at most
1 minute (S4: 15 min on a T4), and the six LRA tasks' `full` runs of one seed in at most 12
hours together (S4's times: lra/report/paper.py EPOCH_TIME). Each figure is the dry run's
estimate (`epoch_s`, `run_s`: the measured step times times the release's split sizes), so a
verdict here predicts a run; it does not time one. Imports no JAX: the device check reads it.
"""

from __future__ import annotations

from typing import Any

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
