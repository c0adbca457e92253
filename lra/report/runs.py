"""Reading run records: one row per run below a folder, and the per-epoch curves of a run.

A run's record is its result.json, else its failure.json, else its stopped.json (a run stopped
by a signal: its best epoch so far, labelled partial).

Rows are grouped by scale (config variant with any changed keys, data source, epochs), so a
smoke or demo run, a shortened run, or a run on generated data can never pass for a
reproduction of the paper. Whether a run is one of the paper's named models is decided from its
config.json, by comparing its SSM choices with the presets (lra/configs/presets.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

import tasks
from lra.configs.presets import model_name, named_model
from lra.errors import ReportError
from lra.records import read_metrics
from models.choices import AXES

ABLATION_KEYS = tuple(a.key for a in AXES)
GROUP = ["variant", "changes", "data", "epochs_planned", "partial"]  # runs at the same scale
# A run's records, most final first: only the first a run folder holds counts.
RECORDS = ("result.json", "failure.json", "stopped.json")


def title(task: str) -> str:
    """A task's name in tables: 'Path-X' (its registry name if it has no title)."""
    spec = tasks.TASKS[task].SPEC if task in tasks.TASKS else None
    return spec.title if spec and spec.title else task


def _changes_label(changes: dict) -> str:
    """Changed config keys other than the seed and those the model name already says."""
    shown = {k: v for k, v in changes.items()
             if k.removeprefix("model.") not in ABLATION_KEYS}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def _subset(data: dict) -> str:
    """A non-standard part of a task's data, named so it can never pass for the standard one."""
    difficulty = data.get("difficulty")
    return f" {difficulty}" if difficulty and difficulty != "curv_contour_length_14" else ""


def _row(path: Path, root: Path) -> dict:
    """The table row of one record (RECORDS) and its config.json."""
    config = path.parent / "config.json"
    if not config.exists():
        raise ReportError(f"{path} has no config.json beside it: copy the run's config.json "
                          "with its records (README, Reproducing the paper)")
    r = json.loads(path.read_text())
    model_cfg = json.loads(config.read_text()).get("model", {})
    diverged = path.name == "failure.json"
    partial = path.name == "stopped.json"  # stopped by a signal, resumable: best epoch so far
    early = r.get("status") == "stopped_early"  # ended as sick by train.stop_when_stuck
    return {
        # The name from the config under today's presets, not the one the record was written
        # with: a record made before a preset changed is named as it is now judged.
        "model": model_name(model_cfg),
        "named": named_model(model_cfg) is not None,
        "task": r["task"],
        "variant": r["variant"],
        "changes": _changes_label(r.get("config_changes", {})),
        "data": r["data"]["kind"] + _subset(r["data"]),
        "epochs_planned": r["epochs_planned"],
        "epochs_completed": r["epochs_completed"],
        "seed": r["seed"],
        "test_accuracy": math.nan if diverged else 100.0 * r["test_accuracy"],
        "failed": diverged or early or bool(r.get("stuck_at_chance", False)),
        "failure": r["error"] if diverged else f"stopped early: {r['stopped_because']}" if early
        else ("stuck at chance" if r.get("stuck_at_chance") else ""),
        "behind_sanity": bool(r.get("behind_sanity", False)),
        "majority_baseline_test": r.get("majority_baseline_test"),
        **{k: model_cfg.get(k) for k in ABLATION_KEYS},
        "reference": r.get("reference"),
        "record": str(path.relative_to(root)),
        "partial": partial,
    }


def load_results(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run below runs_dir, from its most final record (RECORDS)."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise ReportError(f"runs folder {root} does not exist; train first (python -m lra train)")
    rows = []
    for path in sorted(p for name in RECORDS for p in root.rglob(name)):
        first = next(name for name in RECORDS if (path.parent / name).exists())
        if path.name != first:
            continue  # e.g. a run that failed or stopped, then was rerun to the end
        if path.name == "stopped.json" and not json.loads(path.read_text())["history"]:
            continue  # stopped before its first epoch ended: no accuracy yet
        rows.append(_row(path, root))
    return pd.DataFrame(rows)


def named_models(results: pd.DataFrame) -> pd.DataFrame:
    """The runs of the paper's named models; ablated variants are left to the ablation
    tables."""
    return results[results.named] if not results.empty else results


def scale(group: pd.DataFrame) -> str:
    """'demo config, generated data, 12/12 epochs': at what scale a group of runs was made."""
    first = group.iloc[0]
    ok = group[~group.failed]
    done = sorted(set((ok if not ok.empty else group).epochs_completed))
    variant = f"{first.variant} config" + (f" with {first.changes}" if first.changes else "")
    return (f"{variant}, {first.data} data, "
            f"{','.join(map(str, done))}/{first.epochs_planned} epochs"
            + (", stopped early (partial)" if first.partial else ""))


def val_curve(record_dir: Path) -> tuple[list[int], list[float]]:
    """(epochs, val accuracy %) from a run's metrics.jsonl; empty when it has none."""
    path = record_dir / "metrics.jsonl"
    if not path.exists():
        return [], []
    rows = [r for r in read_metrics(path) if r.get("split") == "val"]
    return [r["epoch"] for r in rows], [100.0 * r["accuracy"] for r in rows]
