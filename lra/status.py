"""Where a run stands, read from its workdir alone: what a sweep's summary and its job array's
tasks report (lra/sweep.py, lra/launch.py)."""

from __future__ import annotations

import json
from pathlib import Path

from lra.lock import is_locked

STATES = ("finished", "stuck", "failed", "running", "stopped", "not started")


def run_state(workdir: Path) -> str:
    """Where a run stands, from its records: finished; stuck (at chance, or ended early by
    train.stop_when_stuck); failed (diverged); running (its workdir is locked); stopped
    (resumable: rerun the sweep); not started."""
    if (workdir / "result.json").exists():
        r = json.loads((workdir / "result.json").read_text())
        stuck = r.get("status") == "stopped_early" or r.get("stuck_at_chance")
        return "stuck" if stuck else "finished"
    if (workdir / "failure.json").exists():
        return "failed"
    if is_locked(workdir):
        return "running"
    saved = (workdir / "checkpoints").is_dir() and any(
        p.name.isdigit() for p in (workdir / "checkpoints").iterdir())
    if (workdir / "stopped.json").exists() or saved:
        return "stopped"
    return "not started"
