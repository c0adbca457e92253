"""Run records: config.json, metrics.jsonl, result.json; a crash never leaves half a file.

Every number in results/ comes from these files. Each result carries its provenance: the code's
commit (and whether the tree had uncommitted changes), package versions, devices, XLA flags,
host, start time, seed, data source and wall time.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from tasks.base import atomic_write

PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "orbax-checkpoint", "pandas")
REPO_ROOT = Path(__file__).resolve().parent.parent
JOB_VARIABLES = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT",
                 "SUBMITIT_LOCAL_JOB_ID", "CUDA_VISIBLE_DEVICES")


def write_json(path: Path, obj: Any) -> None:
    """Writes JSON atomically (temp file + rename)."""
    with atomic_write(path) as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


class MetricsFile:
    """A metrics writer (lra/logger.py) appending one JSON object per line to metrics.jsonl.

    The file is opened at the first row, so a resumed run can cut it back first; each row is
    flushed when written, so a crash loses at most the row being written (read_metrics skips
    a torn last line)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._f = None

    def write(self, row: dict[str, Any]) -> None:
        if self._f is None:
            self._f = open(self.path, "a", buffering=1)
        self._f.write(json.dumps(row, sort_keys=True) + "\n")

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def read_metrics(path: Path) -> list[dict]:
    """The rows of metrics.jsonl; a last line cut short by a crash is left out."""
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    rows = [json.loads(line) for line in lines[:-1]]
    if lines:
        try:
            rows.append(json.loads(lines[-1]))
        except json.JSONDecodeError:
            pass  # torn by a crash mid-write
    return rows


def truncate_metrics(path: Path, *, step: int, epochs_done: int) -> None:
    """Keeps the rows a checkpoint at `step` covers: train rows up to it, eval rows of the epochs
    done. A resumed run then rewrites the rest exactly as the uninterrupted run would."""
    if not Path(path).exists():
        return
    rows = [r for r in read_metrics(path)
            if (r["step"] <= step if r["split"] == "train" else r["epoch"] <= epochs_done)]
    with atomic_write(path) as f:
        f.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def provenance() -> dict[str, Any]:
    """Where and with what a run is made."""
    import jax  # here, not at the top: reading records (the tables) needs no jax

    from lra import compile_cache
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    versions["python"] = platform.python_version()
    devices = jax.devices()
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "versions": versions,
        "device": {
            "platform": devices[0].platform,
            "kind": devices[0].device_kind,
            "count": len(devices),
            "processes": jax.process_count(),
        },
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "compile_cache": compile_cache.in_use(),  # XLA's persistent cache (lra/compile_cache.py)
        "host": platform.node(),
        "pid": os.getpid(),
        # The scheduler's job, when there is one (a sweep's job array, lra/launch.py).
        "job": {k: os.environ[k] for k in JOB_VARIABLES if k in os.environ},
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "cpus_usable": len(os.sched_getaffinity(0)),  # fewer when pinned (a local sweep's run)
        "started_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
